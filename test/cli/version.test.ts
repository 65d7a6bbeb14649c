import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../cli/program';
import { builtCli, cli, ROOT } from './harness';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('statechart-consensus --version', () => {
  it.each([['--version'], ['-V']])('%s prints the version of package.json and exits 0', async (flag) => {
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await cli(flag)).toEqual({ code: EXIT.ok, stdout: `${version}\n`, stderr: '' });
  });

  it('the built dist/cli.js prints the same (esbuild inlines it from package.json)', async () => {
    expect(await builtCli('--version')).toEqual({ code: EXIT.ok, stdout: `${version}\n`, stderr: '' });
  });

  it('is listed in the top-level help', async () => {
    const { stdout } = await cli('--help');
    expect(stdout).toMatch(/^ {2}-V, --version +print the version and exit$/m);
  });
});
