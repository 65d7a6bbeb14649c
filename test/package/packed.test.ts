import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import { WebSocketServer } from 'ws';
import { ENTRIES, ERROR_ACROSS_MODULE_SYSTEMS_SCRIPT, SAME_OBJECTS_SCRIPT } from './support/scripts';

/**
 * The package as `npm pack` makes it (from the built dist/, which `npm test`
 * builds first), unpacked into an app's node_modules next to only the
 * dependencies its packed package.json declares, linked from this project's
 * node_modules: what an app gets from `npm install statechart-consensus`,
 * without reaching a registry.
 */

const root = join(__dirname, '..', '..');
const ENGINE_DEPENDENCIES = ['prom-client', 'pure-rand', 'xstate', 'zod'];
// What the visualizer and the CLI use: bundled, so not installed with the package.
const BUNDLED = ['@statelyai/inspect', '@viz-js/viz', 'cli-progress', 'commander', 'ws'];
// ws loads these when they are installed and does without them otherwise.
const OPTIONAL = ['bufferutil', 'utf-8-validate'];

interface Manifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bundleDependencies?: unknown;
  bin: Record<string, string>;
}

const run = promisify(execFile);
let work: string;
let tarball: string;
let app: string;
let installed: string;
let files: string[];
let manifest: Manifest;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'statechart-consensus-packed-'));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--offline', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, packed!.filename);
  files = packed!.files.map((file) => file.path);
  app = join(work, 'app');
  installed = join(app, 'node_modules', 'statechart-consensus');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    const link = join(app, 'node_modules', dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(root, 'node_modules', dependency), link, 'dir');
  }
}, 60_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** `node` in `cwd` (the app unless said otherwise), its standard output trimmed. */
function node(args: string[], cwd = app): string {
  return execFileSync(process.execPath, args, { cwd, encoding: 'utf8' }).trim();
}

const cliPath = () => join(installed, manifest.bin['statechart-consensus']!);

describe('the packed package', () => {
  it('depends on the engine’s own dependencies only', () => {
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(ENGINE_DEPENDENCIES);
    expect([manifest.peerDependencies, manifest.optionalDependencies, manifest.bundleDependencies]).toEqual([undefined, undefined, undefined]);
    // Otherwise what follows could pass on a package found by walking up from the app.
    const resolvable = `console.log(JSON.stringify(${JSON.stringify(BUNDLED)}.filter((name) => { try { return require.resolve(name); } catch { return false; } })))`;
    expect(JSON.parse(node(['-e', resolvable]))).toEqual([]);
  });

  it('ships no source maps; it ships the live view’s page and the licenses of the code it bundles', () => {
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/page/index.html', 'dist/page/app.js', 'dist/third-party-licenses.txt']));
    const licenses = readFileSync(join(installed, 'dist', 'third-party-licenses.txt'), 'utf8');
    for (const name of BUNDLED) expect(licenses).toContain(`\n${name}@`);
  });

  it('requires, in its bundles, nothing but Node’s modules, its own files and its dependencies', () => {
    const dist = join(installed, 'dist');
    const bundles = readdirSync(dist).filter((file) => file.endsWith('.js') || file.endsWith('.mjs'));
    expect(bundles).toEqual(expect.arrayContaining(['index.js', 'index.mjs', 'simulator.js', 'visualizer.js', 'cli.js']));
    const required = new Set<string>();
    for (const bundle of bundles) {
      const text = readFileSync(join(dist, bundle), 'utf8');
      // The bundles are CommonJS, written by esbuild; the .mjs files re-export them.
      // A require inside a function (prom-client's, loaded on first use) goes through esbuild's `__require`.
      const loads = bundle.endsWith('.mjs') ? /^export \* from '([^']+)';$/gm : /(?:\brequire|\.__require\))\("([^"]+)"\)/g;
      for (const match of text.matchAll(loads)) required.add(match[1]!);
    }
    const unexpected = [...required].filter((specifier) => {
      if (specifier.startsWith('./')) return !bundles.includes(specifier.slice(2));
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      return !builtinModules.includes(specifier.replace(/^node:/, '')) && !ENGINE_DEPENDENCIES.includes(name) && !OPTIONAL.includes(name);
    });
    expect(unexpected).toEqual([]);
    expect([...required].filter((specifier) => ENGINE_DEPENDENCIES.includes(specifier)).sort()).toEqual(ENGINE_DEPENDENCIES);
  });

  it('loads, for the engine alone, none of the code it bundles for the visualizer and the command', () => {
    const script = `
      import { createRequire } from 'node:module';
      import { readFileSync, statSync } from 'node:fs';
      await import('statechart-consensus');
      const require = createRequire(process.cwd() + '/');
      require('statechart-consensus');
      const loaded = Object.keys(require.cache).filter((file) => file.includes('/statechart-consensus/dist/'));
      console.log(JSON.stringify({
        bytes: loaded.reduce((sum, file) => sum + statSync(file).size, 0),
        // esbuild names each bundled CommonJS module by its path.
        thirdParty: loaded.filter((file) => readFileSync(file, 'utf8').includes('"node_modules/')),
        // Metrics are asked for, never loaded up front.
        promClient: Object.keys(require.cache).some((file) => file.includes('/node_modules/prom-client/')),
      }));
    `;
    const { bytes, thirdParty, promClient } = JSON.parse(node(['--input-type=module', '-e', script])) as { bytes: number; thirdParty: string[]; promClient: boolean };
    expect(thirdParty).toEqual([]);
    expect(promClient).toBe(false);
    // All of dist/'s JavaScript is over 2 MB, most of it Graphviz. The engine's
    // part holds the coordination services since a node offers kv, locks and
    // barriers itself (about 430 kB); the CLI and the visualizer stay out.
    expect(bytes).toBeLessThan(480_000);
  });

  it('gives import and require of each entry the same objects, shared between the entries too', () => {
    const result = JSON.parse(node(['--input-type=module', '-e', SAME_OBJECTS_SCRIPT])) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(ENTRIES);
    for (const entry of ENTRIES) {
      expect([entry, result[entry]]).toEqual([entry, { names: expect.any(Number), sameNames: true, differ: [], differFromOtherEntries: [] }]);
    }
  });

  it('throws, from an engine made through require, errors that are instances of the classes import gives', () => {
    expect(node(['--input-type=module', '-e', ERROR_ACROSS_MODULE_SYSTEMS_SCRIPT])).toBe('true true true malformed');
  });

  it('runs the README’s embedding example', () => {
    buildSync({
      entryPoints: [join(root, 'examples', 'embedding.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: join(app, 'embedding.mjs'),
      logLevel: 'error',
    });
    const script = `
      import { runCluster } from './embedding.mjs';
      const engines = await runCluster(3);
      console.log(JSON.stringify([...engines.values()].map((engine) => engine.log.range(1, 3).map((entry) => entry.payload.identity()))));
    `;
    expect(JSON.parse(node(['--input-type=module', '-e', script]))).toEqual(
      Array(4).fill(['block-1-11-bob', 'block-2-23-carol', 'block-3-36-dave']),
    );
  });

  it('has types that resolve as the module system of the code they describe, for every entry (arethetypeswrong)', () => {
    const attw = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    // Without @types packages: nothing is fetched. The exit code is 1 if anything is wrong.
    const output = execFileSync(process.execPath, [attw, tarball, '--format', 'json', '--no-definitely-typed'], { encoding: 'utf8' });
    const { analysis } = JSON.parse(output) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
    expect(Object.keys(analysis.entrypoints).sort()).toEqual(['.', './package.json', './simulator', './visualizer']);
    expect(analysis.problems).toEqual([]);
  }, 120_000);

  it('type-checks an app against its declarations with nothing else installed, not even @types/node', () => {
    for (const file of ['consumer.cts', 'consumer.mts']) copyFileSync(join(__dirname, 'consumer', file), join(app, file));
    const options = { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, skipLibCheck: false, types: [] };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['consumer.cts', 'consumer.mts'] }));
    // Throws, with tsc's diagnostics, if the app fails to type-check.
    node([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app]);
  }, 120_000);
});

