/**
 * Coordination services as replicated state machines: a KV store with
 * vector clocks, fenced locks and barriers, alone or together in one
 * `CoordinationState`. They depend on nothing in the engine; a host feeds
 * them committed log entries with `apply(command, { index, time })`.
 */

export type {
  Accepted,
  AppliedAt,
  AppliedPosition,
  Answered,
  CommonErrorCode,
  QueryErrorCode,
  Refusal,
  ReplicatedStateMachine,
  RestoreErrorCode,
  RestoreResult,
  ServiceError,
  Validated,
} from './stateMachine';
export { ServiceMachine, type ApplyResult } from './serviceMachine';
export type { JsonValue } from './plainJson';
export { MAX_NAME_LENGTH, MAX_TIME } from './schemas';

export {
  EMPTY_CLOCK,
  MAX_CLOCK_ENTRIES,
  VectorClockSchema,
  clockSize,
  compareClocks,
  counterOf,
  covers,
  incrementClock,
  mergeClocks,
  type ClockErrorCode,
  type ClockOrder,
  type ClockResult,
  type VectorClock,
} from './vectorClock';

export { KvService, KvStore, type FenceChecker, type KvAnswer, type KvResult, type KvValue } from './kv';
export {
  DEFAULT_MAX_KEYS,
  MAX_KEY_LENGTH,
  MAX_KEY_SPACES,
  MAX_KEYS_LIMIT,
  MAX_SIBLINGS,
  MAX_VALUE_BYTES,
  MAX_VALUE_DEPTH,
  STRATEGIES,
  isConflictStrategy,
  type BuiltInStrategy,
  type ConflictStrategy,
  type DeleteOutcome,
  type KeySpace,
  type KvCommand,
  type KvConfig,
  type KvEntry,
  type KvErrorCode,
  type KvQuery,
  type KvSettings,
  type KvVersion,
  type PutOutcome,
  type Resolution,
} from './kvCommands';
export { MERGE_NAMES, type MergeName } from './kvMerge';
export { APP_MERGE_NAME, APP_MERGE_PREFIX, type AppMerge, type AppMergeStrategy, type AppMerges } from './kvAppMerge';

export { LockService, LockTable, fenceCheck, type LockAnswer, type LockResult, type LockValue } from './locks';
export {
  DEFAULT_LEASE_MS,
  MAX_HOLDS,
  MAX_LEASE_MS,
  MAX_LOCKS,
  MAX_WAITERS,
  type AcquireOutcome,
  type FenceErrorCode,
  type LockCommand,
  type LockErrorCode,
  type LockEvent,
  type LockHolder,
  type LockQuery,
  type LockView,
  type LockWaiter,
  type ReleaseOutcome,
  type RenewOutcome,
} from './lockCommands';

export { BarrierBoard, BarrierService, type BarrierAnswer, type BarrierResult, type BarrierValue } from './barriers';
export {
  DEFAULT_BARRIER_TIMEOUT_MS,
  MAX_BARRIER_TIMEOUT_MS,
  MAX_BARRIERS,
  MAX_PARTICIPANTS,
  requiredArrivals,
  type BarrierCommand,
  type BarrierEndReason,
  type BarrierEnding,
  type BarrierErrorCode,
  type BarrierEvent,
  type BarrierOutcome,
  type BarrierQuery,
  type BarrierStatus,
  type BarrierView,
} from './barrierCommands';

export {
  CoordinationState,
  type CoordinationAnswer,
  type CoordinationCommand,
  type CoordinationConfig,
  type CoordinationErrorCode,
  type CoordinationEvent,
  type CoordinationResult,
  type CoordinationValue,
} from './coordination';

export { commands, queries, type BarrierOptions, type DeleteOptions, type PutOptions } from './commandBuilders';

export type { Consistency, CoordinationPort, QueryOptions, QueryOutcome, SubmitOptions, SubmitOutcome, Unanswered } from './port';
export { createCoordinationClients, type CoordinationClientOptions, type CoordinationClients } from './clients';
export { CoordinationError, isCoordinationError, type CoordinationFailureCode } from './coordinationError';
export type { Committed } from './portCaller';
export type { KeyPage, KeysOptions, KvClient } from './kvClient';
export type { LeaseOptions, LockClient } from './lockClient';
export type { ArriveOptions, BarrierClient, BarrierCreated, BarrierWaitOptions } from './barrierClient';
export { DEFAULT_POLL_MS, SYSTEM_CLOCK, generationEnding, waitForRelease, type BarrierPassed, type WaitClock, type WaitOptions, type WaitSteps } from './barrierWait';
