// The reference demo application: a hash-chained ledger replicated by the
// consensus engine. See README.md in this folder for how its providers work.
export { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from './types';
export {
  DEFAULT_MAX_CLOCK_DRIFT_MS,
  defaultProversPerRank,
  faultTolerance,
  frameTimeAfter,
  judgeProposal,
  leaderSchedule,
  MAX_FRAME_ENTRIES,
  type ProposalVerdict,
} from './rules';
export { LedgerStore } from './LedgerStore';
export { ledgerCodec } from './codec';
export {
  LedgerNode,
  MAX_SYNC_FRAMES,
  type DeliveryOutcome,
  type DurationRange,
  type FinalizedListener,
  type LedgerEngine,
  type LedgerEngineConfig,
  type LedgerRounds,
  type LedgerNodeOptions,
  type LedgerNodeStats,
} from './LedgerNode';
export { claimedIdentity, kindOf, LEDGER_MESSAGE_KINDS, rankOfMessage, type LedgerMessage, type LedgerMessageKind } from './messages';
