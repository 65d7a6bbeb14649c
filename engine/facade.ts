import { waitFor, type ActorRefFrom } from 'xstate';
import { admit, admitsCertificateAt, type Admission, type Candidate, type MessageKind } from '../guards/admission';
import { endorsementOf, NIL } from '../guards/roundChange';
import { isMemberOf } from '../guards/quorum';
import type { RoundMachine } from '../machines/round.machine';
import { sizeOf } from '../machines/rankBook';
import type {
  AttestedRecord,
  MessageIds,
  RoundContext,
  RoundDataEvent,
  RoundEventType,
  RoundStateName,
} from '../machines/round.types';
import type { ValueCodec } from '../providers/codec';
import type { Identity, Unique } from '../providers/unique';
import type {
  AttemptChange,
  CommitRecord,
  ConsensusEngine,
  PeerRef,
  ReceiveResult,
  TransitionListener,
} from './api';
import type { RoundEngineBuild } from './build';
import { adoptValue, checkRank, describeError, identitiesOf, identityOf, plainCopy, type Adopted, type Read } from './door';
import {
  AttemptOutOfWindowError,
  ConsensusInputError,
  EquivocationError,
  MalformedMessageError,
  QuorumShortfallError,
  RankCapacityError,
  RankOutOfWindowError,
  UnexpectedSenderError,
} from './errors';
import { takeIn } from '../machines/round/intake';
import { RefusalNotices } from './refusals';
import {
  attemptPositionSchema,
  certificatePositionSchema,
  describeIssues,
  lockProofPositionSchema,
  nilConfirmationPositionSchema,
  proposalPositionSchema,
  votePositionSchema,
} from './schemas';
import type { z } from 'zod';

/** A running round machine, whether the root of its system or a child. */
export type RoundActorRef = ActorRefFrom<RoundMachine>;

/** The engine API over a round actor that someone else created and starts. */
export type RoundEngineApi<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  ActorT extends RoundActorRef = RoundActorRef,
> = Omit<ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT>, 'actor'> & { readonly actor: ActorT };

export interface EngineFacade<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  ActorT extends RoundActorRef = RoundActorRef,
> {
  readonly api: RoundEngineApi<StateT, VoteT, PeerIDT, CollectedT, ActorT>;
}

function toInputError(candidate: Pick<Candidate, 'kind' | 'sender' | 'rank' | 'attempt'>, context: RoundContext, admission: Extract<Admission, { admitted: false }>) {
  const { kind, sender, rank } = candidate;
  switch (admission.reason) {
    case 'stale_rank':
    case 'future_rank':
      return new RankOutOfWindowError(admission.reason, kind, rank, context.activeRank, context.rankWindow, admission.detail);
    case 'stale_attempt':
    case 'future_attempt':
      return new AttemptOutOfWindowError(admission.reason, kind, rank, candidate.attempt, context.attemptWindow, admission.detail);
    case 'not_member':
    case 'not_prover':
    case 'not_proposer':
      return new UnexpectedSenderError(admission.reason, kind, sender, admission.detail);
    case 'equivocation':
      return new EquivocationError(kind, sender, rank, admission.detail);
    case 'rank_full':
      return new RankCapacityError(kind, rank, admission.detail);
    case 'short_of_quorum':
      return new QuorumShortfallError(kind, rank, admission.detail);
  }
}

/** What a receive call prepared at the door: the checked ids, and the event to send. */
interface Prepared {
  candidate: Candidate;
  event: RoundDataEvent;
  validAttempt?: number | null;
}

/**
 * The engine API (validated receives, listeners, state readings, start/stop)
 * over a round actor, which may be a child in a larger system. Call it after
 * the actor is created and before it is started, so no commit or provider
 * error goes unreported, nor any transition.
 */
