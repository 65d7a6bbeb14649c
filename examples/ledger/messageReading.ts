// Reading a peer's message: each field once, frames rebuilt as one copy the checks and the engine share.
import { ledgerCodec } from './codec';
import type { LedgerMessage } from './messages';
import { LedgerFrame } from './types';

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
