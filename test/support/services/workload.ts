import { commands, queries, type ConflictStrategy, type VectorClock } from '../../../services';
import type { CoordinationPort } from '../../../services/port';
import type { ConsensusClock } from '../../../providers/clock';
import { createSeededRandom, type RandomSource } from '../../../providers/random';
import { BarrierActor, WORKLOAD_BARRIERS, type BarrierSpec } from './barrierWorkload';
import type { ServiceRecorder } from './recorder';

/**
 * Seeded clients of the coordination services, each a sequential loop over
 * the port of the node it is connected to: blind or context-carrying puts of
 * values no one else writes (so a read names the write it saw), linearizable
 * gets, and lock cycles (acquire, fenced writes, release). Every request
 * goes through the recorder. Time is injected: on a simulated clock a whole
 * run is a function of the seed and of what the cluster answers.
 *
 * A holder may stall before a fenced write for longer than its lease, as a
 * paused process does: the fence must then refuse its late write.
 *
 * Optionally, clients also use barriers beside their other operations, and
 * one key lives in a key space whose conflict strategy is set, through the
 * log, before anyone writes.
 */

export interface WorkloadTime {
  now(): number;
  /** Resolves `ms` later on the same clock as `now`. */
  sleep(ms: number): Promise<void>;
}

/** Time on a clock the simulator or XState schedules with, such as `EventClock`. */
export function clockTime(clock: ConsensusClock): WorkloadTime {
  return { now: () => clock.now(), sleep: (ms) => new Promise((resolve) => clock.setTimeout(resolve, ms)) };
}

export type Range = readonly [number, number];

export interface WorkloadOptions {
  readonly seed: number;
  readonly clients: number;
  /** Operations per client; a lock cycle counts as one. */
  readonly opsPerClient: number;
  /** The port of the node client `client` (from 0) talks to. */
  readonly portFor: (client: number) => CoordinationPort;
  readonly time: WorkloadTime;
  readonly recorder: ServiceRecorder;
  /** Keys of blind and context writes; default `k0`…`k2`. Fenced writes go to `<lock>/data`. */
  readonly keys?: readonly string[];
  /** Default one lock, `L0`, so that clients contend for it. */
  readonly locks?: readonly string[];
  /** Relative weights of the operation kinds; default put 4, get 4, lock cycle 2. */
  readonly mix?: { readonly put: number; readonly get: number; readonly lock: number };
  /** Chance that a put carries the clock of the client's last read of its key; default 0.5. */
  readonly contextChance?: number;
  /** Fenced writes per hold; default 1–3. */
  readonly writesPerHold?: Range;
  /** Pause between a client's operations; default 0–40 ms. */
  readonly thinkMs?: Range;
  /** Lease asked for by each acquire; default 400 ms. */
  readonly leaseMs?: number;
  /** Chance that a holder stalls before a fenced write; default 0.15. */
  readonly stallChance?: number;
  /** How long a stall lasts; default 1.5 leases, so that the lease runs out. */
  readonly stallMs?: number;
  /** Each request's deadline, from when it is sent; default 1 s. */
  readonly deadlineMs?: number;
  /** A queued owner polls the lock this often, at most `maxPolls` times, then cancels; default 50 ms, 20. */
  readonly pollMs?: number;
  readonly maxPolls?: number;
  /** Barrier steps per client, run beside its other operations; default none. */
  readonly barrierOps?: number;
  /** The barriers those steps go to; default `WORKLOAD_BARRIERS`. */
  readonly barriers?: readonly BarrierSpec[];
  /** A key space set up before the clients start; its one key, `<prefix>k`, joins the keys written and read. */
  readonly keySpace?: { readonly prefix: string; readonly strategy: ConflictStrategy };
  /** How KV and lock reads are made fresh: through the log (default), by index (`engine.readIndex`), or either at random. */
  readonly readConsistency?: 'linearizable' | 'read-index' | 'mixed';
}

/**
 * Whether a strategy leaves reads the register model can follow: under
 * reject an accepted write has seen every version and replaced them. Keys of
 * the others (siblings, merges) are checked against the log's replay.
 */
export function registerLike(strategy: ConflictStrategy): boolean {
  return strategy === 'last-writer-wins' || strategy === 'reject';
}

