import type { ConsensusProviders } from '../engine/createConsensusEngine';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../examples/ledger/types';

/**
 * The app of an election-only run (`rounds: 0`): nothing to order. Its sync
 * never finishes (it waits until the round gives up on it), so each node's
 * round machine idles in `loading`, re-entering it once per loading timeout,
 * and a run costs what the election costs.
 */

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export function idleProviders(): ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch> {
  return {
    sync: { synchronize: (_existing, signal) => untilAborted(signal) },
    leader: {
      getNextLeaders: (_prior, signal) => untilAborted(signal),
      proveNextState: (_prior, _collected, signal) => untilAborted(signal),
    },
    liveness: { collect: (signal) => untilAborted(signal), sendLiveness: async () => {} },
    voting: {
      sendProposal: async () => {},
      decideAndSendVote: (_proposals, signal) => untilAborted(signal),
      finalizeVotes: (_proposals, _votes, signal) => untilAborted(signal),
      sendConfirmation: async () => {},
    },
  };
}
