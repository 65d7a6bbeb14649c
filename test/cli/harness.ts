import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliIO } from '../../cli/program';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output (stdout and stderr not terminals). */
export async function cli(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: { write: (text: string) => out.push(text), isTTY: false },
    stderr: { write: (text: string) => err.push(text), isTTY: false },
  };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

export const ROOT = join(__dirname, '..', '..');
const BUILT_CLI = join(ROOT, 'dist', 'cli.js');

/**
 * Runs the built `dist/cli.js` as a user's shell does: what the bundle
 * carries (the version) and what the process exits with are only seen there.
 */
export function builtCli(...argv: string[]): Promise<CliResult> {
  if (!existsSync(BUILT_CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first)');
  return new Promise((resolve) => {
    execFile(process.execPath, [BUILT_CLI, ...argv], { cwd: ROOT, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}
