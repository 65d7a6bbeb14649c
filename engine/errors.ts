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

export type InputErrorCode = 'malformed' | RejectionReason;

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

/** A provider resolved with something its contract does not allow. */
export class ProviderContractError extends ConsensusError {
  constructor(
    readonly call: string,
    detail: string,
  ) {
    super(`${call}: ${detail}`);
  }
}
