import type { UnsafeRoundRule } from '../examples/ledger/LedgerNode';
import { ElectionTimingSchema, DEFAULT_ELECTION_TIMING, type ElectionTiming } from '../machines/election.schemas';
import type { LatencyRange, Partition } from './simulatedNetwork';
import { faultTolerance } from '../examples/ledger/rules';
import { BEHAVIOUR_OPTIONS, type BehaviourOption } from './byzantine';
import type { MemberChangeSpec } from './membershipPlan';
import type { MessagingMode } from '../engine/config';

/**
 * The crash target that names no node in advance: whichever honest node leads
 * the election at that instant (the leader of the highest term if a partition
 * left a stale one). With no leader then, the crash and its restart are
 * skipped, and the report lists them under `skippedCrashes`.
 */
export const LEADER = 'leader';

/** A node down from `at` until `restartAt` (ms, simulated); `null`: it never comes back. */
export interface CrashSpec {
  /** A node name, or `LEADER`. */
  node: string;
  at: number;
  restartAt: number | null;
}

/**
 * A scheduled crash that did not happen (nor its restart). A crash is not
 * moved to a later instant: that would change what the seed replays.
 */
export interface SkippedCrash extends CrashSpec {
  /** `no_leader`: NODE is `leader` and no honest node led at `at`; `already_down`: the node was down at `at`. */
  reason: 'no_leader' | 'already_down';
}

export interface SimulationOptions {
  /** Cluster size. */
  nodes: number;
  /** How many of them are Byzantine (at most f = ⌊(n−1)/3⌋). */
  byzantine: number;
  /**
   * Heights every live honest node must finalize. 0: an election-only run,
   * whose nodes' round machines idle; it ends once every fault has fired and
   * the election settled after each.
   */
  rounds: number;
  seed: number;
  behaviour: BehaviourOption;
  latency: LatencyRange;
  dropRate: number;
  duplicateRate: number;
  reorder: boolean;
  partitions: Partition[];
  crashes: CrashSpec[];
  /** Provers per height; default f + 2 (capped at n). */
  proversPerRank?: number;
  /**
   * Test-only: a round-change rule every honest node
   * breaks, so tests can show the checker catches it (`UnsafeRoundRule`).
   */
  unsafeRule?: UnsafeRoundRule;
  /** Proof time range; default 5–20 ms. */
  proofMs: LatencyRange;
  /**
   * How long each write of a node's safety data (term, vote, lock) takes,
   * drawn per write; default 0–0. Slow storage must delay a node, never
   * keep it from voting or confirming, nor make it vote without saving.
   */
  storageMs: LatencyRange;
  /**
   * Where honest nodes keep term, vote, lock and log: `memory` (default), or
   * `disk`, a real store per node in a temp directory, closed and opened
   * again at each crash, so restarts run the real recovery code.
   */
  storage: 'memory' | 'disk';
  /** Engine rank window (default 16). */
  rankWindow: number;
  /** Most peer messages a node may hold; default the engine's bound, 4 × window × n. */
  maxHeldMessages?: number;
  /** Events of the trace kept for a violation report. */
  traceTail: number;
  /** Keep every trace event (tests compare whole traces). */
  keepTrace: boolean;
  /**
   * Record the event trace (default true). False: events are counted
   * (`events` stays what it would be) but not described, hashed or kept, so
   * `traceDigest` is `''` and a violation comes without its `trace` tail; the
   * run itself is the same. For runs timed for speed (the rounds bench).
   * Not with `keepTrace`.
   */
  trace: boolean;
  /** A run with no honest commit for this long (after the last fault) is a liveness stall. */
  stallLimitMs?: number;
  /** Simulated time after which the run ends regardless. */
  maxSimulatedMs?: number;
  /** Overrides for the election's SPEC §3 timing (150–300 ms timeouts, 50 ms heartbeats). API only. */
  electionTiming?: Partial<ElectionTiming>;
  /**
   * Carry every honest node's commit log in the report (`logs`), with the
   * members' public keys, for a single run's `--json`. Off by default: a
   * sweep or a bench would only pay for it.
   */
  keepLogs?: boolean;
  /**
   * Meter every honest node (`attachNodeMetrics`, one registry, a `node`
   * label each; a restarted node goes on counting where it left off) and put
   * the Prometheus text exposition in the report (`metrics`).
   */
  metrics?: boolean;
  /**
   * Clients: each honest node keeps this many of its own entries proposed
   * (`engine.propose`), topped up at each commit, and every outcome is
   * checked against the log. 0 (the default): nodes make their own entries.
   */
  clients?: number;
  /**
   * The members at genesis: the first `founders` nodes (default: all). The
   * others run from the start, following the log, and vote once a committed
   * change adds them (`memberChanges`). Byzantine nodes are drawn among the founders.
   */
  founders?: number;
  /** Membership changes the run proposes, in order, each once the one before committed (`MemberChangeSpec`). */
  memberChanges?: MemberChangeSpec[];
  /**
   * Honest nodes host the coordination services, and a seeded client takes
   * locks and passes barriers through them (`lockBarrierWorkload.ts`) until
   * the rounds are reached. A `workload` hook replaces that client.
   */
  services?: boolean;
  /** How honest nodes send votes and confirmations (the engine's `messaging`); default all-to-all. */
  messaging?: MessagingMode;
}

