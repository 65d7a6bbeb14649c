import { createActor, SimulatedClock } from 'xstate';
import {
  createElectionMachine,
  type ElectionActor,
  type ElectionEmitted,
  type ElectionMachine,
  type ElectionRole,
} from '../../machines/election.machine';
import {
  toElectionEvent,
  type ElectionMessage,
  type ElectionTiming,
  type LogPosition,
} from '../../machines/election.schemas';
import { createSeededRandom, type RandomSource } from '../../providers/random';
import { InMemoryElectionStorage } from '../../providers/storage';

/**
 * A small deterministic world for election tests: N election actors, a
 * message bus with latency, drops and partitions, and one `SimulatedClock`
 * for all of them. One seed reproduces a whole run.
 */

/** Lets invoked promise actors (storage saves and loads) deliver their results. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Moves simulated time forward in small steps, settling promises after each. */
export async function advance(clock: SimulatedClock, ms: number, step = 1): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    clock.increment(Math.min(step, ms - elapsed));
    await flushMicrotasks();
  }
}

export interface Sent {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly message: ElectionMessage;
}

export interface ClusterOptions {
  readonly seed: number;
  readonly size?: number;
  readonly timing?: Partial<ElectionTiming>;
  readonly preVote?: boolean;
  /** One-way message latency in ms, drawn uniformly per message. */
  readonly latency?: { readonly min: number; readonly max: number };
  /** Probability that any one message is lost. */
  readonly dropRate?: number;
  readonly logPositions?: Readonly<Record<string, LogPosition>>;
  /** Replaces parts of every node's machine, e.g. a guard, to check that the safety checks can fail. */
  readonly sabotage?: (machine: ElectionMachine) => ElectionMachine;
}

export interface SafetyViolation {
  readonly kind: 'two_leaders_in_term' | 'two_votes_in_term';
  readonly detail: string;
}

export class Cluster {
  readonly clock = new SimulatedClock();
  readonly ids: readonly string[];
  readonly storage = new Map<string, InMemoryElectionStorage>();
  readonly sent: Sent[] = [];
  readonly violations: SafetyViolation[] = [];
  /** Every node that became leader, by term. */
  readonly leadersByTerm = new Map<number, Set<string>>();
  /** Terms in which some node became candidate, by term. */
  readonly candidacies = new Map<number, Set<string>>();
  readonly roleChanges: { at: number; id: string; from: ElectionRole; to: ElectionRole; term: number }[] = [];

  private readonly actors = new Map<string, ElectionActor>();
  private readonly root: RandomSource;
  private readonly network: RandomSource;
  /** Directed links that lose every message, as "from>to". */
  private readonly cut = new Set<string>();
  /** Real (non-pre-) votes granted, as node -> term -> candidate; survives restarts. */
  private readonly grants = new Map<string, Map<number, string>>();
  private readonly latency: { min: number; max: number };

  constructor(private readonly options: ClusterOptions) {
    const size = options.size ?? 3;
    this.ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    this.root = createSeededRandom(options.seed);
    this.network = this.root.fork();
    this.latency = options.latency ?? { min: 1, max: 5 };
    for (const id of this.ids) this.storage.set(id, new InMemoryElectionStorage());
  }

  /** Creates (or re-creates, after a crash) the actor for `id` and starts it. */
  boot(id: string): ElectionActor {
    if (this.actors.has(id)) throw new Error(`${id} is already running`);
    const built = createElectionMachine({ storage: this.storage.get(id)!, random: this.root.fork() });
    const machine = this.options.sabotage ? this.options.sabotage(built) : built;
    const actor = createActor(machine, {
      clock: this.clock,
      input: {
        id,
        peers: this.ids.filter((peer) => peer !== id),
        timing: this.options.timing,
        preVote: this.options.preVote,
        logPosition: this.options.logPositions?.[id],
      },
    });
    actor.on('*', (event) => this.observe(id, event as ElectionEmitted));
    this.actors.set(id, actor);
    actor.start();
    actor.send({ type: 'start' });
    return actor;
  }

  bootAll(): void {
    for (const id of this.ids) this.boot(id);
  }