/** Tries a few times: an expired attempt may still commit, and setting the same strategy twice changes nothing. */
async function setUpKeySpace(options: WorkloadOptions): Promise<void> {
  const space = options.keySpace;
  if (space === undefined) return;
  const port = options.portFor(0);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const deadline = options.time.now() + (options.deadlineMs ?? 1_000);
    const outcome = await port.submit(commands.setKeySpace(space.prefix, space.strategy), { deadline });
    if (outcome.outcome === 'committed') return;
    await options.time.sleep(200);
  }
}

/** Runs every client to the end of its operations; resolves when all are done. */
export async function runWorkload(options: WorkloadOptions): Promise<void> {
  const random = createSeededRandom(options.seed);
  // A stream per client, so that one client's choices do not shift when another's answers change.
  const streams = Array.from({ length: options.clients }, () => random.fork());
  // Forked after the clients' own streams, so that adding barriers leaves every other choice as it was.
  const barrierStreams = (options.barrierOps ?? 0) > 0 ? streams.map(() => random.fork()) : [];
  const clients = streams.map((stream, client) => new Client(options, client, stream, barrierStreams[client] ?? null));
  await setUpKeySpace(options);
  await Promise.all(clients.map((client) => client.run()));
}

const FENCE_REFUSALS = new Set(['stale_fence_token', 'fence_holder_gone', 'unknown_fence_token']);

class Client {
  private readonly name: string;
  private readonly port: CoordinationPort;
  private readonly keys: readonly string[];
  private readonly locks: readonly string[];
  private readonly leaseMs: number;
  private readonly stallMs: number;
  /** The clock of the last read of each key, for a write that claims to have seen it. */
  private readonly contexts = new Map<string, VectorClock>();
  private written = 0;
  private cycles = 0;
  private readonly barrierActor: BarrierActor | null = null;

  constructor(
    private readonly options: WorkloadOptions,
    client: number,
    private readonly random: RandomSource,
    private readonly barrierRandom: RandomSource | null,
  ) {
    this.name = `c${client}`;
    this.port = options.portFor(client);
    const keys = options.keys ?? ['k0', 'k1', 'k2'];
    this.keys = options.keySpace === undefined ? keys : [...keys, `${options.keySpace.prefix}k`];
    this.locks = options.locks ?? ['L0'];
    this.leaseMs = options.leaseMs ?? 400;
    this.stallMs = options.stallMs ?? Math.round(this.leaseMs * 1.5);
    if (barrierRandom !== null) {
      this.barrierActor = new BarrierActor({
        name: this.name,
        port: this.port,
        recorder: options.recorder,
        random: barrierRandom,
        barriers: options.barriers ?? WORKLOAD_BARRIERS,
        deadline: () => this.deadline(),
        sleep: (ms) => options.time.sleep(ms),
      });
    }
  }

  /** The barrier requests run beside the other operations, as a second thread of the same process would. */
  async run(): Promise<void> {
    await Promise.all([this.operations(), this.barrierSteps()]);
  }

  private async operations(): Promise<void> {
    const mix = this.options.mix ?? { put: 4, get: 4, lock: 2 };
    for (let op = 0; op < this.options.opsPerClient; op += 1) {
      const draw = this.random.integer(1, mix.put + mix.get + mix.lock);
      if (draw <= mix.put) await this.put(this.pick(this.keys));
      else if (draw <= mix.put + mix.get) await this.get(this.pick(this.keys));
      else await this.lockCycle(this.pick(this.locks));
      await this.think();
    }
  }

  private async barrierSteps(): Promise<void> {
    if (this.barrierActor === null || this.barrierRandom === null) return;
    for (let step = 0; step < (this.options.barrierOps ?? 0); step += 1) {
      await this.barrierActor.step();
      const [min, max] = this.options.thinkMs ?? [0, 40];
      await this.options.time.sleep(this.barrierRandom.integer(min, max));
    }
  }

  /** Keys of the set-up key space whose strategy the register model cannot follow. */
  private replayed(key: string): boolean {
    const space = this.options.keySpace;
    return space !== undefined && key.startsWith(space.prefix) && !registerLike(space.strategy);
  }

  /** A value the key's strategy takes (a merge of numbers or arrays refuses anything else), unique across the run as `unique` is. */
  private valueFor(key: string, unique: string): unknown {
    const space = this.options.keySpace;
    if (space === undefined || !key.startsWith(space.prefix)) return unique;
    if (space.strategy === 'merge:max' || space.strategy === 'merge:min') return 100 * this.written + Number(this.name.slice(1));
    if (space.strategy === 'merge:union') return [unique];
    return unique;
  }

