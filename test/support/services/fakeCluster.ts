import { commands, CoordinationState } from '../../../services';
import type { Consistency, CoordinationPort, QueryOutcome, SubmitOutcome } from '../../../services/port';
import { createSeededRandom, type RandomSource } from '../../../providers/random';
import type { EventClock } from '../../../simulator/EventClock';
import { SLOTS_PER_ENTRY } from '../../../services/host';
import type { CommittedEntry, LoggedCommands } from './committedLog';

/**
 * A stand-in for a cluster behind `CoordinationPort`s, for testing the
 * checkers before the simulator serves the real thing: one commit order,
 * replicas of `CoordinationState` that apply it each at its own lag, on the
 * simulator's discrete-event clock, with seeded latency and lost answers.
 * A node answers a command once its own replica has applied it, and a
 * linearizable read once its replica reaches the read's place in the log.
 *
 * Two rules can be broken on purpose, so that a test can show that the
 * checkers notice: `reads: 'local'` answers linearizable reads from the
 * node's replica as it stands (stale on a lagging one); `fencing: 'off'`
 * strips the fence from writes before they are applied, so a holder whose
 * lease ran out while it was stalled still writes.
 */

export interface FakeClusterRules {
  /** `log` (correct): through the commit order. `local`: from the node's replica at once. */
  readonly reads?: 'log' | 'local';
  /** `checked` (correct): fences are checked against the lock table. `off`: fences are stripped. */
  readonly fencing?: 'checked' | 'off';
}

export interface FakeClusterOptions {
  readonly clock: EventClock;
  readonly seed: number;
  /** Replicas, one per node; default 3. */
  readonly nodes?: number;
  /** Per node, how long after an entry commits its replica applies it; default 0 each. */
  readonly lagMs?: readonly number[];
  /** From a request to its place in the commit order, drawn per request; default 2–30 ms. */
  readonly commitMs?: readonly [number, number];
  /** Chance that a command is lost before it is ordered: its client hears `expired`; default 0. */
  readonly lossChance?: number;
  /** Chance that a command commits but its answer is lost: `expired` too; default 0. */
  readonly silenceChance?: number;
  /** Chance that a node refuses a command before consensus: `aborted`; default 0. */
  readonly abortChance?: number;
  /** A request without a deadline gives up this long after it was made; default 2 s. */
  readonly defaultTimeoutMs?: number;
  /** An empty entry this often, whose time expires leases while no client writes; default 100 ms. */
  readonly tickEveryMs?: number;
  readonly rules?: FakeClusterRules;
}

/** A log entry: its time, and the command or read it carries (a tick of the clock carries nothing). */
interface Entry {
  readonly index: number;
  readonly time: number;
  readonly carried:
    | { readonly kind: 'command'; readonly command: unknown; readonly applied: unknown }
    | { readonly kind: 'read'; readonly query: unknown }
    | null;
}

interface Replica {
  readonly state: CoordinationState;
  /** The index of the last entry applied, 0 before any; entries are numbered from 1 with no gaps. */
  appliedIndex: number;
  timer: unknown;
  timerAt: number;
  /** Answers waiting for this replica to reach an entry, by index. */
  readonly waiting: Map<number, Waiter['answer']>;
}

/** A client's request waiting for its node's replica to reach the request's entry. */
interface Waiter {
  readonly node: number;
  /** `result`: the command's result, or the read's answer. */
  readonly answer: (entry: Entry, result: unknown) => unknown;
}

/**
 * Applies an entry as `CoordinationHost` does: its time first, as a tick at
 * the entry's first position, then what it carries. Returns the tick's and
 * the command's results (a read is answered, not applied).
 */
function applyEntry(state: CoordinationState, entry: Entry): { tick: unknown; result: unknown } {
  const slot = entry.index * SLOTS_PER_ENTRY;
  const tick = state.apply(commands.tick(), { index: slot, time: entry.time });
  const { carried } = entry;
  if (carried === null) return { tick, result: undefined };
  if (carried.kind === 'read') return { tick, result: state.query(carried.query) };
  return { tick, result: state.apply(carried.applied, { index: slot + 1, time: entry.time }) };
}

