import { z } from 'zod';
import type { BarrierCommand, BarrierErrorCode, BarrierEvent } from './barrierCommands';
import { BarrierBoard, type BarrierAnswer, type BarrierValue } from './barriers';
import { KvStore, type KvAnswer, type KvValue } from './kv';
import type { KvCommand, KvConfig, KvErrorCode } from './kvCommands';
import type { FenceErrorCode, LockCommand, LockErrorCode, LockEvent } from './lockCommands';
import { LockTable, type LockAnswer, type LockValue } from './locks';
import type { JsonValue } from './plainJson';
import { describeIssues } from './schemas';
import { ServiceMachine, type Prepared, type Restoring, type ServiceCore } from './serviceMachine';
import { refuse, type Accepted, type AppliedAt, type QueryErrorCode, type Refusal, type Validated } from './stateMachine';

/**
 * The three coordination services as one replicated state machine, so that
 * one log entry sees all of them at the same committed time. A fenced KV
 * write is checked against the lock table as that same entry leaves it
 * (leases its time has ended expired first), and either both change or
 * neither does. Every entry, whatever service it names, expires the leases
 * and ends the barrier generations its time has passed.
 */

export type CoordinationCommand =
  | (KvCommand & { readonly service: 'kv' })
  | (LockCommand & { readonly service: 'locks' })
  | (BarrierCommand & { readonly service: 'barriers' });

export type CoordinationEvent = LockEvent | BarrierEvent;
export type CoordinationValue = KvValue | LockValue | BarrierValue;
export type CoordinationResult = Accepted<CoordinationValue, CoordinationEvent>;
export type CoordinationErrorCode = KvErrorCode | LockErrorCode | BarrierErrorCode;
export type CoordinationAnswer = KvAnswer | LockAnswer | BarrierAnswer;

export interface CoordinationConfig {
  readonly kv?: KvConfig;
}

const SERVICES = ['kv', 'locks', 'barriers'] as const;

/** Only the routing field is read here; each service's own schema checks the rest, `service` included. */
const RouteSchema = z.looseObject({ service: z.enum(SERVICES) });

const CoordinationSnapshotSchema = z.strictObject({ kv: z.unknown(), locks: z.unknown(), barriers: z.unknown() });

class CoordinationCore implements ServiceCore<CoordinationCommand, CoordinationResult, CoordinationErrorCode, CoordinationAnswer> {
  readonly format = 'statechart-consensus/coordination@1';
  readonly kv: KvStore;
  readonly locks = new LockTable();
  readonly barriers = new BarrierBoard();
  readonly commandLimits;
  readonly snapshotDepth;

  constructor(config: CoordinationConfig) {
    this.kv = new KvStore(config.kv);
    this.commandLimits = this.kv.commandLimits;
    this.snapshotDepth = this.kv.snapshotDepth + 1;
  }

  parse(command: JsonValue): Validated<CoordinationCommand> {
    const route = RouteSchema.safeParse(command);
    if (!route.success) return refuse('invalid_command', describeIssues(route.error));
    switch (route.data.service) {
      case 'kv': {
        const parsed = this.kv.parse(command);
        return parsed.ok ? { ok: true, command: { ...parsed.command, service: 'kv' } } : parsed;
      }
      case 'locks': {
        const parsed = this.locks.parse(command);
        return parsed.ok ? { ok: true, command: { ...parsed.command, service: 'locks' } } : parsed;
      }
      case 'barriers': {
        const parsed = this.barriers.parse(command);
        return parsed.ok ? { ok: true, command: { ...parsed.command, service: 'barriers' } } : parsed;
      }
    }
  }

  prepare(command: CoordinationCommand, at: AppliedAt): Prepared<CoordinationResult, CoordinationErrorCode> {
    const locks = this.locks.draft(at.time);
    const barriers = this.barriers.draft(at.time);
    // What the entry's time set off comes before what its command did.
    const lockTimed = locks.events.length;
    const barrierTimed = barriers.events.length;
    let value: CoordinationValue;
    let commitKv = (): void => {};
    switch (command.service) {
      case 'kv': {
        const prepared = this.kv.prepareFenced(command, at, (lock, token) => locks.checkFence(lock, token));
        if (!prepared.ok) return prepared;
        value = prepared.result.value;
        commitKv = prepared.commit;
        break;
      }
      case 'locks': {
        const outcome = locks.run(command);
        if (!outcome.ok) return outcome;
        value = outcome.value;
        break;
      }
      case 'barriers': {
        const outcome = barriers.run(command);
        if (!outcome.ok) return outcome;
        value = outcome.value;
        break;
      }
    }
    const events: CoordinationEvent[] = [
      ...locks.events.slice(0, lockTimed),
      ...barriers.events.slice(0, barrierTimed),
      ...locks.events.slice(lockTimed),
      ...barriers.events.slice(barrierTimed),
    ];
    return {
      ok: true,
      result: { ok: true, value, events },
      commit: () => {
        this.locks.commit(locks);
        this.barriers.commit(barriers);
        commitKv();
      },
    };
  }

  answer(query: JsonValue): CoordinationAnswer | Refusal<QueryErrorCode> {
    const route = RouteSchema.safeParse(query);
    if (!route.success) return refuse('invalid_query', describeIssues(route.error));
    switch (route.data.service) {
      case 'kv':
        return this.kv.answer(query);
      case 'locks':
        return this.locks.answer(query);
      case 'barriers':
        return this.barriers.answer(query);
    }
  }

  snapshotState(): JsonValue {
    return { kv: this.kv.snapshotState(), locks: this.locks.snapshotState(), barriers: this.barriers.snapshotState() };
  }

  prepareRestore(state: JsonValue): Restoring {
    const parsed = CoordinationSnapshotSchema.safeParse(state);
    if (!parsed.success) return refuse('invalid_snapshot', describeIssues(parsed.error));
    const parts = [
      this.kv.prepareRestore(parsed.data.kv as JsonValue),
      this.locks.prepareRestore(parsed.data.locks as JsonValue),
      this.barriers.prepareRestore(parsed.data.barriers as JsonValue),
    ];
    for (const part of parts) if (!part.ok) return part;
    return {
      ok: true,
      commit: () => {
        for (const part of parts) if (part.ok) part.commit();
      },
    };
  }
}

/**
 * KV, fenced locks and barriers behind one `apply`. Commands name their
 * service: `{ service: 'kv' | 'locks' | 'barriers', op, ... }`; queries too.
 */
export class CoordinationState extends ServiceMachine<CoordinationCommand, CoordinationResult, CoordinationErrorCode, CoordinationAnswer> {
  private readonly parts: CoordinationCore;

  constructor(config: CoordinationConfig = {}) {
    const core = new CoordinationCore(config);
    super(core);
    this.parts = core;
  }

  /** Whether `token` is the current holder's of `lock`, as of the last applied command. */
  checkFence(lock: string, token: number): Refusal<FenceErrorCode> | null {
    return this.parts.locks.checkFence(lock, token);
  }
}
