import { openSync, readFileSync, unlinkSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { WalError } from './errors';

/** Another live process holds the directory: two writers would interleave their records. */
export class DirectoryLockedError extends WalError {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`${dir} is in use by process ${pid}`);
  }
}

const LOCK_FILE = 'LOCK';

/** Whether a process with this id runs (EPERM: it runs as someone else). A zombie, killed but not yet reaped, does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Linux: the state follows the parenthesised command name, which may itself hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Takes `dir` for this process: a LOCK file holding its pid, made with
 * O_EXCL. A lock left by a process that no longer runs (killed with
 * SIGKILL) is taken over; one held by a live process, this one included, is
 * a `DirectoryLockedError`. Returns the release.
 */
export function lockDirectory(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  for (let tries = 0; ; tries += 1) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, 'utf8').trim());
    } catch {
      // Removed meanwhile, or unreadable: try once more.
    }
    if (Number.isSafeInteger(holder) && holder > 0 && alive(holder)) throw new DirectoryLockedError(dir, holder);
    // A stale lock (or a torn one, written by a process killed mid-write).
    try {
      unlinkSync(file);
    } catch {
      // Another opener removed it first; the exclusive create decides.
    }
  }
}