/** The command as the broken rule applies it: without its fence, so any token is taken. */
function withoutFence(command: unknown): unknown {
  if (typeof command !== 'object' || command === null || !('fence' in command)) return command;
  const { fence: _dropped, ...rest } = command as Record<string, unknown>;
  return rest;
}

export class FakeCluster {
  private readonly clock: EventClock;
  private readonly random: RandomSource;
  private readonly lags: number[];
  private readonly commitMs: readonly [number, number];
  private readonly reads: 'log' | 'local';
  private readonly fencing: 'checked' | 'off';
  private readonly authority = new CoordinationState();
  private readonly entries: Entry[] = [];
  /** What the authority answered each entry, for every replica to agree with. */
  private readonly answers: string[] = [];
  private readonly log: CommittedEntry[] = [];
  private readonly replicas: Replica[];
  private ticker: unknown = null;

  constructor(private readonly options: FakeClusterOptions) {
    const nodes = options.nodes ?? 3;
    this.clock = options.clock;
    this.random = createSeededRandom(options.seed);
    this.lags = Array.from({ length: nodes }, (_, node) => options.lagMs?.[node] ?? 0);
    this.commitMs = options.commitMs ?? [2, 30];
    this.reads = options.rules?.reads ?? 'log';
    this.fencing = options.rules?.fencing ?? 'checked';
    this.replicas = Array.from({ length: nodes }, () => ({
      state: new CoordinationState(),
      appliedIndex: 0,
      timer: null,
      timerAt: Number.POSITIVE_INFINITY,
      waiting: new Map(),
    }));
    this.scheduleTick();
  }

  get nodes(): number {
    return this.replicas.length;
  }

  /** What a client connected to `node` talks to. */
  port(node: number): CoordinationPort {
    if (!Number.isInteger(node) || node < 0 || node >= this.replicas.length) throw new RangeError(`no node ${node}`);
    return {
      submit: (command, options = {}) => this.submit(node, command, options.deadline),
      query: (query, options = {}) => this.query(node, query, options.consistency ?? 'linearizable', options.deadline),
    };
  }

  /** A node's replica falls further behind (or catches up) from now on. */
  setLag(node: number, ms: number): void {
    this.lags[node] = ms;
    const replica = this.replicas[node];
    if (replica.timer !== null) this.clock.clearTimeout(replica.timer);
    replica.timer = null;
    replica.timerAt = Number.POSITIVE_INFINITY;
    this.wake(node);
  }

  /** Every command applied, each entry's tick included, in order, with the results the cluster gave. */
  committed(): readonly CommittedEntry[] {
    return this.log;
  }

  /** The log as a node keeps it: each entry's commands as clients sent them (reads and ticks carry none). */
  logged(): LoggedCommands[] {
    return this.entries.map(({ index, time, carried }) => ({ index, time, commands: carried?.kind === 'command' ? [carried.command] : [] }));
  }

  /** The index of the last entry `node`'s replica has applied. */
  appliedIndex(node: number): number {
    return this.replicas[node].appliedIndex;
  }

  /** Ends the ticks, so that the clock runs dry once the last requests are answered. */
  stop(): void {
    if (this.ticker !== null) this.clock.clearTimeout(this.ticker);
    this.ticker = null;
  }

  private scheduleTick(): void {
    const every = this.options.tickEveryMs ?? 100;
    this.ticker = this.clock.setTimeout(() => {
      this.order(null);
      this.scheduleTick();
    }, every);
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random.fraction() < p;
  }

  private submit(node: number, command: unknown, deadline: number | undefined): Promise<SubmitOutcome> {
    if (this.chance(this.options.abortChance)) return Promise.resolve({ outcome: 'aborted', reason: 'refused by the node (fake cluster)' });
    const lost = this.chance(this.options.lossChance);
    const silent = this.chance(this.options.silenceChance);
    return this.request<SubmitOutcome>(deadline, (answer) => {
      if (lost) return;
      this.clock.setTimeout(() => {
        const waiter: Waiter = {
          node,
          answer: (entry, result) => answer({ outcome: 'committed', index: entry.index, result }),
        };
        const applied = this.fencing === 'off' ? withoutFence(command) : command;
        this.order({ kind: 'command', command, applied }, silent ? undefined : waiter);
      }, this.latency());
    });
  }

