// Builds dist/: CommonJS bundles (esbuild) that share their modules through
// common chunks, thin ES module wrappers over them, and declarations (tsc).
//
// - The engine's own dependencies (package.json `dependencies`: xstate, zod,
//   pure-rand) stay external, so an app shares one copy of xstate with the
//   engine. Everything the visualizer and the CLI use besides them (ws,
//   @viz-js/viz, @statelyai/inspect, commander, cli-progress) is bundled into
//   chunks that only `./visualizer` and the CLI load: an app that embeds the
//   engine installs none of it.
// - One copy of each module per process: `import` and `require` of the same
//   entry reach the same CommonJS file (the .mjs only re-exports it), and the
//   entries share the engine through chunks instead of each inlining a copy,
//   so `instanceof ConsensusInputError` holds whichever entry made the error.
//   esbuild splits chunks for ES modules only; each output file is therefore
//   turned into CommonJS on its own, which keeps the chunks' imports between
//   them as `require`s of the same files.
import { build, transform } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const entries = { index: 'index.ts', simulator: 'simulator/index.ts', visualizer: 'visualizer/index.ts', cli: 'cli/main.ts' };
// The entries that apps import (the CLI is only run), with their declarations in dist/types.
const libraryEntries = { index: 'index', simulator: 'simulator/index', visualizer: 'visualizer/index' };

const withTypes = !process.argv.includes('--no-types');
// A full build starts clean; a bundles-only build replaces the bundles (their
// chunks' names change with their contents) and leaves the declarations as they were.
for (const name of existsSync('dist') ? readdirSync('dist') : []) {
  if (withTypes || name !== 'types') rmSync(join('dist', name), { recursive: true, force: true });
}

const split = await build({
  entryPoints: entries,
  bundle: true,
  splitting: true,
  packages: 'bundle',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist',
  chunkNames: 'chunk-[hash]',
  // ws loads these native speed-ups when they are installed and does without them otherwise.
  external: [...Object.keys(manifest.dependencies), 'bufferutil', 'utf-8-validate'],
  write: false,
  metafile: true,
  logLevel: 'warning',
});

mkdirSync('dist', { recursive: true });
for (const file of split.outputFiles) {
  const cjs = await transform(file.text, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // A chunk loaded with import() is a CommonJS file too: load it with require.
    supported: { 'dynamic-import': false },
    sourcefile: basename(file.path),
    logLevel: 'warning',
  });
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, cjs.code);
}

// `import` gets the CommonJS bundle's exports (Node finds their names in
// esbuild's output), and TypeScript the same declarations, read as an ES module.
for (const [name, declarations] of Object.entries(libraryEntries)) {
  writeFileSync(`dist/${name}.mjs`, `export * from './${name}.js';\n`);
  writeFileSync(`dist/${name}.d.mts`, `export * from './types/${declarations}.js';\n`);
}
// The bundles carry third-party code: its licenses go with it.
writeFileSync('dist/third-party-licenses.txt', thirdPartyLicenses(split.metafile));
// The live view's static page is served from next to the bundles.
cpSync('visualizer/page', 'dist/page', { recursive: true });
// Running the CLI needs only the bundles; `--no-types` skips the declarations.
if (withTypes) {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

/** The license of each package that esbuild put into a bundle. */
function thirdPartyLicenses(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1]);
  }
  const sections = [...packages].sort().map((directory) => {
    const { name, version, license } = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
    const file = readdirSync(directory).find((entry) => /^(licen[cs]e|copying)/i.test(entry));
    const text = file ? readFileSync(join(directory, file), 'utf8').trim() : `${license} (the package has no license file; its notice is in the bundle)`;
    return `${name}@${version} (${license})\n\n${text}\n`;
  });
  return `Third-party code bundled into this package's dist/ files:\n\n${sections.join('\n---\n\n')}`;
}