describe('the packed package’s command', () => {
  it('is a node script', () => {
    expect(readFileSync(cliPath(), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  // From outside the app, as npx runs it.
  it('simulates', () => {
    const report = JSON.parse(node([cliPath(), 'simulate', '--rounds', '2', '--json'], work)) as { reachedTarget: boolean; violations: unknown[] };
    expect([report.reachedTarget, report.violations]).toEqual([true, []]);
  });

  it('draws a diagram with the Graphviz it bundles', () => {
    const svg = node([cliPath(), 'diagram', '--machine', 'round', '--format', 'svg'], work);
    expect(svg).toMatch(/<svg[\s\S]*<\/svg>$/);
  });

  it('streams a simulated cluster to an inspector with the @statelyai/inspect it bundles', async () => {
    const receiver = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => receiver.once('listening', resolve));
    let received = 0;
    receiver.on('connection', (socket) => socket.on('message', () => (received += 1)));
    try {
      const url = `ws://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      const { stdout } = await run(process.execPath, [cliPath(), 'simulate', '--rounds', '2', '--inspect', url, '--inspect-speed', '0'], { cwd: work, timeout: 30_000 });
      const streamed = Number(/streamed (\d+) inspection events/.exec(stdout)?.[1]);
      expect(streamed).toBeGreaterThan(100);
      expect(received).toBe(streamed);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('serves the live view’s page from the installed package', async () => {
    const child: ChildProcess = spawn(process.execPath, [cliPath(), 'visualize', '--paused'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (data: Buffer) => {
          out += String(data);
          const found = /live view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (found) resolve(found[1]!);
        });
        child.once('exit', (code) => reject(new Error(`visualize exited (${code}) before serving`)));
      });
      const page = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpGet(url, (response) => {
          let body = '';
          response.on('data', (data: Buffer) => (body += String(data)));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        }).on('error', reject);
      });
      expect(page.status).toBe(200);
      expect(page.body).toMatch(/^<!doctype html>/);
    } finally {
      child.kill();
    }
  });
});
