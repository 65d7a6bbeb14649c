import type { EventClock } from '../../../simulator/EventClock';
import { checkLinearizable, type CheckOptions, type CheckResult } from '../linearizability/check';
import { kvModel, type KvInput, type KvOutput } from '../linearizability/models';
import { checkBarriers, type BarrierReport } from './barrierChecker';
import type { CommittedEntry } from './committedLog';
import { checkReplayedKv, type KvReplayReport } from './kvReplayChecker';
import { checkLocks, type LockReport } from './lockChecker';
import { ServiceRecorder } from './recorder';
import { clockTime, runWorkload, type WorkloadOptions } from './workload';

/**
 * A workload run on a discrete-event clock and its verdict: what any cluster
 * that serves `CoordinationPort`s (the fake one here, the simulator's) needs
 * to be checked with the KV model and the lock checker, and, given the
 * commit log, with the barrier checker and the replay of keys whose strategy
 * the KV model cannot follow.
 */

export interface ServicesVerdict {
  readonly kv: CheckResult<KvInput, KvOutput>;
  readonly locks: LockReport;
  /** Without a commit log, null: barriers and replayed keys are checked against it. */
  readonly barriers: BarrierReport | null;
  readonly replayedKv: KvReplayReport | null;
  /** Every checker passed; `unknown` from the linearizability search is not a pass. */
  readonly ok: boolean;
  /** What to print when `ok` is false. */
  readonly summary: string;
}

/** Checks what clients recorded; `committed`, when the host has it, is the lock checker's authority. */
export function checkServices(recorder: ServiceRecorder, committed?: readonly CommittedEntry[], options: CheckOptions = {}): ServicesVerdict {
  const kv = checkLinearizable(recorder.kvHistory(), kvModel(), options);
  const locks = checkLocks({ log: recorder.lockLog(), committed });
  const barriers = committed === undefined ? null : checkBarriers({ log: recorder.barrierLog(), committed });
  const replayedKv = committed === undefined ? null : checkReplayedKv(recorder.replayedKvLog(), committed);
  const where = kv.ok !== true && kv.partition !== undefined ? ` (partition ${kv.partition})` : '';
  const kvText = kv.ok === true ? 'KV linearizable' : kv.ok === false ? kv.witness.summary : `KV check ${kv.reason}${where}`;
  const ok = kv.ok === true && locks.ok && (barriers?.ok ?? true) && (replayedKv?.ok ?? true);
  const summary = [kvText, locks.summary, ...(barriers === null ? [] : [barriers.summary]), ...(replayedKv === null ? [] : [replayedKv.summary])].join('\n');
  return { kv, locks, barriers, replayedKv, ok, summary };
}

/**
 * Fires the clock's timers until `work` settles; a run that is not done by
 * `limitMs` of simulated time is a hung client or cluster, and fails.
 */
export async function runOnClock(clock: EventClock, work: Promise<void>, limitMs: number): Promise<void> {
  let finished = false;
  let failure: unknown = null;
  work.then(
    () => (finished = true),
    (error: unknown) => {
      finished = true;
      failure = error ?? new Error('the workload failed');
    },
  );
  await clock.runInstantsUntil(() => finished, clock.now() + limitMs);
  if (failure !== null) throw failure;
  if (!finished) throw new Error(`the workload was not done after ${limitMs} ms of simulated time`);
}

export interface ServicesRunOptions extends Omit<WorkloadOptions, 'time' | 'recorder'> {
  readonly clock: EventClock;
  /** The commit log with results, read once the workload is done; leave out to check locks from the client log alone. */
  readonly committed?: () => readonly CommittedEntry[];
  /** Default ten simulated minutes. */
  readonly limitMs?: number;
  readonly check?: CheckOptions;
}

/** Runs the workload to its end on `clock` and checks it. */
export async function runServicesWorkload(options: ServicesRunOptions): Promise<ServicesVerdict & { readonly recorder: ServiceRecorder }> {
  const { clock, committed, limitMs, check, ...workload } = options;
  const recorder = new ServiceRecorder(() => clock.now());
  await runOnClock(clock, runWorkload({ ...workload, time: clockTime(clock), recorder }), limitMs ?? 600_000);
  return { ...checkServices(recorder, committed?.(), check), recorder };
}
