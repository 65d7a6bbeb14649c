import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * Who used the CPU while a system was measured: its own processes, and
 * everything else on the machine. A bench that shares its cores with the
 * system it drives, and perhaps with other work, says so beside its figures.
 */
export interface CpuShare {
  /** Cores the machine was busy, on average over the window (2 = both of two cores throughout). */
  busy: number;
  /** Of those, the measured system's processes. Null where /proc is not readable. */
  measured: number | null;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks on every common architecture. */
const TICKS_PER_SECOND = 100;

function busyMs(): number {
  return cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
}

/** utime + stime of `pid` in ms, from /proc/<pid>/stat; null once it is gone. */
function processMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Starts a window now over the processes `pids`; `end()` closes it. */
export function cpuWindow(pids: readonly number[]): { end(): CpuShare } {
  const started = performance.now();
  const busyAtStart = busyMs();
  const pidsAtStart = pids.map(processMs);
  return {
    end() {
      const wallMs = performance.now() - started;
      const round = (cores: number) => Math.round(cores * 100) / 100;
      const pidsAtEnd = pids.map(processMs);
      const gone = [...pidsAtStart, ...pidsAtEnd].some((ms) => ms === null);
      const measuredMs = pidsAtEnd.reduce<number>((sum, ms, i) => sum + (ms ?? 0) - (pidsAtStart[i] ?? 0), 0);
      return { busy: round((busyMs() - busyAtStart) / wallMs), measured: gone || wallMs <= 0 ? null : round(measuredMs / wallMs) };
    },
  };
}
