import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDiagramCommand, runInspectCommand, runVisualizeCommand, VISUALIZER_EXIT } from '../../visualizer/commands';
import { parseSpeed } from '../../visualizer/protocol';

const root = join(__dirname, '..', '..');
const committed = (name: string) => readFileSync(join(root, 'docs', 'diagrams', name), 'utf8');

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } } };
}

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'visualizer-commands-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('diagram command', () => {
  test.each([
    ['round', 'mermaid', 'round.mmd'],
    ['election', 'dot', 'election.dot'],
    ['node', 'svg', 'node.svg'],
  ])('--machine %s --format %s prints what docs/diagrams/%s holds', async (machine, format, file) => {
    const { out, io: streams } = io();
    expect(await runDiagramCommand({ machine, format }, streams)).toBe(VISUALIZER_EXIT.ok);
    expect(out).toEqual({ stdout: committed(file), stderr: '' });
  });

  test('--out FILE writes the diagram there (Mermaid by default)', async () => {
    const { out, io: streams } = io();
    const file = join(scratch, 'sub', 'round.mmd');
    expect(await runDiagramCommand({ machine: 'round', out: file }, streams)).toBe(VISUALIZER_EXIT.ok);
    expect(readFileSync(file, 'utf8')).toBe(committed('round.mmd'));
    expect(out.stdout).toBe(`wrote ${file}\n`);
  });

  test('--machine all --out DIR writes every committed diagram', async () => {
    const { io: streams } = io();
    expect(await runDiagramCommand({ machine: 'all', out: scratch }, streams)).toBe(VISUALIZER_EXIT.ok);
    const files = readdirSync(scratch).sort();
    expect(files).toEqual(readdirSync(join(root, 'docs', 'diagrams')).sort());
    for (const file of files) expect([file, readFileSync(join(scratch, file), 'utf8') === committed(file)]).toEqual([file, true]);
  });

  test.each([
    [{ machine: 'ledger' }, "error: unknown machine 'ledger' (choose from round, election, node, all)\n"],
    [{ machine: 'round', format: 'png' }, "error: unknown format 'png' (choose from mermaid, dot, svg)\n"],
    [{ machine: 'all' }, 'error: --machine all writes every diagram into a directory: give it with --out DIR\n'],
  ])('refuses %j with exit code 2 and one line on stderr', async (options, message) => {
    const { out, io: streams } = io();
    expect(await runDiagramCommand(options, streams)).toBe(VISUALIZER_EXIT.usage);
    expect(out).toEqual({ stdout: '', stderr: message });
  });
});

describe('visualize command', () => {
  test("starts the live view on 127.0.0.1, playing simulate's run of the options, and prints where to open it", async () => {
    const { out, io: streams } = io();
    const simulation = { crashes: [{ node: 'n1', at: 2_000, restartAt: 4_000 }], rounds: 30 };
    const { exitCode, server } = await runVisualizeCommand({ nodes: 4, byzantine: 1, seed: 42, speed: 0.5, simulation }, streams);
    try {
      expect(exitCode).toBe(VISUALIZER_EXIT.ok);
      const byzantine = server!.simulation!.byzantineNames.join(', ');
      expect(out.stdout).toBe(
        `live view: ${server!.url}\n4 nodes (byzantine: ${byzantine}), seed 42, 0.5× real time\n` +
          `the run of: statechart-consensus simulate --nodes 4 --byzantine 1 --rounds 30 --seed 42 --behaviour invalid --latency 5-50 --drop 0 --crash 'n1@2000-4000'\n` +
          `apps can stream to ${server!.url.replace('http', 'ws')}inspect too; Ctrl-C stops\n`,
      );
      expect((await fetch(server!.url)).status).toBe(200);
    } finally {
      await server?.close();
    }
  });

  test('--relay runs no cluster', async () => {
    const { out, io: streams } = io();
    const { server } = await runVisualizeCommand({ relay: true }, streams);
    try {
      expect(server!.simulation).toBeNull();
      expect(out.stdout).toBe(`live view: ${server!.url}\nrelaying inspection streams sent to ${server!.url.replace('http', 'ws')}inspect\n`);
    } finally {
      await server?.close();
    }
  });

  test('refuses too many Byzantine nodes and a port in use, with exit code 2', async () => {
    const { out, io: streams } = io();
    expect(await runVisualizeCommand({ nodes: 4, byzantine: 2 }, streams)).toEqual({ exitCode: VISUALIZER_EXIT.usage, server: null });
    expect(out.stderr).toBe('error: --byzantine: 4 nodes tolerate at most f = 1 Byzantine node, got 2\n');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const second = io();
      expect(await runVisualizeCommand({ port }, second.io)).toEqual({ exitCode: VISUALIZER_EXIT.usage, server: null });
      expect(second.out.stderr).toMatch(new RegExp(`^error: cannot listen on port ${port}: .*EADDRINUSE`));
    } finally {
      taken.close();
    }
  });
});

describe('simulate --inspect', () => {
  test('an inspector that does not listen is a usage error (exit 2), found before anything is streamed', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { out, io: streams } = io();
    expect(await runInspectCommand({ url: `ws://127.0.0.1:${port}`, rounds: 1 }, streams)).toBe(VISUALIZER_EXIT.usage);
    expect(out.stderr).toMatch(new RegExp(`^streaming to ws://127.0.0.1:${port} …\\nerror: could not connect to the inspector at ws://127.0.0.1:${port}: .*ECONNREFUSED`));
  });
});

describe('--speed', () => {
  test('takes simulated ms per wall-clock ms in (0, 16]', () => {
    expect(['0.1', ' 2 ', '16'].map(parseSpeed)).toEqual([0.1, 2, 16]);
    for (const text of ['0', '-1', '17', 'fast', '']) expect(() => parseSpeed(text)).toThrow(`--speed must be a number above 0 and at most 16, got "${text}"`);
  });
});
