import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry, RegistryContentType } from 'prom-client';

/** How a proposal ended (SPEC §4). */
export type ProposalOutcomeName = 'committed' | 'aborted' | 'expired';
export const PROPOSAL_OUTCOMES: readonly ProposalOutcomeName[] = ['committed', 'aborted', 'expired'];

/**
 * What `consensus_commit_latency_seconds` measures. `rank`: from the moment
 * the engine began deciding a rank (its active rank became the one before) to
 * that rank's commit, on the engine's clock. `proposal`: from a proposal to
 * its commit, as `proposalSettled` reports it.
 */
export type CommitLatencySource = 'rank' | 'proposal';

/** Seconds: from a simulated cluster's few milliseconds to a rank stuck for minutes. */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Attempts a committed rank needed: mostly 1, a faulty proposer's rank a few more. */
export const ATTEMPT_BUCKETS: readonly number[] = [1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32];

export interface EngineMetricsOptions {
  /**
   * Where the metrics are registered. Default: a registry of their own, so
   * that several engines in one process do not collide. Engines may share
   * one when each has its own `labels` (e.g. `{ node }`).
   */
  registry?: Registry<RegistryContentType>;
  /** Put before every name: `myapp_` gives `myapp_consensus_rounds_total`. */
  prefix?: string;
  /** Constant labels on every sample, e.g. `{ node: 'n1' }`. */
  labels?: Record<string, string>;
  /** Default `rank`; see `CommitLatencySource`. */
  commitLatency?: CommitLatencySource;
  /** Buckets of `consensus_commit_latency_seconds`, in seconds. */
  latencyBuckets?: readonly number[];
}

/** Readings taken each time the registry is scraped; any may be absent. */
export interface ScrapeReadings {
  activeRank?: () => number;
  heldMessages?: () => number;
  pendingProposals?: () => number;
  term?: () => number;
}

/** Label names the metrics use themselves, which constant labels may not take. */
const RESERVED_LABELS = new Set(['outcome', 'from_role', 'to_role', 'code', 'from', 'to', 'reason', 'le', 'quantile']);
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

let promClient: typeof PromClient | undefined;
/** Loaded on first use, so that an app that never asks for metrics never loads prom-client. */
function prom(): typeof PromClient {
  promClient ??= require('prom-client') as typeof PromClient;
  return promClient;
}

/**
 * The gauges read on scrape are shared by every `EngineMetrics` of a
 * registry; each registers its own reading here, under the gauge.
 */
const scrapeReaders = new WeakMap<object, Set<() => void>>();
/** Metrics made here: only these are reused when a registry already has the name. */
const ours = new WeakSet<object>();

function readOnScrape(this: object): void {
  for (const read of scrapeReaders.get(this) ?? []) read();
}

type Kind = 'counter' | 'gauge' | 'histogram';

interface Spec {
  kind: Kind;
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets?: readonly number[];
  readOnScrape?: boolean;
}

function constructorOf(kind: Kind) {
  const { Counter, Gauge, Histogram } = prom();
  return kind === 'counter' ? Counter : kind === 'gauge' ? Gauge : Histogram;
}

