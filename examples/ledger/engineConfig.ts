// What the ledger asks of its engine: membership and keys, the codec, how it
// waits, and how clients' entries map onto frames. The providers are the node's.
import type { ConsensusProviders, MessagingMode } from '../../engine/createConsensusEngine';
import type { ConsensusClock } from '../../providers/clock';
import { ledgerCodec } from './codec';
import { LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH, type LedgerEngineConfig, type LedgerKeys, type LedgerPayload } from './nodeTypes';
import { ledgerMembershipChange, type LedgerMembers } from './membership';
import { isEntry, MAX_FRAME_ENTRIES } from './rules';
import { LedgerPeer, type LedgerBatch, type LedgerFrame, type LedgerVote } from './types';

/** What a ledger cluster's signatures are for: none of them counts in another application's cluster. */
export const LEDGER_CHAIN_ID = 'statechart-consensus/ledger';

export interface LedgerEngineParts {
  self: LedgerPeer;
  members: LedgerMembers;
  keys: LedgerKeys | undefined;
  head: LedgerFrame;
  providers: ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload>;
  resendMs: number;
  rankWindow: number;
  attemptMs: number;
  clock: ConsensusClock;
  messaging?: MessagingMode;
}

export function ledgerEngineConfig({ self, members, keys, head, providers, resendMs, rankWindow, attemptMs, clock, messaging }: LedgerEngineParts): LedgerEngineConfig {
  return {
    ...(messaging === undefined ? {} : { messaging }),
    id: self,
    initialState: head,
    providers,
    members: members.founders.map((name) => (keys === undefined ? new LedgerPeer(name) : { id: new LedgerPeer(name), publicKey: keys.publicKeys[name] })),
    ...(members.changing ? { membershipChangeIn: ledgerMembershipChange, memberPeer: (id: string) => new LedgerPeer(id) } : {}),
    ...(keys === undefined
      ? {}
      : { privateKey: keys.privateKey, chainId: LEDGER_CHAIN_ID, ...(keys.verifier ? { signatureVerifier: keys.verifier } : {}) }),
    // What arrives just after a commit is mostly late traffic of peers about to commit.
    certificateRelay: { delay: resendMs / 2, interval: resendMs },
    codec: ledgerCodec,
    // `deliver` returns every refusal's code to its caller, who counts them.
    warnOnRefusals: false,
    // As many as the schedule names for the next height, whose members the log may have changed.
    minimumProvers: (active) => members.provers(active.height + 1),
    // One live prover is enough to go on; the voting rule does the waiting.
    livenessThreshold: 1,
    proposalThreshold: 1,
    rankWindow,
    clock,
    // Clients' entries: one name each, and a frame carries at most MAX_FRAME_ENTRIES.
    proposals: {
      identify: (entry) => entry,
      payloadsIn: (frame) => frame.entries,
      validate: (entry) => (isEntry(entry) ? true : 'not an entry (tx:<name>:<number>:<number>, c:<name>:<text>, s:<name>:<JSON>, r:<name>:<JSON>, m:<tag>:add:<name>:<key> or m:<tag>:remove:<name>)'),
      maxBatch: MAX_FRAME_ENTRIES,
    },
    timeouts: { attempt: attemptMs, attemptGrowth: LEDGER_ATTEMPT_GROWTH, attemptMax: LEDGER_ATTEMPT_CAP * attemptMs },
  };
}
