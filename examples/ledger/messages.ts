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
   * `signature`: the one the voter's engine handed out with the vote. The
   * ledger only carries signatures; the engines make and check them.
   */
  | { kind: 'vote'; proposer: unknown; voter: unknown; vote: unknown; attempt?: unknown; proposal?: unknown; signature?: unknown }
  | { kind: 'nil_vote'; voter: unknown; vote: unknown; attempt?: unknown; signature?: unknown }
  | { kind: 'confirmation'; peer: unknown; state: unknown; attempt?: unknown; signature?: unknown }
  /**
   * A commit certificate of `state`, which the sender's engine sends a peer
   * still deciding a height it already finalized.
   */
  | { kind: 'certificate'; state: unknown; certificate: unknown }
  /**
   * The proof behind the sender's lock (its engine's), sent with the re-sends
   * of a height still undecided: a Byzantine voter may have told only some
   * nodes; without the proof the others could never vote past a lock of
   * their own, nor re-propose the value.
   */
  | { kind: 'lock_proof'; proof: unknown }
  | { kind: 'nil_confirmation'; peer: unknown; rank: unknown; attempt: unknown; signature?: unknown }
  /** Asks for finalized frames above `after`. */
  | { kind: 'sync_request'; id: unknown; after: unknown }
  | { kind: 'sync_response'; id: unknown; frames: unknown }
  /** The sender's engine skipped heights `first`..`last` by syncing and asks for their certified entries. */
  | { kind: 'entries_request'; first: unknown; last: unknown }
  /** Certified entries for the recipient's engine to fill its log with. */
  | { kind: 'entries'; entries: unknown }
  /** A client's entry proposed on the sender, for whoever proves next. */
  | { kind: 'payload'; payload: unknown }
  /** The sender's engine reads by index (`engine.readIndex`) and asks how far the recipient has committed. */
  | { kind: 'read_index_request'; nonce: unknown }
  /** The answer to the recipient's `read_index_request` `nonce`. */
  | { kind: 'read_index'; nonce: unknown; index: unknown };

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
  'entries_request',
  'entries',
  'payload',
  'read_index_request',
  'read_index',
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

/** The `rank` field of a certificate or proof, if it is a safe integer (never throws). */
function rankField(value: unknown): number | null {
  try {
    if (typeof value !== 'object' || value === null) return null;
    const rank = (value as { rank?: unknown }).rank;
    return Number.isSafeInteger(rank) ? (rank as number) : null;
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
      return Number.isSafeInteger(message.rank) ? (message.rank as number) : null;
    case 'certificate':
      return rankField(message.certificate);
    case 'lock_proof':
      return rankField(message.proof);
    case 'sync_request':
      return Number.isSafeInteger(message.after) ? (message.after as number) : null;
    case 'sync_response':
    case 'entries':
    case 'payload':
    case 'read_index_request':
    case 'read_index':
      return null;
    case 'entries_request':
      return Number.isSafeInteger(message.first) ? (message.first as number) : null;
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