export function createEngineFacade<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  ActorT extends RoundActorRef,
>(
  build: RoundEngineBuild<StateT, VoteT, PeerIDT, CollectedT>,
  roundActor: ActorT,
): EngineFacade<StateT, VoteT, PeerIDT, CollectedT, ActorT> {
  const { config, clock, logger, membership, peers, maxValueSize } = build;
  // Widened once, so the API reads the round's snapshot type whatever ActorT is.
  const round: RoundActorRef = roundActor;
  const transitionListeners = new Set<TransitionListener>();
  const commitListeners = new Set<(commit: CommitRecord<StateT, PeerIDT>) => void>();
  const attemptListeners = new Set<(change: AttemptChange) => void>();
  let currentState: RoundStateName = 'stopped';
  let stateEnteredAt = clock.now();
  let transitionCount = 0;
  let providerErrorCount = 0;
  const refusals = new RefusalNotices(logger, membership, build.warnOnRefusals);

  // Every top-level state announces its entry (re-entries too), even those
  // within one macrostep (e.g. proving → voting for a non-prover); XState
  // hands emitted events over once the step that made them has settled, so
  // whatever a listener reads or sends sees the state it produced. Moves
  // between a state's own sub-steps are its internal progress and do not count.
  round.on('state_entered', ({ state: to, event }) => {
    if (event === 'xstate.init') return;
    const from = currentState;
    const eventType = event as RoundEventType;
    currentState = to;
    stateEnteredAt = clock.now();
    transitionCount += 1;
    logger.trace(`${from} -> ${to} [${eventType}]`);
    for (const listener of transitionListeners) {
      try {
        listener(from, to, eventType);
      } catch (error) {
        logger.error('a transition listener threw', error);
      }
    }
  });

  round.on('attempt_changed', ({ rank, from, to, reason }) => {
    logger.trace(`rank ${rank}: attempt ${from} -> ${to} (${reason})`);
    for (const listener of attemptListeners) {
      try {
        listener({ rank, from, to, reason });
      } catch (error) {
        logger.error('an attempt listener threw', error);
      }
    }
  });
  round.on('provider_error', (failure) => {
    providerErrorCount += 1;
    logger.error(`${failure.state}: ${failure.call} failed`, failure.error);
  });
  round.on('committed', (commit) => {
    logger.trace(`committed rank ${commit.rank}: ${commit.state.identity()}`);
    const record = {
      rank: commit.rank,
      state: commit.state as StateT,
      proposer: commit.proposer as PeerIDT | null,
      attempt: commit.attempt,
    };
    // XState delivers emits after the step's snapshot is in place and before
    // the next round's provider calls start: the right moment for commit
    // listeners, who may read the new state and build on it.
    for (const listener of commitListeners) {
      try {
        listener(record);
      } catch (error) {
        logger.error('a commit listener threw', error);
      }
    }
  });

  const context = () => round.getSnapshot().context;

  // ---- the door -----------------------------------------------------------

  /** Throws the refusal after noting it; a refusal never reaches the actor. */
  function refuse(error: ConsensusInputError, sender: Identity | null): never {
    if (error instanceof EquivocationError) logger.error(`equivocation by ${error.sender}`, error);
    else logger.trace(error.message);
    refusals.note(error, sender);
    throw error;
  }

  function unwrap<T>(kind: MessageKind, read: Read<T>): T {
    if (!read.ok) throw new MalformedMessageError(kind, [read.issue]);
    return read.value;
  }

  /** The sender of the message at the door, once known: who a refusal is noted against. */
  let atTheDoor: Identity | null = null;

  /** A member's identity, or a refusal before anything else of the message is read. */
  function memberOf(kind: MessageKind, label: string, raw: unknown, isSender = true): Identity {
    const id = unwrap(kind, identityOf(label, raw));
    if (!isMemberOf(membership, id)) {
      throw new UnexpectedSenderError('not_member', kind, id, `${id} is not a member`);
    }
    if (isSender) atTheDoor = id;
    return id;
  }

  /** The configured member object for an identity: a peer's own object is never kept. */
  const peerOf = (id: Identity): Unique => peers.get(id) as Unique;

  function positionOf<P>(kind: MessageKind, schema: z.ZodType<P>, raw: unknown): P {
    const plain = unwrap(kind, plainCopy('position', raw ?? {}, 4096));
    const parsed = schema.safeParse(plain);
    if (!parsed.success) throw new MalformedMessageError(kind, describeIssues(parsed.error).map((issue) => `position.${issue}`));
    return parsed.data;
  }

  function adopt<T extends Unique>(kind: MessageKind, label: string, raw: unknown, codec: ValueCodec<T>, rank?: number): Adopted<T> {
    const adopted = unwrap(kind, adoptValue(label, raw, codec, maxValueSize));
    if (rank !== undefined && rank !== adopted.rank) {
      throw new MalformedMessageError(kind, [`position.rank is ${rank}, but the ${label} is for rank ${adopted.rank}`]);
    }
    return adopted;
  }

  /**
   * Reads a message at the door, admits it, then sends it. Anything a peer's
   * value does at the door (throwing, lying) is a `MalformedMessageError`;
   * anything refused changes nothing.
   */
  function receive(kind: MessageKind, prepare: () => Prepared): ReceiveResult {
    let prepared: Prepared;
    atTheDoor = null;
    try {
      prepared = prepare();
    } catch (error) {
      const refusal = asRefusal(kind, error);
      refuse(refusal, refusal instanceof UnexpectedSenderError ? refusal.sender : atTheDoor);
    }
    const { candidate, event } = prepared;
    const admission = admit(context(), candidate);
    if (!admission.admitted) refuse(toInputError(candidate, context(), admission), candidate.sender);
    if (admission.duplicate) return 'duplicate';
    const { sender, rank, contentId, proposer, attempt, endorses, nil } = candidate;
    const ids: MessageIds = { sender, rank, contentId, attempt };
    if (proposer !== undefined) ids.proposerId = proposer;
    if (endorses !== undefined) ids.endorses = endorses;
    if (nil === true) ids.nil = true;
    if (prepared.validAttempt !== undefined) ids.validAttempt = prepared.validAttempt;
    // Admitted once, here: the message goes into the books as it is, and the
    // actor hears of it only if a state waiting on them could now move.
    const wake = takeIn(context(), { ...event, ids } as RoundDataEvent, candidate, admission);
    if (wake !== null) round.send(wake);
    return 'accepted';
  }

  /** A certificate is weighed at the door and kept whole; the machine re-checks it against its state. */
  function receiveCertificate(kind: 'vote' | 'confirmation', prepare: () => AttestedRecord): ReceiveResult {
    let record: AttestedRecord;
    try {
      record = prepare();
    } catch (error) {
      refuse(asRefusal(kind, error), null);
    }
    const admission = admitsCertificateAt(context(), record);
    if (!admission.admitted) {
      refuse(toInputError({ kind, sender: record.signers[0] ?? '', rank: record.rank, attempt: record.attempt }, context(), admission), null);
    }
    if (admission.duplicate) return 'duplicate';
    round.send({ type: 'certificate_received', record });
    return 'accepted';
  }

  const { state: stateCodec, vote: voteCodec } = config.codec;

  const api: RoundEngineApi<StateT, VoteT, PeerIDT, CollectedT, ActorT> = {
    id: config.id,
    actor: roundActor,
    start() {
      round.send({ type: 'start' });
    },
    async stop() {
      if (round.getSnapshot().value === 'stopped') return;
      round.send({ type: 'stop' });
      await waitFor(round, (snapshot) => snapshot.value === 'stopped');
    },
    induceSync() {
      round.send({ type: 'induce_sync' });
    },
    getState: () => currentState,
    getStateTime: () => clock.now() - stateEnteredAt,
    getTransitionCount: () => transitionCount,
    getActiveState: () => context().activeState as StateT,
    getActiveRank: () => context().activeRank,
    getMembership: () => membership,
    getProviderErrorCount: () => providerErrorCount,
    getHeldMessageCount() {
      const { liveness, proposals, votes, confirmations, attemptsSeen, attested } = context();
      return (
        sizeOf(liveness) + sizeOf(proposals) + sizeOf(votes) + sizeOf(confirmations) + sizeOf(attemptsSeen) + Object.keys(attested).length
      );
    },
    addListener(listener) {
      transitionListeners.add(listener);
      return () => transitionListeners.delete(listener);
    },
    onCommit(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },
    onAttemptChange(listener) {
      attemptListeners.add(listener);
      return () => attemptListeners.delete(listener);
    },
    getAttempt: () => context().attempt,
    receiveLivenessCheck(peer: PeerRef<PeerIDT>, collected: CollectedT) {
      return receive('liveness', () => {
        const sender = memberOf('liveness', 'peer', peer);
        // A peer's collected mutations are not kept: only what identifies them is read, once.
        const ids = unwrap('liveness', readIds('collected', collected));
        return {
          candidate: { kind: 'liveness', sender, rank: ids.rank, contentId: ids.id, attempt: 0 },
          event: { type: 'liveness_check_received', peer: peerOf(sender), collected: null },
        };
      });
    },
    receiveProposal(peer, proposal, position) {
      return receive('proposal', () => {
        const sender = memberOf('proposal', 'peer', peer);
        const where = positionOf('proposal', proposalPositionSchema, position);
        const own = adopt('proposal', 'proposal', proposal, stateCodec, where.rank);
        return {
          candidate: { kind: 'proposal', sender, rank: own.rank, contentId: own.id, attempt: where.attempt ?? 0 },
          event: { type: 'proposal_received', peer: peerOf(sender), proposal: own.value },
          validAttempt: where.validAttempt ?? null,
        };
      });
    },
    receiveVote(proposer, voter, vote, position) {
      return receive('vote', () => {
        const sender = memberOf('vote', 'voter', voter);
        const endorsed = memberOf('vote', 'proposer', proposer, false);
        const where = positionOf('vote', votePositionSchema, position);
        const own = adopt('vote', 'vote', vote, voteCodec, where.rank);
        return {
          candidate: {
            kind: 'vote',
            sender,
            rank: own.rank,
            contentId: own.id,
            proposer: endorsed,
            attempt: where.attempt ?? 0,
            endorses: endorsementOf(where.proposal, endorsed),
          },
          event: { type: 'vote_received', proposer: peerOf(endorsed), voter: peerOf(sender), vote: own.value },
        };
      });
    },
    receiveNilVote(voter, vote, position) {
      return receive('vote', () => {
        const sender = memberOf('vote', 'voter', voter);
        const where = positionOf('vote', attemptPositionSchema, position);
        const own = adopt('vote', 'vote', vote, voteCodec, where.rank);
        return {
          candidate: { kind: 'vote', sender, rank: own.rank, contentId: own.id, attempt: where.attempt ?? 0, endorses: NIL },
          event: { type: 'vote_received', proposer: null, voter: peerOf(sender), vote: own.value },
        };
      });
    },
    receiveConfirmation(peer, state, position) {
      return receive('confirmation', () => {
        const sender = memberOf('confirmation', 'peer', peer);
        const where = positionOf('confirmation', attemptPositionSchema, position);
        const own = adopt('confirmation', 'state', state, stateCodec, where.rank);
        return {
          candidate: { kind: 'confirmation', sender, rank: own.rank, contentId: own.id, attempt: where.attempt ?? 0 },
          event: { type: 'confirmation_received', peer: peerOf(sender), state: own.value },
        };
      });
    },
    receiveNilConfirmation(peer, position) {
      return receive('confirmation', () => {
        const sender = memberOf('confirmation', 'peer', peer);
        const where = positionOf('confirmation', nilConfirmationPositionSchema, position);
        return {
          candidate: { kind: 'confirmation', sender, rank: where.rank, contentId: NIL, attempt: where.attempt, nil: true },
          event: { type: 'confirmation_received', peer: peerOf(sender), state: null },
        };
      });
    },
    receiveCommitCertificate(state, certificate) {
      return receiveCertificate('confirmation', () => {
        const raw = certificate as unknown as { signers?: unknown } | undefined;
        const signers = unwrap('confirmation', identitiesOf('signers', readField(raw, 'signers'), membership.ids.length));
        const where = positionOf('confirmation', certificatePositionSchema, withoutField(raw, 'signers'));
        const own = adopt('confirmation', 'state', state, stateCodec, where.rank);
        return { kind: 'confirmations', rank: own.rank, attempt: where.attempt, contentId: own.id, signers, value: own.value };
      });
    },
    receiveLockProof(proof) {
      return receiveCertificate('vote', () => {
        const raw = proof as unknown as { voters?: unknown } | undefined;
        const voters = unwrap('vote', identitiesOf('voters', readField(raw, 'voters'), membership.ids.length));
        const where = positionOf('vote', lockProofPositionSchema, withoutField(raw, 'voters'));
        return { kind: 'votes', rank: where.rank, attempt: where.attempt, contentId: where.value, signers: voters, value: null };
      });
    },
  };
  return { api };
}