export const DEFAULT_SIMULATION_OPTIONS: Readonly<Omit<SimulationOptions, 'partitions' | 'crashes'>> = Object.freeze({
  nodes: 4,
  byzantine: 1,
  rounds: 100,
  seed: 42,
  behaviour: 'invalid',
  latency: { min: 5, max: 50 },
  dropRate: 0,
  duplicateRate: 0,
  reorder: true,
  proofMs: { min: 5, max: 20 },
  storageMs: { min: 0, max: 0 },
  storage: 'memory',
  rankWindow: 16,
  traceTail: 64,
  keepTrace: false,
  trace: true,
});

/** Most nodes a simulation accepts (a bound on run time, not on the engine). */
export const MAX_NODES = 256;

/**
 * Largest `--latency` and `--proof` the CLI accepts, in ms. Far beyond any
 * useful setting (the election's timeouts are 150–300 ms); a bound so that a
 * slip of the keyboard does not start a run that takes hours.
 */
export const MAX_DELAY_MS = 10_000;

/**
 * Latest `--partition` and `--crash` time the CLI accepts: one simulated hour.
 * A run lasts until its last fault, and every simulated second costs wall
 * time (heartbeats), so a time in the billions would run for hours.
 */
export const MAX_FAULT_MS = 3_600_000;

export class SimulationOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationOptionsError';
  }
}

function fail(message: string): never {
  throw new SimulationOptionsError(message);
}

export function nodeNames(nodes: number): string[] {
  return Array.from({ length: nodes }, (_, i) => `n${i}`);
}

/** A value as typed, quoted unless it reads as a number, so an empty or odd one stays visible. */
function shown(text: string): string {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? text.trim() : JSON.stringify(text);
}

function parseNumber(text: string, what: string, expected: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text.trim())) fail(`${what} must be ${expected}, got ${shown(text)}`);
  return Number(text);
}

export interface RangeLimits {
  /** Largest MAX accepted. */
  max?: number;
  /** Whole milliseconds only. */
  whole?: boolean;
}

/** `5-50` (a range) or `20` (a fixed value). */
export function parseRange(text: string, what = 'range', limits: RangeLimits = {}): LatencyRange {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$/.exec(text);
  if (!match) fail(`${what} must be MIN-MAX or one value, in ms (e.g. 5-50), got ${shown(text)}`);
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (max < min) fail(`${what} must not end below where it starts, got ${text.trim()}`);
  if (limits.whole && !(Number.isInteger(min) && Number.isInteger(max))) fail(`${what} must be whole milliseconds, got ${text.trim()}`);
  if (limits.max !== undefined && max > limits.max) fail(`${what} must be at most ${limits.max} ms, got ${text.trim()}`);
  return { min, max };
}

