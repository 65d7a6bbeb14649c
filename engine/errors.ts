import type { MessageKind, RejectionReason } from '../guards/admission';

/** Base of every error the engine throws at its callers. */
export class ConsensusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The configuration given to `createConsensusEngine` is unusable. */
export class ConsensusConfigError extends ConsensusError {
  constructor(readonly issues: string[]) {
    super(`invalid consensus engine configuration: ${issues.join('; ')}`);
  }
}

/**
 * The commit log the engine's storage gave back cannot be what this engine
 * wrote: an entry does not decode, is not the value its digest names, or is
 * out of order. The engine is not built: serving a log it cannot trust would
 * be worse than not starting.
 */
export class StoredLogError extends ConsensusError {
  constructor(
    readonly index: number | null,
    detail: string,
  ) {
    super(`the stored commit log cannot be used${index === null ? '' : ` at entry ${index}`}: ${detail}`);
  }
}

export type InputErrorCode = 'malformed' | 'invalid_signature' | RejectionReason;

/**
 * A peer's message was refused. The engine's state is exactly as it was
 * before the call: nothing of the message was recorded.
 */
export class ConsensusInputError extends ConsensusError {
  constructor(
    readonly code: InputErrorCode,
    readonly kind: MessageKind,
    message: string,
  ) {
    super(message);
  }
}

/** The message did not parse: a missing or non-`Unique` field, a bad rank or identity. */
export class MalformedMessageError extends ConsensusInputError {
  constructor(
    kind: MessageKind,
    readonly issues: string[],
  ) {
    super('malformed', kind, `malformed ${kind}: ${issues.join('; ')}`);
  }
}

/** The rank is already final, or further ahead than the rank window allows. */
export class RankOutOfWindowError extends ConsensusInputError {
  constructor(
    code: 'stale_rank' | 'future_rank',
    kind: MessageKind,
    readonly rank: number,
    readonly activeRank: number,
    readonly rankWindow: number,
    detail: string,
  ) {
    super(code, kind, detail);
  }
}

/**
 * The attempt is too old for any round-change rule to need, or (for a rank
 * after the one being decided) further ahead than the attempt window allows.
 */
export class AttemptOutOfWindowError extends ConsensusInputError {
  constructor(
    code: 'stale_attempt' | 'future_attempt',
    kind: MessageKind,
    readonly rank: number,
    readonly attempt: number,
    readonly attemptWindow: number,
    detail: string,
  ) {
    super(code, kind, detail);
  }
}

/**
 * The sender is not a member, or (for the rank being decided) not a prover,
 * or not the proposer of the attempt its proposal claims.
 */
export class UnexpectedSenderError extends ConsensusInputError {
  constructor(
    code: 'not_member' | 'not_prover' | 'not_proposer',
    kind: MessageKind,
    readonly sender: string,
    detail: string,
  ) {
    super(code, kind, detail);
  }
}

/** A sender sent two different messages of one kind for one rank: the first one stands. */
export class EquivocationError extends ConsensusInputError {
  constructor(
    kind: MessageKind,
    readonly sender: string,
    readonly rank: number,
    detail: string,
  ) {
    super('equivocation', kind, detail);
  }
}

/** The rank already holds as many senders as the engine keeps for one rank. */
export class RankCapacityError extends ConsensusInputError {
  constructor(
    kind: MessageKind,
    readonly rank: number,
    detail: string,
  ) {
    super('rank_full', kind, detail);
  }
}

/** A lock proof or commit certificate whose signers do not weigh a quorum by the engine's count. */
export class QuorumShortfallError extends ConsensusInputError {
  constructor(
    kind: MessageKind,
    readonly rank: number,
    detail: string,
  ) {
    super('short_of_quorum', kind, detail);
  }
}

/**
 * A vote, confirmation, lock proof or commit certificate whose signature is
 * missing or is not its signer's over the statement it makes (an engine with
 * keys checks every one before anything of the message is kept).
 */
export class InvalidSignatureError extends ConsensusInputError {
  constructor(
    kind: MessageKind,
    readonly signer: string | null,
    detail: string,
  ) {
    super('invalid_signature', kind, detail);
  }
}

export type ProposalErrorCode = 'not_configured' | 'malformed' | 'too_large' | 'too_many_pending' | 'duplicate' | 'invalid' | 'not_member' | 'stopped' | 'not_durable';

/**
 * A payload was not taken: `propose` rejects with it (nothing was queued),
 * and `receivePayload` throws it for a forwarded copy (nothing was kept).
 */
export class ProposalError extends ConsensusError {
  constructor(
    readonly code: ProposalErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

export type ReadIndexErrorCode = 'not_configured' | 'too_many_pending' | 'expired' | 'stopped';

/** `engine.readIndex` could not give an index to read at: nothing was read. */
export class ReadIndexError extends ConsensusError {
  constructor(
    readonly code: ReadIndexErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** A provider resolved with something its contract does not allow. */
export class ProviderContractError extends ConsensusError {
  constructor(
    readonly call: string,
    detail: string,
  ) {
    super(`${call}: ${detail}`);
  }
}
