import {
  BarrierCommandSchema,
  BarrierQuerySchema,
  BarrierSnapshotSchema,
  DEFAULT_BARRIER_TIMEOUT_MS,
  MAX_BARRIERS,
  MAX_PARTICIPANTS,
  requiredArrivals,
  type BarrierCommand,
  type BarrierEndReason,
  type BarrierEnding,
  type BarrierErrorCode,
  type BarrierEvent,
  type BarrierOutcome,
  type BarrierStatus,
  type BarrierView,
} from './barrierCommands';
import type { JsonValue } from './plainJson';
import { describeIssues } from './schemas';
import { ServiceMachine, type Prepared, type Restoring, type ServiceCore } from './serviceMachine';
import { refuse, type Accepted, type AppliedAt, type Answered, type QueryErrorCode, type Refusal, type Validated } from './stateMachine';

/**
 * Barriers as a replicated state machine. A barrier is cyclic: its
 * participants arrive for a generation, and the generation ends (released,
 * or failed on a timeout) as a whole, after which the next one begins. Full,
 * partial and timed barriers are one mechanism with a threshold and a
 * deadline; a cascading barrier is a stage that follows another.
 *
 * Stages run in lockstep, one generation apart at most: stage k+1 opens
 * generation g once stage k has released g, and stage k opens g+1 only once
 * every stage after it has finished g. A failure of g runs down the chain, so
 * a later stage never waits for a generation that cannot come. With at most
 * one generation between neighbours, each stage needs to remember only how
 * its last generation ended.
 */

interface BarrierRecord {
  /** Sorted, so that the order participants joined in does not show in snapshots. */
  readonly participants: readonly string[];
  readonly threshold: number;
  readonly timeoutMs: number | null;
  readonly onTimeout: 'fail' | 'release';
  readonly after: string | null;
  readonly generation: number;
  readonly arrived: readonly string[];
  /** When the current generation opened; null while it waits for its neighbours. */
  readonly openedAt: number | null;
  readonly last: BarrierEnding | null;
}

export type BarrierValue =
  | BarrierStatus
  | { readonly barrier: string; readonly generation: number; readonly open: boolean; readonly required: number }
  | { readonly status: 'deleted' }
  | null;
export type BarrierResult = Accepted<BarrierValue, BarrierEvent>;
export type BarrierAnswer = Answered<BarrierView | { readonly barriers: readonly BarrierView[] }> | Refusal<'unknown_barrier'>;

type Outcome<V> = { readonly ok: true; readonly value: V } | Refusal<BarrierErrorCode>;

function taken<V>(value: V): Outcome<V> {
  return { ok: true, value };
}

function sortedNames(names: Iterable<string>): string[] {
  return [...names].sort();
}

function successorsOf(board: ReadonlyMap<string, BarrierRecord>, name: string): string[] {
  return sortedNames([...board].filter(([, record]) => record.after === name).map(([stage]) => stage));
}

/**
 * Whether a barrier's current generation may take arrivals: its previous
 * stage has released this generation, and every next stage has finished the
 * one before. A failed generation of the previous stage never leaves this
 * stage waiting on it: the failure has run down the chain already.
 */
function openable(board: ReadonlyMap<string, BarrierRecord>, name: string): boolean {
  const record = board.get(name)!;
  if (record.after !== null && board.get(record.after)!.generation <= record.generation) return false;
  return successorsOf(board, name).every((stage) => board.get(stage)!.generation >= record.generation);
}

function freezeRecord(record: BarrierRecord): BarrierRecord {
  return Object.freeze({
    ...record,
    participants: Object.freeze([...record.participants]),
    arrived: Object.freeze([...record.arrived]),
    last: record.last === null ? null : Object.freeze({ ...record.last }),
  });
}

function requiredOf(record: BarrierRecord): number {
  return requiredArrivals(record.threshold, record.participants.length);
}

function viewOf(barrier: string, record: BarrierRecord): BarrierView {
  const open = record.openedAt !== null;
  return {
    barrier,
    participants: record.participants,
    threshold: record.threshold,
    required: requiredOf(record),
    timeoutMs: record.timeoutMs,
    onTimeout: record.onTimeout,
    after: record.after,
    generation: record.generation,
    open,
    arrived: record.arrived,
    deadline: open && record.timeoutMs !== null ? record.openedAt! + record.timeoutMs : null,
    last: record.last,
  };
}

/**
 * The barriers as one command leaves them, built on a copy: first every
 * deadline the entry's time has passed, then the command, then every
 * generation that may open now. Records are replaced, never changed.
 */