/** A fault time of `--partition` or `--crash` within `MAX_FAULT_MS`. */
function faultTime(text: string, what: string, part: string): number {
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms > MAX_FAULT_MS) fail(`${what} times must be at most ${MAX_FAULT_MS} ms (one simulated hour), got "${part}"`);
  return ms;
}

function parseNodeList(text: string, names: readonly string[], what: string): string[] {
  const list = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (list.length === 0) fail(`${what}: a group needs at least one node`);
  for (const name of list) if (!names.includes(name)) fail(`${what}: unknown node "${name}" (nodes are ${names[0]}…${names[names.length - 1]})`);
  return list;
}

/**
 * `FROM-TO:GROUP|GROUP…`, e.g. `1000-3000:n0,n1|n2,n3`: from 1000 ms to
 * 3000 ms only nodes in one group reach each other. Nodes named in no group
 * form one more group, so `1000-3000:n0` isolates n0. Several partitions:
 * separate them with `;` or repeat the option.
 */
export function parsePartitions(text: string, names: readonly string[]): Partition[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const match = /^(\d+)-(\d+):(.+)$/.exec(part);
      if (!match) fail(`--partition: expected FROM-TO:n0,n1|n2,n3, got "${part}"`);
      const from = faultTime(match[1], '--partition', part);
      const to = faultTime(match[2], '--partition', part);
      if (to <= from) fail(`--partition: "${part}" heals at ${to} ms, not after it starts at ${from} ms`);
      const groups = match[3].split('|').map((group) => parseNodeList(group, names, `--partition "${part}"`));
      const all = groups.flat();
      if (new Set(all).size !== all.length) fail(`--partition: "${part}" names a node in two groups`);
      return { from, to, groups };
    });
}

/**
 * `NODE@AT-RESTART` or `NODE@AT`, e.g. `n2@2000-5000`: n2 crashes at 2000 ms
 * and restarts from its persisted ledger at 5000 ms (without `-RESTART` it
 * stays down). NODE may be `leader`: whoever leads the election at AT.
 * Several: separate with `;` or `,`, or repeat the option.
 */
export function parseCrashes(text: string, names: readonly string[]): CrashSpec[] {
  return text
    .split(/[;,]/)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const match = /^([^@\s]+)@(\d+)(?:-(\d+))?$/.exec(part);
      if (!match) fail(`--crash: expected NODE@AT-RESTART (e.g. n2@2000-5000), got "${part}"`);
      const [, node, at, restart] = match;
      if (node !== LEADER && !names.includes(node)) fail(`--crash: unknown node "${node}" (nodes are ${names[0]}…${names[names.length - 1]})`);
      const crashAt = faultTime(at, '--crash', part);
      const restartAt = restart === undefined ? null : faultTime(restart, '--crash', part);
      if (restartAt !== null && restartAt <= crashAt) fail(`--crash: "${part}" restarts before it crashes`);
      return { node, at: crashAt, restartAt };
    });
}

export function parseProbability(text: string, what: string): number {
  const value = parseNumber(text, what, 'a probability from 0 to 1');
  if (value > 1) fail(`${what} must be a probability from 0 to 1, got ${text.trim()}`);
  return value;
}

/** What an integer flag must be, from its lower bound: the words a user expects. */
function integerKind(min: number): string {
  if (min === 0) return 'a non-negative integer';
  if (min === 1) return 'a positive integer';
  return `an integer of at least ${min}`;
}

