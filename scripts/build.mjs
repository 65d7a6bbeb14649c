// Builds dist/: one ES module bundle for `import`, one CommonJS bundle for
// `require` (esbuild), and declarations for both (tsc). Dependencies stay
// external, so users share one copy of xstate with the engine.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const entries = { index: 'index.ts', simulator: 'simulator/index.ts', visualizer: 'visualizer/index.ts', cli: 'cli/main.ts' };

const withTypes = !process.argv.includes('--no-types');
// A full build starts clean; a bundles-only build overwrites the bundles and
// leaves the declarations as they were.
if (withTypes) rmSync('dist', { recursive: true, force: true });
const common = { entryPoints: entries, bundle: true, platform: 'node', target: 'node20', packages: 'external', sourcemap: true, outdir: 'dist', logLevel: 'warning' };
await Promise.all([
  build({ ...common, format: 'esm', outExtension: { '.js': '.mjs' } }),
  build({ ...common, format: 'cjs', outExtension: { '.js': '.js' } }),
]);
// The live view's static page is served from next to the bundles.
cpSync('visualizer/page', 'dist/page', { recursive: true });
// Running the CLI needs only the bundles; `--no-types` skips the declarations.
if (withTypes) {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