/**
 * What a throw at the door becomes: the engine's own refusal as it is, and
 * anything else (a peer's getter may throw a Proxy on which even
 * `instanceof` throws) a malformed message.
 */
function asRefusal(kind: MessageKind, error: unknown): ConsensusInputError {
  let own = false;
  try {
    own = error instanceof ConsensusInputError;
  } catch {
    own = false;
  }
  return own ? (error as ConsensusInputError) : new MalformedMessageError(kind, [`unreadable: ${describeError(error)}`]);
}

/** Identity and rank of a peer's value, read once, for values the engine does not keep. */
function readIds(label: string, raw: unknown): Read<{ id: Identity; rank: number }> {
  const id = identityOf(label, raw);
  if (!id.ok) return id;
  let rank: unknown;
  try {
    rank = (raw as Unique).rank();
  } catch (error) {
    return { ok: false, issue: `${label}.rank() threw: ${describeError(error)}` };
  }
  const checked = checkRank(`${label}.rank()`, rank);
  return checked.ok ? { ok: true, value: { id: id.value, rank: checked.value } } : checked;
}

/** One field of a peer's object, read once (a throwing getter is the caller's to catch). */
function readField(raw: unknown, field: string): unknown {
  if (typeof raw !== 'object' || raw === null) return undefined;
  return (raw as Record<string, unknown>)[field];
}

/** The object's other fields as plain data, for the schema to check. */
function withoutField(raw: unknown, field: string): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const plain = JSON.parse(JSON.stringify(raw) ?? 'null') as Record<string, unknown> | null;
  if (plain !== null && typeof plain === 'object') delete plain[field];
  return plain;
}