/** An integer flag within [min, max]; the message names the flag, e.g. `--nodes must be a positive integer, got -3`. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) fail(`${what} must be ${integerKind(min)}, got ${shown(text)}`);
  const value = Number(trimmed);
  if (value < min) fail(`${what} must be ${integerKind(min)}, got ${trimmed}`);
  if (value > max) fail(`${what} must be at most ${max}, got ${trimmed}`);
  // `-0` passes `value < 0`; the replay command must print it as 0.
  return value === 0 ? 0 : value;
}

/** A comma-separated list of integers within [min, max], e.g. `bench --nodes 4,7,16`. */
export function parseIntegerList(text: string, what: string, min: number, max: number): number[] {
  const items = text.split(',');
  if (items.some((item) => item.trim() === '')) fail(`${what} must be a comma-separated list of integers (e.g. 4,7,16), got ${JSON.stringify(text)}`);
  return items.map((item) => parseInteger(item, what, min, max));
}

export function parseBehaviour(text: string): BehaviourOption {
  if (!(BEHAVIOUR_OPTIONS as readonly string[]).includes(text)) fail(`--behaviour must be one of ${BEHAVIOUR_OPTIONS.join(', ')}, got ${JSON.stringify(text)}`);
  return text as BehaviourOption;
}

/** Fills defaults and checks the whole: every problem is a `SimulationOptionsError` with a readable message. */
export function resolveOptions(partial: Partial<SimulationOptions>): SimulationOptions {
  const options: SimulationOptions = { ...DEFAULT_SIMULATION_OPTIONS, partitions: [], crashes: [], ...partial };
  const { nodes, byzantine, rounds, seed } = options;
  if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > MAX_NODES) fail(`--nodes must be an integer from 1 to ${MAX_NODES}, got ${nodes}`);
  const f = faultTolerance(nodes);
  if (!Number.isSafeInteger(byzantine) || byzantine < 0) fail(`--byzantine must be a non-negative integer, got ${byzantine}`);
  if (byzantine > f) fail(`--byzantine: ${nodes} nodes tolerate at most f = ${f} Byzantine node${f === 1 ? '' : 's'}, got ${byzantine}`);
  if (!Number.isSafeInteger(rounds) || rounds < 0) fail(`--rounds must be a non-negative integer, got ${rounds}`);
  if (!Number.isSafeInteger(seed)) fail(`--seed must be an integer, got ${seed}`);
  if (!(options.dropRate >= 0 && options.dropRate <= 1)) fail(`--drop must be a probability from 0 to 1, got ${options.dropRate}`);
  if (!(options.duplicateRate >= 0 && options.duplicateRate <= 1)) fail(`--duplicate must be a probability from 0 to 1, got ${options.duplicateRate}`);
  for (const [what, range] of [
    ['--latency', options.latency],
    ['--proof', options.proofMs],
    ['--storage', options.storageMs],
  ] as const) {
    if (!(range.min >= 0 && range.max >= range.min && Number.isFinite(range.max))) fail(`${what} must be MIN-MAX with 0 ≤ MIN ≤ MAX, got ${range.min}-${range.max}`);
  }
  if (!Number.isInteger(options.proofMs.min) || !Number.isInteger(options.proofMs.max)) fail(`--proof must be whole milliseconds, got ${options.proofMs.min}-${options.proofMs.max}`);
  if (options.storage !== 'memory' && options.storage !== 'disk') fail(`--storage must be disk or MIN-MAX, got ${String(options.storage)}`);
  if (!Number.isInteger(options.storageMs.min) || !Number.isInteger(options.storageMs.max)) fail(`--storage must be whole milliseconds, got ${options.storageMs.min}-${options.storageMs.max}`);
  const names = nodeNames(nodes);
  for (const crash of options.crashes) {
    if (crash.node !== LEADER && !names.includes(crash.node)) fail(`--crash: unknown node "${crash.node}"`);
  }
  // A named node crashes once; `leader` names whoever leads then, so it may recur.
  const named = options.crashes.filter((crash) => crash.node !== LEADER).map((crash) => crash.node);
  if (new Set(named).size !== named.length) fail('--crash: one crash per node');
  for (const partition of options.partitions) {
    for (const name of partition.groups.flat()) if (!names.includes(name)) fail(`--partition: unknown node "${name}"`);
  }
  const provers = options.proversPerRank;
  if (provers !== undefined) {
    // `proversPerRank` is the CLI's `--provers`; the message speaks of the flag.
    if (!Number.isSafeInteger(provers) || provers < 1) fail(`--provers must be a positive integer, got ${provers}`);
    if (provers > nodes) fail(`--provers must be at most the cluster size (--nodes ${nodes}), got ${provers}`);
  }
  if (!Number.isSafeInteger(options.rankWindow) || options.rankWindow < 1 || options.rankWindow > 1024) fail(`rankWindow must be an integer from 1 to 1024, got ${options.rankWindow}`);
  if (!Number.isSafeInteger(options.traceTail) || options.traceTail < 1) fail(`--trace must be a positive integer, got ${options.traceTail}`);
  if (typeof options.trace !== 'boolean') fail(`trace must be true or false, got ${String(options.trace)}`);
  if (options.keepTrace && !options.trace) fail('keepTrace needs the trace: it cannot be kept with trace: false');
  if (options.keepLogs !== undefined && typeof options.keepLogs !== 'boolean') fail(`keepLogs must be true or false, got ${String(options.keepLogs)}`);
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') fail(`metrics must be true or false, got ${String(options.metrics)}`);
  if (options.services !== undefined && typeof options.services !== 'boolean') fail(`services must be true or false, got ${String(options.services)}`);
  if (options.clients !== undefined && (!Number.isSafeInteger(options.clients) || options.clients < 0 || options.clients > 128)) {
    fail(`--clients must be an integer from 0 to 128, got ${String(options.clients)}`);
  }
  if (options.founders !== undefined || options.memberChanges !== undefined) checkMembershipPlan(options, names, fail);
  if (options.messaging !== undefined && options.messaging !== 'all-to-all' && options.messaging !== 'linear') {
    fail(`--messaging must be all-to-all or linear, got ${JSON.stringify(options.messaging)}`);
  }
  if (options.messaging === 'linear' && options.unsafeRule !== undefined) fail('linear messaging needs signed engines, which a broken round-change rule runs without');
  if (options.electionTiming !== undefined) {
    const timing = ElectionTimingSchema.safeParse({ ...DEFAULT_ELECTION_TIMING, ...options.electionTiming });
    if (!timing.success) fail(`electionTiming: ${timing.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  return options;
}

/** A run whose membership changes: founders among the nodes, changes that each name a node of the run. */
function checkMembershipPlan(options: SimulationOptions, names: readonly string[], fail: (message: string) => never): void {
  const founders = options.founders ?? options.nodes;
  if (!Number.isSafeInteger(founders) || founders < 1 || founders > options.nodes) fail(`founders must be an integer from 1 to the number of nodes (${options.nodes}), got ${String(founders)}`);
  if (options.byzantine > faultTolerance(founders)) fail(`byzantine: ${founders} founders tolerate at most f = ${faultTolerance(founders)}, got ${options.byzantine}`);
  if (options.unsafeRule !== undefined) fail('a membership change needs signed engines, which a broken round-change rule runs without');
  let at = 0;
  for (const change of options.memberChanges ?? []) {
    if (change.op !== 'add' && change.op !== 'remove') fail(`memberChanges: add or remove, got ${String(change.op)}`);
    if (!names.includes(change.node)) fail(`memberChanges: unknown node "${change.node}"`);
    if (!Number.isSafeInteger(change.at) || change.at < at) fail(`memberChanges: times must be whole ms, in order, got ${String(change.at)}`);
    at = change.at;
  }
}
