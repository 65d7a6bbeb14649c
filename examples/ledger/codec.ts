import type { ValueCodecs } from '../../providers/codec';
import { LedgerFrame, LedgerVote } from './types';

/** Longest name or hash a ledger value may carry. */
const MAX_TEXT = 256;
/** Longest mutation: a coordination entry's 516 characters fit. */
const MAX_ENTRY = 520;

function record(data: unknown, what: string): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError(`${what} must be an object`);
  return data as Record<string, unknown>;
}

function text(value: unknown, field: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length > max) throw new TypeError(`${field} must be a string of at most ${max} characters`);
  return value;
}

function whole(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new TypeError(`${field} must be a non-negative integer`);
  return value as number;
}

/**
 * How a ledger node rebuilds a peer's frames and votes from plain data: the
 * engine keeps only these, never the object a peer handed over. A frame's
 * hash is taken as sent (as off the wire); `judgeProposal` checks it.
 */
export const ledgerCodec: ValueCodecs<LedgerFrame, LedgerVote> = {
  state: {
    decode(data) {
      const d = record(data, 'frame');
      if (!Array.isArray(d.entries) || d.entries.length > 64) throw new TypeError('entries must be an array of at most 64');
      const entries = d.entries.map((entry, i) => text(entry, `entries[${i}]`, MAX_ENTRY));
      return new LedgerFrame(whole(d.height, 'height'), text(d.parent, 'parent'), text(d.prover, 'prover'), whole(d.time, 'time'), entries, text(d.hash, 'hash'));
    },
  },
  vote: {
    decode(data) {
      const d = record(data, 'vote');
      return new LedgerVote(whole(d.height, 'height'), text(d.voter, 'voter'), text(d.proposer, 'proposer'), text(d.frame, 'frame'));
    },
  },
};
