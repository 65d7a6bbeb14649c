// Reading a peer's message: each field once, frames rebuilt as one copy the checks and the engine share.
import { ledgerCodec } from './codec';
import { claimedIdentity, rankOfMessage, type LedgerMessage } from './messages';
import { LedgerFrame } from './types';

/** The fields a vote's signature covers, read once. */
export interface SignedVoteFields {
  height: number;
  attempt: number;
  proposer: string;
  frame: string | null;
}

/**
 * A peer's message with each of its own fields read once (a shallow copy);
 * null when even that throws (a Proxy, a getter that throws).
 */
export function readOnce(message: unknown): LedgerMessage | null {
  if (typeof message !== 'object' || message === null) return null;
  try {
    return { ...message } as LedgerMessage;
  } catch {
    return null;
  }
}

/** A frame rebuilt from its plain data by the ledger's codec: the copy the checks and the engine share. */
export function frameOnce(value: unknown): LedgerFrame | null {
  if (!(value instanceof LedgerFrame)) return null;
  try {
    return ledgerCodec.state.decode(JSON.parse(JSON.stringify(value)));
  } catch {
    return null;
  }
}

/** The `read-twice` breakage: a peer's frame used as sent, read as often as the code reads it. */
export function trustedAsSent(value: unknown): LedgerFrame | null {
  return value instanceof LedgerFrame ? value : null;
}

/** The fields a vote's signature covers, when they are readable. */
export function signedVote(m: LedgerMessage & { kind: 'vote' }): SignedVoteFields | null {
  const height = rankOfMessage(m);
  const attempt = m.attempt ?? 0;
  const proposer = claimedIdentity(m.proposer);
  if (height === null || !Number.isSafeInteger(attempt) || proposer === undefined) return null;
  return { height, attempt: attempt as number, proposer, frame: typeof m.proposal === 'string' ? m.proposal : null };
}