  /** A crash: the actor is gone, its storage stays. */
  crash(id: string): void {
    const actor = this.actor(id);
    actor.stop();
    this.actors.delete(id);
  }

  isRunning(id: string): boolean {
    return this.actors.has(id);
  }

  actor(id: string): ElectionActor {
    const actor = this.actors.get(id);
    if (!actor) throw new Error(`${id} is not running`);
    return actor;
  }

  role(id: string): ElectionRole {
    return this.actor(id).getSnapshot().context.role;
  }

  term(id: string): number {
    return this.actor(id).getSnapshot().context.term;
  }

  /** Running nodes whose role is leader right now. */
  leaders(): string[] {
    return this.ids.filter((id) => this.actors.has(id) && this.role(id) === 'leader');
  }

  /** Cuts both directions between every pair of groups; links inside a group stay. */
  partition(...groups: readonly (readonly string[])[]): void {
    this.heal();
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
      }
    }
  }

  isolate(id: string): void {
    this.partition(
      [id],
      this.ids.filter((other) => other !== id),
    );
  }

  heal(): void {
    this.cut.clear();
  }

  advance(ms: number): Promise<void> {
    return advance(this.clock, ms);
  }

  /** Advances until `predicate` holds, up to `limitMs`; returns the time it took, or null. */
  async advanceUntil(predicate: () => boolean, limitMs: number): Promise<number | null> {
    const start = this.clock.now();
    while (this.clock.now() - start < limitMs) {
      if (predicate()) return this.clock.now() - start;
      await this.advance(1);
    }
    return predicate() ? this.clock.now() - start : null;
  }

  private observe(id: string, event: ElectionEmitted): void {
    switch (event.type) {
      case 'outbound':
        this.transmit(id, event.to, event.message);
        return;
      case 'role_changed':
        this.roleChanges.push({ at: this.clock.now(), id, from: event.from, to: event.to, term: event.term });
        if (event.to === 'leader') this.noteLeader(id, event.term);
        if (event.to === 'candidate') this.setFor(this.candidacies, event.term).add(id);
        return;
      default:
        return;
    }
  }

  private noteLeader(id: string, term: number): void {
    const leaders = this.setFor(this.leadersByTerm, term);
    leaders.add(id);
    if (leaders.size > 1) {
      this.violations.push({ kind: 'two_leaders_in_term', detail: `term ${term}: ${[...leaders].join(', ')}` });
    }
  }

  private noteGrant(voter: string, term: number, candidate: string): void {
    let byTerm = this.grants.get(voter);
    if (!byTerm) this.grants.set(voter, (byTerm = new Map()));
    const earlier = byTerm.get(term);
    if (earlier !== undefined && earlier !== candidate) {
      this.violations.push({ kind: 'two_votes_in_term', detail: `${voter} in term ${term}: ${earlier}, then ${candidate}` });
    }
    byTerm.set(term, candidate);
  }

  private transmit(from: string, to: string, message: ElectionMessage): void {
    const at = this.clock.now();
    this.sent.push({ at, from, to, message });
    if (message.type === 'request_vote_response' && message.granted && !message.preVote) {
      this.noteGrant(from, message.term, to);
    }
    if (this.cut.has(`${from}>${to}`)) return;
    if (this.options.dropRate !== undefined && this.network.fraction() < this.options.dropRate) return;
    // Through JSON, as over a real wire, so every delivery exercises the schemas.
    const wire = JSON.stringify(message);
    const delay = this.network.integer(this.latency.min, this.latency.max);
    this.clock.setTimeout(() => {
      const target = this.actors.get(to);
      if (target) target.send(toElectionEvent(from, JSON.parse(wire)));
    }, delay);
  }

  private setFor<K>(map: Map<K, Set<string>>, key: K): Set<string> {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    return set;
  }
}

/** One node driven by hand: the test plays every peer. */
export interface SoloNode {
  readonly actor: ElectionActor;
  readonly clock: SimulatedClock;
  readonly storage: InMemoryElectionStorage;
  /** Everything the node emitted, in order, with the simulated time. */
  readonly emitted: { at: number; event: ElectionEmitted }[];
  outbound(): Sent[];
  /** Outbound messages emitted since the last call. */
  takeOutbound(): Sent[];
  deliver(from: string, message: ElectionMessage): Promise<void>;
  advance(ms: number): Promise<void>;
  /** Advances 1 ms at a time until the node has `role`; throws after `limitMs`. */
  advanceUntilRole(role: ElectionRole, limitMs?: number): Promise<void>;
  role(): ElectionRole;
}