  private query(node: number, query: unknown, consistency: Consistency, deadline: number | undefined): Promise<QueryOutcome> {
    const replica = this.replicas[node];
    if (consistency === 'stale' || this.reads === 'local') {
      return Promise.resolve({ outcome: 'answered', index: replica.appliedIndex, answer: replica.state.query(query) });
    }
    return this.request<QueryOutcome>(deadline, (answer) => {
      this.clock.setTimeout(() => {
        const waiter: Waiter = {
          node,
          answer: (entry, result) => answer({ outcome: 'answered', index: entry.index, answer: result }),
        };
        this.order({ kind: 'read', query }, waiter);
      }, this.latency());
    });
  }

  /** A request that gives up at its deadline; `start` sets it going and may answer it. */
  private request<T extends SubmitOutcome | QueryOutcome>(deadline: number | undefined, start: (answer: (outcome: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve) => {
      let settled = false;
      const due = deadline ?? this.clock.now() + (this.options.defaultTimeoutMs ?? 2_000);
      const timer = this.clock.setTimeout(
        () => {
          if (settled) return;
          settled = true;
          resolve({ outcome: 'expired' } as T);
        },
        Math.max(0, due - this.clock.now()),
      );
      start((outcome) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  private latency(): number {
    return this.random.integer(this.commitMs[0], this.commitMs[1]);
  }

  /**
   * Commits the next entry, now. The waiter is in place before any replica
   * moves: one with no lag applies the entry at once.
   */
  private order(carried: Entry['carried'], waiter?: Waiter): void {
    const entry: Entry = { index: this.entries.length + 1, time: this.clock.now(), carried };
    const { tick, result } = applyEntry(this.authority, entry);
    const { index, time } = entry;
    this.log.push({ index, time, command: commands.tick(), result: tick });
    if (carried?.kind === 'command') this.log.push({ index, time, command: carried.command, result });
    this.entries.push(entry);
    this.answers.push(JSON.stringify({ tick, result: carried?.kind === 'command' ? result : undefined }));
    if (waiter !== undefined) this.replicas[waiter.node].waiting.set(index, waiter.answer);
    this.replicas.forEach((_, node) => this.wake(node));
  }

  /** Applies what is due on `node`'s replica, or sets a timer for when the next entry will be. */
  private wake(node: number): void {
    const replica = this.replicas[node];
    const next = this.entries[replica.appliedIndex];
    if (next === undefined) return;
    const due = next.time + this.lags[node];
    if (due <= this.clock.now()) {
      this.catchUp(node);
      return;
    }
    if (replica.timer !== null && replica.timerAt <= due) return;
    if (replica.timer !== null) this.clock.clearTimeout(replica.timer);
    replica.timerAt = due;
    replica.timer = this.clock.setTimeout(() => {
      replica.timer = null;
      replica.timerAt = Number.POSITIVE_INFINITY;
      this.catchUp(node);
    }, due - this.clock.now());
  }

  private catchUp(node: number): void {
    const replica = this.replicas[node];
    for (;;) {
      const entry = this.entries[replica.appliedIndex];
      if (entry === undefined || entry.time + this.lags[node] > this.clock.now()) break;
      const { tick, result } = applyEntry(replica.state, entry);
      const answers = JSON.stringify({ tick, result: entry.carried?.kind === 'command' ? result : undefined });
      // The services are deterministic: a replica that disagrees is a bug in them, not a fault to simulate.
      if (answers !== this.answers[entry.index - 1]) {
        throw new Error(`node ${node} applied entry ${entry.index} as ${answers}, the log as ${this.answers[entry.index - 1]}`);
      }
      replica.appliedIndex = entry.index;
      const waiting = replica.waiting.get(entry.index);
      replica.waiting.delete(entry.index);
      waiting?.(entry, result);
    }
    if (replica.timer === null) this.wake(node);
  }
}
