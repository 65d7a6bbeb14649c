import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BEHAVIOUR_OPTIONS, type BehaviourOption } from './byzantine';
import { resolveOptions, SimulationOptionsError, type SimulationOptions } from './options';

/**
 * A report of `simulate --json` read back to run it again
 * (`simulate --replay FILE`, `visualize --replay FILE`): its `options` are
 * the run's resolved options, so the same run, trace digest and verdict
 * follow. Options only the API sets (`unsafeRule`, `electionTiming`, a
 * changing membership…) replay as well: the file carries them. A run that
 * API hooks changed is refused, since no file carries a function.
 */

const range = z.strictObject({ min: z.number(), max: z.number() });
// What `resolveOptions` leaves to its callers, checked here: a file may have been edited by hand.
const time = z.number().min(0);
const count = z.number().int().min(1);

// A partition that never heals has `to: Infinity`, which JSON writes as null.
const never = z.null().transform(() => Number.POSITIVE_INFINITY);

/** Strict: an option this version does not know would be dropped, and the run would be another one. */
const OptionsSchema = z.strictObject({
  nodes: z.number(),
  byzantine: z.number(),
  rounds: z.number(),
  seed: z.number(),
  behaviour: z.enum(BEHAVIOUR_OPTIONS as readonly [BehaviourOption, ...BehaviourOption[]]),
  latency: range,
  dropRate: z.number(),
  duplicateRate: z.number(),
  reorder: z.boolean(),
  partitions: z.array(z.strictObject({ from: time, to: z.union([time, never]), groups: z.array(z.array(z.string())) })),
  crashes: z.array(z.strictObject({ node: z.string(), at: time, restartAt: time.nullable() })),
  proversPerRank: z.number().optional(),
  unsafeRule: z.enum(['commit-on-votes', 'ignore-locks']).optional(),
  proofMs: range,
  storageMs: range,
  storage: z.enum(['memory', 'disk']),
  rankWindow: z.number(),
  maxHeldMessages: count.optional(),
  traceTail: z.number(),
  keepTrace: z.boolean(),
  trace: z.boolean(),
  stallLimitMs: time.optional(),
  maxSimulatedMs: time.optional(),
  electionTiming: z
    .strictObject({ electionTimeoutMinMs: z.number(), electionTimeoutMaxMs: z.number(), heartbeatIntervalMs: z.number(), preVoteTimeoutMs: z.number() })
    .partial()
    .optional(),
  keepLogs: z.boolean().optional(),
  metrics: z.boolean().optional(),
  clients: z.number().optional(),
  founders: z.number().optional(),
  memberChanges: z.array(z.strictObject({ at: time, op: z.enum(['add', 'remove']), node: z.string() })).optional(),
  services: z.boolean().optional(),
  messaging: z.enum(['all-to-all', 'linear']).optional(),
});

/** What of the report a replay needs: its options, and what went wrong, to say where and to compare. */
const ReportSchema = z.object({
  options: OptionsSchema,
  hooks: z.array(z.string()).optional(),
  violations: z.array(z.object({ kind: z.string(), rank: z.number() })),
  stalled: z.boolean(),
  roundsFinalized: z.record(z.string(), z.number()),
  traceDigest: z.string(),
});

export interface ReplayFile {
  /** The run's options, resolved and checked. */
  options: SimulationOptions;
  /** The digest the report gave: the replay's is the same ('' for a run without a trace). */
  traceDigest: string;
  /**
   * The height where the run went wrong: a violation's rank, or for a stall
   * the frontier (the highest height an honest node finalized); null for a
   * run that reached its target.
   */
  wentWrongAt: number | null;
  /** In words: `agreement violation at 12`, `stall at height 7`, `reached its target`. */
  outcome: string;
}

function fail(source: string, message: string): never {
  throw new SimulationOptionsError(`--replay ${source}: ${message}`);
}

/** A parsed report (`JSON.parse` of `simulate --json`'s output), checked; `source` names it in errors. */
export function replayFromReport(json: unknown, source: string): ReplayFile {
  const isObject = typeof json === 'object' && json !== null && !Array.isArray(json);
  if (isObject && 'results' in json && 'firstSeed' in json) {
    fail(source, "a sweep's summary, not the report of one run: each of its results carries the command that replays it (replay)");
  }
  if (!isObject || !('options' in json)) {
    fail(source, 'not the report of one simulate --json run (it has no "options" field: a report from a version without --replay?)');
  }
  const parsed = ReportSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'the report'}: ${issue.message}`);
    fail(source, `not the report of one simulate --json run (${issues.join('; ')})`);
  }
  const report = parsed.data;
  if (report.hooks !== undefined && report.hooks.length > 0) {
    fail(source, `the run was changed through API hooks (${report.hooks.join(', ')}), which no file carries: it cannot be replayed`);
  }
  let options: SimulationOptions;
  try {
    options = resolveOptions(report.options);
  } catch (error) {
    if (error instanceof SimulationOptionsError) fail(source, `its options do not make a run: ${error.message}`);
    throw error;
  }
  const [violation] = report.violations;
  const frontier = Math.max(0, ...Object.values(report.roundsFinalized));
  return {
    options,
    traceDigest: report.traceDigest,
    wentWrongAt: violation !== undefined ? violation.rank : report.stalled ? frontier : null,
    outcome: violation !== undefined ? `${violation.kind} violation at ${violation.rank}` : report.stalled ? `stall at height ${frontier}` : 'reached its target',
  };
}

/** Reads FILE, a report `simulate --json` printed; bad input is a `SimulationOptionsError` (a usage error, exit 2). */
export async function readReplayFile(path: string): Promise<ReplayFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw error;
    fail(path, `cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(path, `not JSON (${(error as Error).message})`);
  }
  return replayFromReport(json, path);
}