export class BarrierDraft {
  readonly events: BarrierEvent[] = [];
  private readonly barriers: Map<string, BarrierRecord>;

  constructor(
    base: ReadonlyMap<string, BarrierRecord>,
    readonly time: number,
  ) {
    this.barriers = new Map(base);
    this.expireDeadlines();
    this.openReady();
  }

  get board(): ReadonlyMap<string, BarrierRecord> {
    return this.barriers;
  }

  run(command: BarrierCommand): Outcome<BarrierValue> {
    const outcome = this.dispatch(command);
    if (outcome.ok) this.openReady();
    return outcome;
  }

  private dispatch(command: BarrierCommand): Outcome<BarrierValue> {
    switch (command.op) {
      case 'create':
        return this.create(command);
      case 'delete':
        return this.remove(command.barrier);
      case 'join':
        return this.join(command.barrier, command.participant);
      case 'leave':
        return this.leave(command.barrier, command.participant);
      case 'arrive':
        return this.arrive(command.barrier, command.participant, command.generation);
      case 'tick':
        return taken(null);
    }
  }

  /** Barriers are looked at in name order, so the events of one entry come out the same on every replica. */
  private expireDeadlines(): void {
    for (const name of sortedNames(this.barriers.keys())) {
      const record = this.barriers.get(name)!;
      if (record.openedAt === null || record.timeoutMs === null) continue;
      if (this.time < record.openedAt + record.timeoutMs) continue;
      this.finish(name, record.onTimeout === 'release' ? 'released' : 'failed', 'timeout');
    }
  }

  /** A generation that opens here starts its deadline at this entry's time. */
  private openReady(): void {
    for (const name of sortedNames(this.barriers.keys())) {
      const record = this.barriers.get(name)!;
      if (record.openedAt !== null || !openable(this.barriers, name)) continue;
      this.put(name, { ...record, openedAt: this.time });
      const deadline = record.timeoutMs === null ? null : this.time + record.timeoutMs;
      this.events.push({ type: 'barrier_opened', barrier: name, generation: record.generation, deadline });
    }
  }

  /**
   * Ends the current generation and begins the next, closed until
   * `openReady` finds its neighbours ready; a failure ends the same
   * generation of every later stage waiting for it.
   */
  private finish(name: string, outcome: BarrierOutcome, reason: BarrierEndReason): void {
    const record = this.barriers.get(name)!;
    const generation = record.generation;
    const type = outcome === 'released' ? 'barrier_released' : 'barrier_failed';
    this.events.push({ type, barrier: name, generation, reason, arrived: record.arrived });
    this.put(name, {
      ...record,
      generation: generation + 1,
      arrived: [],
      openedAt: null,
      last: Object.freeze({ generation, outcome, reason, at: this.time }),
    });
    if (outcome === 'released') return;
    for (const stage of successorsOf(this.barriers, name)) {
      if (this.barriers.get(stage)!.generation === generation) this.finish(stage, 'failed', 'predecessor_failed');
    }
  }

  /** Records are frozen: views, events and snapshots hand them out as they are. */
  private put(name: string, record: BarrierRecord): void {
    this.barriers.set(name, freezeRecord(record));
  }

  private create(command: Extract<BarrierCommand, { op: 'create' }>): Outcome<BarrierValue> {
    const { barrier } = command;
    if (this.barriers.has(barrier)) return refuse('barrier_exists', `barrier ${JSON.stringify(barrier)} exists already`);
    if (this.barriers.size >= MAX_BARRIERS) return refuse('too_many_barriers', `${MAX_BARRIERS} barriers exist already`);
    const after = command.after ?? null;
    const previous = after === null ? undefined : this.barriers.get(after);
    if (after !== null && previous === undefined) {
      return refuse('unknown_barrier', `barrier ${JSON.stringify(barrier)} cannot follow ${JSON.stringify(after)}, which does not exist`);
    }
    // A new stage joins the pipeline at the generation its previous stage is working on.
    const record: BarrierRecord = {
      participants: sortedNames(command.participants),
      threshold: command.threshold ?? 1,
      timeoutMs: command.timeoutMs === undefined ? DEFAULT_BARRIER_TIMEOUT_MS : command.timeoutMs,
      onTimeout: command.onTimeout ?? 'fail',
      after,
      generation: previous?.generation ?? 1,
      arrived: [],
      openedAt: null,
      last: null,
    };
    this.put(barrier, record);
    this.openReady();
    const created = this.barriers.get(barrier)!;
    return taken({ barrier, generation: created.generation, open: created.openedAt !== null, required: requiredOf(created) });
  }

