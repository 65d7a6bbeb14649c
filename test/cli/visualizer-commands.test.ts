import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliIO } from '../../cli/program';

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: { write: (text: string) => out.push(text), isTTY: false },
    stderr: { write: (text: string) => err.push(text), isTTY: false },
  };
  const code = await runCli(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const committed = (file: string) => readFileSync(join(__dirname, '..', '..', 'docs', 'diagrams', file), 'utf8');

describe('statechart-consensus diagram', () => {
  it.each([
    ['round', 'mermaid', 'round.mmd'],
    ['election', 'dot', 'election.dot'],
  ])('prints the %s machine as %s, the same text as the committed %s', async (machine, format, file) => {
    const { code, stdout, stderr } = await cli(['diagram', '--machine', machine, '--format', format]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(committed(file).trim());
  });

  it('refuses an unknown machine with one error line and exit code 2', async () => {
    const { code, stdout, stderr } = await cli(['diagram', '--machine', 'bogus']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      'error: --machine must be one of round, election, node, all, got "bogus"',
    ]);
  });
});

describe('statechart-consensus simulate --inspect', () => {
  it('reports an unreachable inspector as a usage error, not a stack trace', async () => {
    const { code, stderr } = await cli(['simulate', '--inspect', 'ws://127.0.0.1:1', '--rounds', '2']);
    expect(code).toBe(2);
    expect(stderr).toContain('error: could not connect to the inspector at ws://127.0.0.1:1');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("takes simulate's fault flags: a partition and a crash are part of the run it streams", async () => {
    const { code, stderr } = await cli(['simulate', '--inspect', 'ws://127.0.0.1:1', '--partition', '1000-2000:n0', '--crash', 'n1@500-900', '--drop', '0.01']);
    expect(code).toBe(2);
    expect(stderr).toContain('error: could not connect to the inspector at ws://127.0.0.1:1');
  });
});
