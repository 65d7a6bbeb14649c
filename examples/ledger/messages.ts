/**
 * What ledger nodes send each other. The four consensus messages mirror the
 * engine's `receive*` calls; their fields are `unknown` because a Byzantine
 * peer can put anything there, and the engine's schemas are what refuse it.
 * `skip` and the sync pair are the ledger's own.
 */
export type LedgerMessage =
  | { kind: 'liveness'; peer: unknown; collected: unknown }
  | { kind: 'proposal'; peer: unknown; proposal: unknown }
  | { kind: 'vote'; proposer: unknown; voter: unknown; vote: unknown }
  | { kind: 'confirmation'; peer: unknown; state: unknown }
  /**
   * "I have given up waiting for `prover`'s proposal at `rank`, or found it
   * invalid." A prover is skipped once 2f + 1 nodes say so.
   */
  | { kind: 'skip'; rank: unknown; prover: unknown }
  /** Asks for finalized frames above `after`. */
  | { kind: 'sync_request'; id: unknown; after: unknown }
  | { kind: 'sync_response'; id: unknown; frames: unknown };

export type LedgerMessageKind = LedgerMessage['kind'];

export const LEDGER_MESSAGE_KINDS: readonly LedgerMessageKind[] = [
  'liveness',
  'proposal',
  'vote',
  'confirmation',
  'skip',
  'sync_request',
  'sync_response',
];

/** The message's kind, or `garbage` for anything that is not a ledger message. */
export function kindOf(message: unknown): LedgerMessageKind | 'garbage' {
  if (typeof message !== 'object' || message === null) return 'garbage';
  const kind = (message as { kind?: unknown }).kind;
  return LEDGER_MESSAGE_KINDS.includes(kind as LedgerMessageKind) ? (kind as LedgerMessageKind) : 'garbage';
}

function safeRank(value: unknown): number | null {
  try {
    if (typeof value !== 'object' || value === null) return null;
    const rank = (value as { rank?: unknown }).rank;
    if (typeof rank !== 'function') return null;
    const raw = rank.call(value);
    const n = typeof raw === 'bigint' ? Number(raw) : raw;
    return Number.isSafeInteger(n) ? (n as number) : null;
  } catch {
    return null;
  }
}

/** The rank a message is about, if it has a readable one (never throws). */
export function rankOfMessage(message: LedgerMessage): number | null {
  switch (message.kind) {
    case 'liveness':
      return safeRank(message.collected);
    case 'proposal':
      return safeRank(message.proposal);
    case 'vote':
      return safeRank(message.vote);
    case 'confirmation':
      return safeRank(message.state);
    case 'skip':
      return Number.isSafeInteger(message.rank) ? (message.rank as number) : null;
    case 'sync_request':
      return Number.isSafeInteger(message.after) ? (message.after as number) : null;
    case 'sync_response':
      return null;
  }
}

/** The identity a `Unique`-looking value claims, if calling it is safe; never throws. */
export function claimedIdentity(value: unknown): string | undefined {
  try {
    if (typeof value !== 'object' || value === null) return undefined;
    const identity = (value as { identity?: unknown }).identity;
    if (typeof identity !== 'function') return undefined;
    const id = identity.call(value);
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
