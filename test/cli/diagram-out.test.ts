import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/program';
import { builtCli, cli } from './harness';

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'diagram-out-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

// Paths that fail for root too (tests may run as root, who may write anywhere).
describe('diagram --out that cannot be written', () => {
  it('a path through a file: one error line, exit 73, nothing on stdout', async () => {
    const file = join(scratch, 'file');
    writeFileSync(file, 'in the way');
    const out = join(file, 'round.mmd');
    expect(await cli('diagram', '--machine', 'round', '--out', out)).toEqual({
      code: EXIT.cannotWrite,
      stdout: '',
      stderr: `error: cannot write --out ${out}: a file stands where a directory is needed (EEXIST)\n`,
    });
    expect(readFileSync(file, 'utf8')).toBe('in the way');
  });

  it('a directory given as the file', async () => {
    expect(await cli('diagram', '--machine', 'election', '--format', 'dot', '--out', scratch)).toEqual({
      code: EXIT.cannotWrite,
      stdout: '',
      stderr: `error: cannot write --out ${scratch}: it is a directory (EISDIR)\n`,
    });
  });

  it('--machine all into a path that is a file', async () => {
    const file = join(scratch, 'file');
    writeFileSync(file, '');
    expect(await cli('diagram', '--machine', 'all', '--out', file)).toEqual({
      code: EXIT.cannotWrite,
      stdout: '',
      stderr: `error: cannot write --out ${file}: a file stands where a directory is needed (EEXIST)\n`,
    });
  });

  it('the built CLI exits 73 with that one line, no stack trace (not the 70 of an internal error)', async () => {
    const { code, stdout, stderr } = await builtCli('diagram', '--machine', 'round', '--out', scratch);
    expect({ code, stdout }).toEqual({ code: 73, stdout: '' });
    expect(stderr).toBe(`error: cannot write --out ${scratch}: it is a directory (EISDIR)\n`);
  });

  it('--help documents the exit codes', async () => {
    const { stdout } = await cli('diagram', '--help');
    expect(stdout).toContain('Exit codes: 0 printed or written; 2 invalid options; 73 --out could not be written (one line on stderr).');
  });

  it('a writable --out still works and creates missing directories', async () => {
    const out = join(scratch, 'a', 'b', 'round.mmd');
    expect(await cli('diagram', '--machine', 'round', '--out', out)).toEqual({ code: EXIT.ok, stdout: `wrote ${out}\n`, stderr: '' });
    expect(readFileSync(out, 'utf8')).toMatch(/^stateDiagram-v2/);
  });
});
