import { buildSync } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

/**
 * Bundles a TypeScript entry into a CommonJS script a child `node` can run.
 * It is written under node_modules/ so that the packages it leaves external
 * (and imports with a real `import()`, which ignores NODE_PATH) resolve from
 * the project's node_modules.
 */
export function bundleForNode(entry: string, name: string): string {
  const directory = join(root, 'node_modules', '.cache', 'statechart-consensus-tests');
  mkdirSync(directory, { recursive: true });
  const outfile = join(directory, `${name}.cjs`);
  buildSync({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