export interface SoloOptions {
  readonly id?: string;
  readonly peers?: readonly string[];
  readonly seed?: number;
  readonly storage?: InMemoryElectionStorage;
  readonly clock?: SimulatedClock;
  readonly timing?: Partial<ElectionTiming>;
  readonly preVote?: boolean;
  readonly logPosition?: LogPosition;
  /** Leave the node stopped (no `start` sent). */
  readonly stopped?: boolean;
}

export const SOLO_SEED = 7;

/** The election timeouts a solo node with `seed` will draw, in order. */
export function expectedTimeouts(seed: number, count: number, min = 150, max = 300): number[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, () => random.integer(min, max));
}

export async function solo(options: SoloOptions = {}): Promise<SoloNode> {
  const clock = options.clock ?? new SimulatedClock();
  const storage = options.storage ?? new InMemoryElectionStorage();
  const id = options.id ?? 'n1';
  const machine = createElectionMachine({ storage, random: createSeededRandom(options.seed ?? SOLO_SEED) });
  const actor = createActor(machine, {
    clock,
    input: {
      id,
      peers: options.peers ?? ['n2', 'n3'],
      timing: options.timing,
      preVote: options.preVote,
      logPosition: options.logPosition,
    },
  });
  const emitted: { at: number; event: ElectionEmitted }[] = [];
  actor.on('*', (event) => emitted.push({ at: clock.now(), event: event as ElectionEmitted }));
  actor.start();
  if (!options.stopped) {
    actor.send({ type: 'start' });
    await flushMicrotasks();
  }
  let taken = 0;
  const outbound = (): Sent[] =>
    emitted.flatMap(({ at, event }) =>
      event.type === 'outbound' ? [{ at, from: id, to: event.to, message: event.message }] : [],
    );
  return {
    actor,
    clock,
    storage,
    emitted,
    outbound,
    takeOutbound() {
      const all = outbound();
      const fresh = all.slice(taken);
      taken = all.length;
      return fresh;
    },
    async deliver(from, message) {
      actor.send(toElectionEvent(from, message));
      await flushMicrotasks();
    },
    advance: (ms) => advance(clock, ms),
    role: () => actor.getSnapshot().context.role,
    async advanceUntilRole(role, limitMs = 1000) {
      for (let waited = 0; actor.getSnapshot().context.role !== role; waited += 1) {
        if (waited >= limitMs) throw new Error(`still ${actor.getSnapshot().context.role} after ${limitMs} ms`);
        await advance(clock, 1);
      }
    },
  };
}

/**
 * Takes a solo node of a three-node cluster through pre-vote and vote to
 * leadership, playing `n2` as the peer that grants both.
 */
export async function electSolo(node: SoloNode): Promise<void> {
  await node.advanceUntilRole('pre_candidate');
  const term = node.actor.getSnapshot().context.term + 1;
  await node.deliver('n2', { type: 'request_vote_response', preVote: true, term, granted: true });
  await node.deliver('n2', { type: 'request_vote_response', preVote: false, term, granted: true });
  if (node.role() !== 'leader') throw new Error(`expected leader, got ${node.role()}`);
}

/**
 * A storage whose saves wait while the gate is closed: a slow disk under test
 * control. Starts closed; `open()` lets every waiting and later save through.
 */
export function gatedStorage(initial?: { term: number; votedFor: string | null }): {
  storage: InMemoryElectionStorage;
  open(): Promise<void>;
  close(): void;
} {
  let release: () => void = () => undefined;
  let gate: Promise<void> = new Promise<void>((resolve) => (release = resolve));
  const storage = new InMemoryElectionStorage(initial ?? null, { beforeSave: () => gate });
  return {
    storage,
    async open() {
      release();
      await flushMicrotasks();
    },
    close() {
      gate = new Promise<void>((resolve) => (release = resolve));
    },
  };
}
