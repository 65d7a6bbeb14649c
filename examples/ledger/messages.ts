/**
 * What ledger nodes send each other. The consensus messages mirror the
 * engine's `receive*` calls, with the attempt they belong to; their fields are
 * `unknown` because a Byzantine peer can put anything there, and the engine's
 * schemas are what refuse it. The sync pair is the ledger's own.
 */
export type LedgerMessage =
  | { kind: 'liveness'; peer: unknown; collected: unknown }
  | { kind: 'proposal'; peer: unknown; proposal: unknown; attempt?: unknown; validAttempt?: unknown }
  /**
   * `proposal`: the identity (hash) of the frame the vote endorses;
   * `signature`: the voter's over `votePayload`, so the vote can be passed on.
   */
  | { kind: 'vote'; proposer: unknown; voter: unknown; vote: unknown; attempt?: unknown; proposal?: unknown; signature?: unknown }
  | { kind: 'nil_vote'; voter: unknown; vote: unknown; attempt?: unknown }
  /** `signature`: the sender's over `confirmationPayload`, so the confirmation can be passed on. */
  | { kind: 'confirmation'; peer: unknown; state: unknown; attempt?: unknown; signature?: unknown }
  /**
   * A commit certificate: 2f + 1 signed confirmations of `state` in `attempt`,
   * sent to a peer still deciding a height this node already finalized.
   */
  | { kind: 'certificate'; rank: unknown; attempt: unknown; state: unknown; signatures: unknown }
  /**
   * A lock proof: 2f + 1 signed votes for frame `frame` (a hash) in `attempt`,
   * sent by a node that locked on them to every peer, with the re-sends of a
   * height still undecided. A Byzantine voter may
   * have told only some nodes; without the proof the others could never vote
   * past a lock of their own, nor re-propose the value.
   */
  | { kind: 'lock_proof'; rank: unknown; attempt: unknown; frame: unknown; votes: unknown }
  | { kind: 'nil_confirmation'; peer: unknown; rank: unknown; attempt: unknown }
  /** Asks for finalized frames above `after`. */
  | { kind: 'sync_request'; id: unknown; after: unknown }
  | { kind: 'sync_response'; id: unknown; frames: unknown };

export type LedgerMessageKind = LedgerMessage['kind'];

export const LEDGER_MESSAGE_KINDS: readonly LedgerMessageKind[] = [
  'liveness',
  'proposal',
  'vote',
  'nil_vote',
  'confirmation',
  'nil_confirmation',
  'certificate',
  'lock_proof',
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
    case 'nil_vote':
      return safeRank(message.vote);
    case 'confirmation':
      return safeRank(message.state);
    case 'nil_confirmation':
    case 'certificate':
    case 'lock_proof':
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

/** The attempt a consensus message says it belongs to (0 when it says nothing), if readable. */
export function attemptOfMessage(message: LedgerMessage): number | null {
  if (!('attempt' in message) || message.attempt === undefined) return 0;
  return Number.isSafeInteger(message.attempt) && (message.attempt as number) >= 0 ? (message.attempt as number) : null;
}
