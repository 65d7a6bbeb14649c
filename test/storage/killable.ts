import { spawn, type ChildProcess } from 'node:child_process';

/** A positive integer from the environment, for the crash tests' kill counts and seeds. */
export function envInteger(name: string, fallback: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer from 1 to ${max}, got ${text}`);
  return value;
}

export interface KilledRun {
  stdout: string;
  stderr: string;
  /** Whether it died by SIGKILL (as meant), rather than exiting on its own. */
  killed: boolean;
  code: number | null;
}

/**
 * Runs `script` under this Node and kills it with SIGKILL `delayMs` after
 * `armed(stdout)` first holds (checked at the start and on every output),
 * or after `guardMs` plus `delayMs` if it never does. `running` holds the
 * child while it lives, so a test's teardown can kill what is left, by PID.
 */
export function runUntilKilled(
  script: string,
  args: string[],
  options: { delayMs: number; guardMs: number; armed: (stdout: string) => boolean; running: Set<ChildProcess> },
): Promise<KilledRun> {
  const { delayMs, guardMs, armed, running } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => child.kill('SIGKILL');
    const arm = () => {
      if (killTimer === undefined && armed(stdout)) killTimer = setTimeout(kill, delayMs);
    };
    const guard = setTimeout(kill, guardMs + delayMs);
    arm();
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      arm();
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(guard);
      clearTimeout(killTimer);
      resolve({ stdout, stderr, killed: signal === 'SIGKILL', code });
    });
  });
}
