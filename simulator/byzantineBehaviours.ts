import type { RandomSource } from '../providers/random';
import type { Statement } from '../engine/signing/index';
import type { LedgerMessage } from '../examples/ledger/messages';
import type { LedgerFrame } from '../examples/ledger/types';

/**
 * How a Byzantine node misbehaves, in every attempt of every height:
 * - `equivocate`: as a proposer, two different valid proposals to two halves
 *   of the cluster; as a voter, votes (and confirmations) for two different
 *   values, or a value and nil, to two halves;
 * - `withhold`: silent, sends nothing at all (a silent proposer);
 * - `partial`: as a proposer, a valid proposal (and its vote) to one half of
 *   the cluster only, nothing to the other half;
 * - `invalid`: as a prover, a proposal honest nodes must refuse to vote for
 *   (wrong parent, wrong height, forged hash, another prover's name, bogus
 *   mutations, a time before its parent's or far ahead of every clock), and
 *   votes for it;
 * - `garbage`: malformed messages: values that are not `Unique`, identities
 *   that throw or are too long, bad ranks, unknown members;
 * - `flood`: floods of messages for far-future ranks (and the edge of the
 *   window), which the engine must refuse or bound;
 * - `split-commit`: the attack locks exist for. As attempt 0's prover it
 *   proposes a value, and votes for it, to half the cluster only, so that
 *   half may lock on it while the rest cannot; it confirms it to one node of
 *   that half (the favourite) only, and only once another value is being
 *   confirmed in a later attempt, which it then confirms to everyone else:
 *   two commits at once, if the locks did not stop the second value. It
 *   votes for every other proposal, and as a later attempt's proposer
 *   proposes a fresh value to everyone but the favourite;
 * - `shape-shift`: values that pass the checks once and are something else
 *   afterwards. As a proposer, a frame whose fields change once read; and
 *   from the honest confirmations it receives, commit certificates whose
 *   frame is the one the signatures cover while they are checked, and
 *   another after (`shapeShift.ts`).
 */
export type ByzantineBehaviour =
  | 'equivocate'
  | 'withhold'
  | 'partial'
  | 'invalid'
  | 'garbage'
  | 'flood'
  | 'split-commit'
  | 'shape-shift';
export const BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = [
  'equivocate',
  'withhold',
  'partial',
  'invalid',
  'garbage',
  'flood',
  'split-commit',
  'shape-shift',
];
/** `mixed`: each rank, each Byzantine node draws one of the behaviours above. */
export type BehaviourOption = ByzantineBehaviour | 'mixed';
export const BEHAVIOUR_OPTIONS: readonly BehaviourOption[] = [...BYZANTINE_BEHAVIOURS, 'mixed'];

export interface ByzantineContext {
  self: string;
  members: readonly string[];
  schedule: (height: number) => string[];
  rankWindow: number;
  random: RandomSource;
  send: (to: string, message: LedgerMessage) => void;
  /**
   * The adversary is omniscient: it knows every frame an honest node
   * finalized, so its forgeries chain onto the real ledger.
   */
  finalizedAt: (height: number) => LedgerFrame | undefined;
  /** This node's clock: its frames carry a time as honest ones do, bar the lies about it. */
  now: () => number;
  /** Signs with this node's own key (a Byzantine node cannot sign for others). */
  sign: (statement: Statement) => string;
  /** Reports what it did, for the trace. */
  note: (detail: string) => void;
  /**
   * Sends a raw election message. Byzantine nodes run no election: they stay
   * silent on it, bar the garbage behaviour, which sends junk.
   */
  sendElection?: (to: string, raw: unknown) => void;
}