  private existing(name: string): { ok: true; record: BarrierRecord } | Refusal<BarrierErrorCode> {
    const record = this.barriers.get(name);
    return record === undefined ? refuse('unknown_barrier', `barrier ${JSON.stringify(name)} does not exist`) : { ok: true, record };
  }

  private remove(name: string): Outcome<BarrierValue> {
    const found = this.existing(name);
    if (!found.ok) return found;
    const stages = successorsOf(this.barriers, name);
    if (stages.length > 0) {
      const named = stages.map((stage) => JSON.stringify(stage)).join(', ');
      return refuse('has_successors', `barrier ${JSON.stringify(name)} is followed by ${named}`);
    }
    this.barriers.delete(name);
    this.events.push({ type: 'barrier_deleted', barrier: name, generation: found.record.generation });
    return taken({ status: 'deleted' });
  }

  private status(record: BarrierRecord): BarrierStatus {
    return { status: 'waiting', generation: record.generation, arrived: record.arrived.length, required: requiredOf(record) };
  }

  /** Releases the current generation if enough have arrived, answering as a participant would be told. */
  private releaseIfComplete(name: string, record: BarrierRecord): BarrierStatus {
    const required = requiredOf(record);
    if (record.openedAt === null || record.arrived.length < required) return this.status(record);
    this.finish(name, 'released', 'arrivals');
    return { status: 'released', generation: record.generation, arrived: record.arrived.length, required };
  }

  private join(name: string, participant: string): Outcome<BarrierValue> {
    const found = this.existing(name);
    if (!found.ok) return found;
    const { record } = found;
    if (record.participants.includes(participant)) return taken(this.status(record));
    if (record.participants.length >= MAX_PARTICIPANTS) {
      return refuse('too_many_participants', `barrier ${JSON.stringify(name)} has ${MAX_PARTICIPANTS} participants already`);
    }
    const joined: BarrierRecord = { ...record, participants: sortedNames([...record.participants, participant]) };
    this.put(name, joined);
    return taken(this.status(joined));
  }

  /** Leaving may complete a generation: the arrivals it waited for are now enough. */
  private leave(name: string, participant: string): Outcome<BarrierValue> {
    const found = this.existing(name);
    if (!found.ok) return found;
    const { record } = found;
    if (!record.participants.includes(participant)) {
      return refuse('not_participant', `${JSON.stringify(participant)} is not a participant of ${JSON.stringify(name)}`);
    }
    if (record.participants.length === 1) {
      return refuse('last_participant', `${JSON.stringify(participant)} is the last participant of ${JSON.stringify(name)}`);
    }
    const left: BarrierRecord = {
      ...record,
      participants: record.participants.filter((other) => other !== participant),
      arrived: record.arrived.filter((other) => other !== participant),
    };
    this.put(name, left);
    return taken(this.releaseIfComplete(name, left));
  }

  private arrive(name: string, participant: string, generation: number | undefined): Outcome<BarrierValue> {
    const found = this.existing(name);
    if (!found.ok) return found;
    const { record } = found;
    if (!record.participants.includes(participant)) {
      return refuse('not_participant', `${JSON.stringify(participant)} is not a participant of ${JSON.stringify(name)}`);
    }
    if (generation !== undefined && generation !== record.generation) {
      const ended = record.last?.generation === generation ? ` (it ${record.last.outcome}: ${record.last.reason})` : '';
      return refuse('wrong_generation', `barrier ${JSON.stringify(name)} is at generation ${record.generation}, not ${generation}${ended}`);
    }
    if (record.openedAt === null) {
      return refuse('barrier_not_open', `generation ${record.generation} of ${JSON.stringify(name)} has not opened`);
    }
    if (record.arrived.includes(participant)) return taken(this.status(record));
    const arrived: BarrierRecord = { ...record, arrived: [...record.arrived, participant] };
    this.put(name, arrived);
    return taken(this.releaseIfComplete(name, arrived));
  }
}