  private get recorder(): ServiceRecorder {
    return this.options.recorder;
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.random.integer(0, items.length - 1)];
  }

  private between([min, max]: Range): number {
    return this.random.integer(min, max);
  }

  private async think(): Promise<void> {
    const pause = this.between(this.options.thinkMs ?? [0, 40]);
    if (pause > 0) await this.options.time.sleep(pause);
  }

  private deadline(): { deadline: number } {
    return { deadline: this.options.time.now() + (this.options.deadlineMs ?? 1_000) };
  }

  /** Values are unique across the run, so a read tells which write it saw. */
  private nextValue(): string {
    this.written += 1;
    return `${this.name}.${this.written}`;
  }

  private async put(key: string): Promise<void> {
    const value = this.nextValue();
    const context = this.random.fraction() < (this.options.contextChance ?? 0.5) ? this.contexts.get(key) : undefined;
    const written = this.valueFor(key, value);
    const done = this.replayed(key) ? this.recorder.replayedPut(this.name, key, written) : this.recorder.put(this.name, key, value);
    done(await this.port.submit(commands.put(key, written, { writer: this.name, context }), this.deadline()));
  }

  private readConsistency(): 'linearizable' | 'read-index' {
    const asked = this.options.readConsistency ?? 'linearizable';
    if (asked !== 'mixed') return asked;
    return this.random.fraction() < 0.5 ? 'read-index' : 'linearizable';
  }

  private async get(key: string): Promise<void> {
    const done = this.replayed(key) ? this.recorder.replayedGet(this.name, key) : this.recorder.get(this.name, key);
    const seen = done(await this.port.query(queries.get(key), { consistency: this.readConsistency(), ...this.deadline() }));
    if (seen.kind === 'value' && seen.clock !== undefined) this.contexts.set(key, seen.clock);
  }

  /**
   * Acquire, a few fenced writes, release. Each cycle has an owner name of its
   * own, so a hold left behind by an unanswered request (it expires with its
   * lease) is never taken for a later cycle's.
   */
  private async lockCycle(lock: string): Promise<void> {
    this.cycles += 1;
    const owner = `${this.name}/${this.cycles}`;
    const token = await this.acquire(lock, owner);
    if (token === null) return;
    const writes = this.between(this.options.writesPerHold ?? [1, 3]);
    for (let write = 0; write < writes; write += 1) {
      if (this.random.fraction() < (this.options.stallChance ?? 0.15)) await this.options.time.sleep(this.stallMs);
      const value = this.nextValue();
      const key = `${lock}/data`;
      const done = this.recorder.put(this.name, key, value, { owner, lock, token });
      const seen = done(await this.port.submit(commands.put(key, value, { writer: this.name, fence: { lock, token } }), this.deadline()));
      // The hold is gone: nothing of it is left to write under or to release.
      if (seen.kind === 'refused' && FENCE_REFUSALS.has(seen.code)) return;
    }
    const done = this.recorder.release(this.name, owner, lock, token);
    done(await this.port.submit(commands.release(lock, owner, token), this.deadline()));
  }

  /** The token of a grant, waiting in the queue for it if need be; null when the cycle gives up. */
  private async acquire(lock: string, owner: string): Promise<number | null> {
    const done = this.recorder.acquire(this.name, owner, lock);
    const seen = done(await this.port.submit(commands.acquire(lock, owner, { leaseMs: this.leaseMs }), this.deadline()));
    if (seen.kind === 'granted') return seen.token;
    if (seen.kind !== 'queued') return null;
    const maxPolls = this.options.maxPolls ?? 20;
    for (let poll = 0; poll < maxPolls; poll += 1) {
      await this.options.time.sleep(this.options.pollMs ?? 50);
      const token = await this.pollHolder(lock, owner);
      if (token !== null) return token;
    }
    const cancel = this.recorder.cancel(this.name, owner, lock);
    const cancelled = cancel(await this.port.submit(commands.cancel(lock, owner), this.deadline()));
    // Granted between the last poll and the cancel: the hold is this owner's to use.
    if (cancelled.kind === 'refused' && cancelled.code === 'not_waiting') return this.pollHolder(lock, owner);
    return null;
  }

  private async pollHolder(lock: string, owner: string): Promise<number | null> {
    const done = this.recorder.holder(this.name, owner, lock);
    const seen = done(await this.port.query(queries.lock(lock), { consistency: this.readConsistency(), ...this.deadline() }));
    return seen.kind === 'held' ? seen.token : null;
  }
}