/** The registry's metric of that name if an `EngineMetrics` made it alike, else a new one. */
function instrument(registry: Registry<RegistryContentType>, spec: Spec): unknown {
  const existing = registry.getSingleMetric(spec.name);
  const Made = constructorOf(spec.kind);
  if (existing !== undefined) {
    const labels = (existing as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    const alike =
      ours.has(existing) &&
      existing instanceof Made &&
      labels.length === spec.labelNames.length &&
      spec.labelNames.every((label) => labels.includes(label));
    if (!alike) {
      throw new Error(`the registry already has a metric named ${spec.name} that is not this ${spec.kind} with labels [${spec.labelNames.join(', ')}]`);
    }
    return existing;
  }
  const config = {
    name: spec.name,
    help: spec.help,
    labelNames: [...spec.labelNames],
    registers: [registry],
    ...(spec.buckets === undefined ? {} : { buckets: [...spec.buckets] }),
    ...(spec.readOnScrape ? { collect: readOnScrape } : {}),
  };
  const metric = new (Made as new (config: unknown) => object)(config);
  ours.add(metric);
  if (spec.readOnScrape) scrapeReaders.set(metric, new Set());
  return metric;
}

const finiteAtLeastZero = (value: number) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * One engine's Prometheus metrics (SPEC §4.3), under the names of SPEC §4.3
 * prefixed by `prefix`. Nothing here reads the engine: `attachEngineMetrics`
 * and `attachNodeMetrics` feed it from the engine's public API, and the
 * engine reports what only it sees (refusals, proposals) by calling it. No
 * method throws on a bad number: it is ignored, since a metric must never
 * break the engine that reports it.
 */
export class EngineMetrics {
  readonly registry: Registry<RegistryContentType>;
  readonly labels: Readonly<Record<string, string>>;
  readonly commitLatency: CommitLatencySource;
  private readonly prefix: string;
  private readonly constantLabels: readonly string[];
  private readonly proposals: Counter<string>;
  private readonly latency: Histogram<string>;
  private readonly pending: Gauge<string>;
  private readonly rounds: Counter<string>;
  private readonly attempts: Counter<string>;
  private readonly attemptsPerRank: Histogram<string>;
  private readonly refusals: Counter<string>;
  private readonly stateTransitions: Counter<string>;
  private readonly activeRank: Gauge<string>;
  private readonly heldMessages: Gauge<string>;
  /** Made on first use: only a node runs the election. */
  private electionMetrics: { roles: Counter<string>; term: Gauge<string> } | null = null;

  constructor(options: EngineMetricsOptions = {}) {
    const prefix = options.prefix ?? '';
    if (!METRIC_PREFIX.test(prefix)) throw new RangeError(`metrics prefix must be a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(prefix)}`);
    const labels = { ...(options.labels ?? {}) };
    for (const [name, value] of Object.entries(labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new RangeError(`metrics label name ${JSON.stringify(name)} is not a Prometheus label name`);
      if (RESERVED_LABELS.has(name)) throw new RangeError(`metrics label name ${JSON.stringify(name)} is one the metrics use themselves`);
      if (typeof value !== 'string') throw new RangeError(`metrics label ${name} must be a string, got ${typeof value}`);
    }
    const commitLatency = options.commitLatency ?? 'rank';
    if (commitLatency !== 'rank' && commitLatency !== 'proposal') throw new RangeError(`commitLatency must be 'rank' or 'proposal', got ${String(commitLatency)}`);
    const buckets = options.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS;
    if (buckets.length === 0 || !buckets.every((bucket, i) => Number.isFinite(bucket) && (i === 0 || bucket > buckets[i - 1]!))) {
      throw new RangeError('latencyBuckets must be finite numbers in increasing order');
    }
    this.registry = options.registry ?? createMetricsRegistry();
    this.labels = Object.freeze(labels);
    this.commitLatency = commitLatency;
    this.prefix = prefix;
    this.constantLabels = Object.keys(labels);

    this.proposals = this.counter('consensus_proposals_total', 'This node\'s proposals that settled, by outcome.', ['outcome']);
    this.latency = this.histogram(
      'consensus_commit_latency_seconds',
      commitLatency === 'rank'
        ? 'Seconds from the start of a rank (the engine\'s active rank became the one before it) to its commit, on the engine\'s clock.'
        : 'Seconds from a proposal of this node to its commit, on the engine\'s clock.',
      [],
      buckets,
    );
    this.pending = this.gauge('consensus_pending_proposals', 'This node\'s proposals not yet settled.', true);
    this.rounds = this.counter('consensus_rounds_total', 'Ranks this node committed.', []);
    this.attempts = this.counter('consensus_attempts_total', 'Moves to a later attempt of the rank being decided, by reason.', ['reason']);
    this.attemptsPerRank = this.histogram('consensus_attempts_per_rank', 'Attempts each committed rank needed (1: the first attempt committed).', [], ATTEMPT_BUCKETS);
    this.refusals = this.counter('consensus_refusals_total', 'Peer messages refused, by ConsensusInputError code.', ['code']);
    this.stateTransitions = this.counter('consensus_state_transitions_total', 'Round machine transitions between top-level states, re-entries included.', ['from', 'to']);
    this.activeRank = this.gauge('consensus_active_rank', 'Rank of the last committed (active) state.', true);
    this.heldMessages = this.gauge('consensus_held_messages', 'Peer messages (and notes on them) held for undecided ranks.', true);

    // Series that exist from the start, so a rate over them is defined before the first event.
    for (const outcome of PROPOSAL_OUTCOMES) this.proposals.inc(this.with({ outcome }), 0);
    for (const reason of ['timeout', 'nil_confirmations', 'skip_ahead']) this.attempts.inc(this.with({ reason }), 0);
    this.rounds.inc(this.with({}), 0);
    this.latency.zero(this.with({}));
    this.attemptsPerRank.zero(this.with({}));
    this.pending.set(this.with({}), 0);
  }

  /** A proposal of this node settled; with `commitLatency: 'proposal'`, `latencySeconds` of a committed one is observed. */
  proposalSettled(outcome: ProposalOutcomeName, latencySeconds?: number): void {
    if (!PROPOSAL_OUTCOMES.includes(outcome)) return;
    this.proposals.inc(this.with({ outcome }));
    if (this.commitLatency === 'proposal' && outcome === 'committed' && latencySeconds !== undefined && finiteAtLeastZero(latencySeconds)) {
      this.latency.observe(this.with({}), latencySeconds);
    }
  }

  setPendingProposals(count: number): void {
    if (finiteAtLeastZero(count)) this.pending.set(this.with({}), count);
  }

  /** A peer's message was refused (`ConsensusInputError.code`). */
  refused(code: string): void {
    if (typeof code === 'string' && code.length > 0) this.refusals.inc(this.with({ code }));
  }

  /**
   * A rank committed in `attempt` (0: the first). With `commitLatency:
   * 'rank'`, `rankSeconds` (null: its start was not seen) is observed.
   */
  committed(attempt: number, rankSeconds: number | null): void {
    this.rounds.inc(this.with({}));
    if (finiteAtLeastZero(attempt)) this.attemptsPerRank.observe(this.with({}), attempt + 1);
    if (this.commitLatency === 'rank' && rankSeconds !== null && finiteAtLeastZero(rankSeconds)) this.latency.observe(this.with({}), rankSeconds);
  }

  attemptChanged(reason: string): void {
    this.attempts.inc(this.with({ reason }));
  }

  stateTransition(from: string, to: string): void {
    this.stateTransitions.inc(this.with({ from, to }));
  }

  /** An election role transition (a node's `onRoleChange`). */
  roleTransition(from_role: string, to_role: string): void {
    this.election().roles.inc(this.with({ from_role, to_role }));
  }

  /**
   * Readings taken on each scrape (gauges that would otherwise go stale
   * between events). Returns a function that takes them one last time and
   * stops: the gauges then keep those values.
   */
  readOnScrape(readings: ScrapeReadings): () => void {
    const reads: [Gauge<string>, () => number][] = [];
    if (readings.activeRank) reads.push([this.activeRank, readings.activeRank]);
    if (readings.heldMessages) reads.push([this.heldMessages, readings.heldMessages]);
    if (readings.pendingProposals) reads.push([this.pending, readings.pendingProposals]);
    if (readings.term) reads.push([this.election().term, readings.term]);
    const entries = reads.map(([gauge, read]) => {
      const take = () => {
        const value = read();
        if (finiteAtLeastZero(value)) gauge.set(this.with({}), value);
      };
      scrapeReaders.get(gauge)!.add(take);
      return [gauge, take] as const;
    });
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      for (const [gauge, take] of entries) {
        take();
        scrapeReaders.get(gauge)!.delete(take);
      }
    };
  }

  /** The registry's text exposition (every metric in it, other engines' too when shared). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  private election(): { roles: Counter<string>; term: Gauge<string> } {
    this.electionMetrics ??= {
      roles: this.counter('consensus_role_transitions_total', 'Election role transitions, by from and to role.', ['from_role', 'to_role']),
      term: this.gauge('consensus_term', 'The election term this node is in.', true),
    };
    return this.electionMetrics;
  }

  private with(labels: Record<string, string>): Record<string, string> {
    return { ...this.labels, ...labels };
  }

  private names(labelNames: readonly string[]): string[] {
    return [...this.constantLabels, ...labelNames];
  }

  private counter(name: string, help: string, labelNames: readonly string[]): Counter<string> {
    return instrument(this.registry, { kind: 'counter', name: this.prefix + name, help, labelNames: this.names(labelNames) }) as Counter<string>;
  }

  private gauge(name: string, help: string, scraped: boolean): Gauge<string> {
    return instrument(this.registry, { kind: 'gauge', name: this.prefix + name, help, labelNames: this.names([]), readOnScrape: scraped }) as Gauge<string>;
  }

  private histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram<string> {
    return instrument(this.registry, { kind: 'histogram', name: this.prefix + name, help, labelNames: this.names(labelNames), buckets }) as Histogram<string>;
  }
}

/** A new prom-client `Registry`, for engines to share (prom-client is loaded here, not before). */
export function createMetricsRegistry(): Registry<RegistryContentType> {
  return new (prom().Registry)();
}

/** `new EngineMetrics(options)`. */
export function createEngineMetrics(options: EngineMetricsOptions = {}): EngineMetrics {
  return new EngineMetrics(options);
}