/** Why a restored board could not have been reached by commands, or null when it could. */
function boardProblem(board: ReadonlyMap<string, BarrierRecord>): string | null {
  for (const [name, record] of board) {
    const label = `barrier ${JSON.stringify(name)}`;
    const participants = new Set(record.participants);
    if (new Set(record.arrived).size !== record.arrived.length || record.arrived.some((who) => !participants.has(who))) {
      return `${label} lists arrivals that are not distinct participants`;
    }
    if (record.last !== null && record.last.generation !== record.generation - 1) return `${label} ended a generation out of order`;
    if (record.after !== null) {
      const previous = board.get(record.after);
      if (previous === undefined) return `${label} follows a barrier that does not exist`;
      const lag = previous.generation - record.generation;
      if (lag !== 0 && lag !== 1) return `${label} is more than one generation from its previous stage`;
      if (lag === 1 && previous.last?.outcome !== 'released') return `${label} waits for a generation its previous stage failed`;
    }
    let stage: string | null = record.after;
    for (let steps = 0; stage !== null; steps += 1) {
      if (stage === name || steps > board.size) return `${label} follows itself`;
      stage = board.get(stage)?.after ?? null;
    }
  }
  for (const [name, record] of board) {
    const open = record.openedAt !== null;
    if (open && !openable(board, name)) return `barrier ${JSON.stringify(name)} is open while its stages are not ready`;
    if (!open && record.arrived.length > 0) return `barrier ${JSON.stringify(name)} has arrivals while closed`;
    if (open && record.arrived.length >= requiredOf(record)) return `barrier ${JSON.stringify(name)} should have released`;
  }
  return null;
}

/** The committed barriers; what `BarrierService` and the coordination state run commands against. */
export class BarrierBoard implements ServiceCore<BarrierCommand, BarrierResult, BarrierErrorCode, BarrierAnswer> {
  readonly format = 'statechart-consensus/barriers@1';
  readonly commandLimits = { maxDepth: 2, maxChars: 16_384 };
  readonly snapshotDepth = 4;
  private barriers: ReadonlyMap<string, BarrierRecord> = new Map();

  parse(command: JsonValue): Validated<BarrierCommand> {
    const parsed = BarrierCommandSchema.safeParse(command);
    return parsed.success ? { ok: true, command: parsed.data } : refuse('invalid_command', describeIssues(parsed.error));
  }

  /** The barriers as they stand at `time`, passed deadlines ended; commit it with `commit`. */
  draft(time: number): BarrierDraft {
    return new BarrierDraft(this.barriers, time);
  }

  commit(draft: BarrierDraft): void {
    this.barriers = draft.board;
  }

  prepare(command: BarrierCommand, at: AppliedAt): Prepared<BarrierResult, BarrierErrorCode> {
    const draft = this.draft(at.time);
    const outcome = draft.run(command);
    if (!outcome.ok) return outcome;
    return { ok: true, result: { ok: true, value: outcome.value, events: draft.events }, commit: () => this.commit(draft) };
  }

  view(barrier: string): BarrierView | null {
    const record = this.barriers.get(barrier);
    return record === undefined ? null : viewOf(barrier, record);
  }

  answer(query: JsonValue): BarrierAnswer | Refusal<QueryErrorCode> {
    const parsed = BarrierQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('invalid_query', describeIssues(parsed.error));
    const request = parsed.data;
    if (request.op === 'list') {
      return { ok: true, value: { barriers: sortedNames(this.barriers.keys()).map((name) => viewOf(name, this.barriers.get(name)!)) } };
    }
    const view = this.view(request.barrier);
    return view === null ? refuse('unknown_barrier', `barrier ${JSON.stringify(request.barrier)} does not exist`) : { ok: true, value: view };
  }

  snapshotState(): JsonValue {
    const barriers = sortedNames(this.barriers.keys()).map((barrier) => {
      const record = this.barriers.get(barrier)!;
      return {
        barrier,
        participants: [...record.participants],
        threshold: record.threshold,
        timeoutMs: record.timeoutMs,
        onTimeout: record.onTimeout,
        after: record.after,
        generation: record.generation,
        arrived: [...record.arrived],
        openedAt: record.openedAt,
        last: record.last === null ? null : { ...record.last },
      };
    });
    return { barriers };
  }

  prepareRestore(state: JsonValue): Restoring {
    const parsed = BarrierSnapshotSchema.safeParse(state);
    if (!parsed.success) return refuse('invalid_snapshot', describeIssues(parsed.error));
    const board = new Map<string, BarrierRecord>();
    for (const { barrier, ...record } of parsed.data.barriers) {
      if (board.has(barrier)) return refuse('invalid_snapshot', `barrier ${JSON.stringify(barrier)} appears twice`);
      board.set(barrier, freezeRecord({ ...record, participants: sortedNames(record.participants) }));
    }
    const problem = boardProblem(board);
    if (problem !== null) return refuse('invalid_snapshot', problem);
    return {
      ok: true,
      commit: () => {
        this.barriers = board;
      },
    };
  }
}

/** The barriers on their own, as a replicated state machine. */
export class BarrierService extends ServiceMachine<BarrierCommand, BarrierResult, BarrierErrorCode, BarrierAnswer> {
  constructor() {
    super(new BarrierBoard());
  }
}
