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
import { logServices } from './logServices';
import { roundMemberships } from './membership/roundMemberships';
import { verifySigned } from './signing/certificate';
import { NIL_DIGEST, valueDigestOf, type StatementKind } from './signing/statement';
import {
  AttemptOutOfWindowError,
  ConsensusInputError,
  EquivocationError,
  InvalidSignatureError,
  MalformedMessageError,
  ProposalError,
  QuorumShortfallError,
  RankCapacityError,
  RankOutOfWindowError,
  ReadIndexError,
  UnexpectedSenderError,
} from './errors';
import { MAX_READ_NONCE_LENGTH, ReadIndex, reportOf, type ReadIndexOptions } from './readIndex';
import { takeIn } from '../machines/round/intake';
import { RefusalNotices } from './refusals';
import {
  attemptPositionSchema,
  certificatePositionSchema,
  describeIssues,
  lockProofPositionSchema,
  nilConfirmationPositionSchema,
  nilVotePositionSchema,
  signatureListSchema,
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
  PayloadT = unknown,
> = Omit<ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT, PayloadT>, 'actor'> & { readonly actor: ActorT };

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
  /** For a signed kind: the statement the sender's signature must cover, and the signature as sent. */
  signed?: { kind: StatementKind; valueId: Identity | null; signature: unknown };
}

/** A certificate or proof as read at the door, with the signatures it carries. */
interface PreparedCertificate {
  record: AttestedRecord;
  signatures: unknown;
  valueDigest?: string;
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
  /** The election term now, for a node that runs one: what each log entry records as its term. */
  termNow: () => number | null = () => null,
): EngineFacade<StateT, VoteT, PeerIDT, CollectedT, ActorT> {
  const { config, clock, logger, membership, memberships, peers, maxValueSize } = build;
  build.link.context = () => roundActor.getSnapshot().context;
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
  const { signing, proposals } = build;
  if (proposals !== null && config.metrics !== undefined) {
    const { metrics } = config;
    proposals.hooks.settled = (outcome, latency) => metrics.proposalSettled(outcome, latency / 1000);
  }
  /** Set by `stop`, cleared by `start`: a stopped engine takes no proposals. */
  let halted = false;
  const { log, runner, durable, catchUp, certificateRelay, snapshots, memberships: follower } = logServices(build, {
    peerOf: (id) => peerOf(id) as PeerIDT,
    rankWindow: () => context().rankWindow,
  });
  const heardAhead = roundMemberships(round, memberships, follower, log, catchUp);
  /** When a proposer hears of a commit: once it is stored, and applied with its results when the app keeps a state machine. */
  const settledAt = (index: number): Promise<ReadonlyMap<string, unknown> | undefined | void> | undefined => {
    const stored = durable?.whenStored(index);
    if (runner === null) return stored;
    const applied = runner.whenApplied(index);
    return stored === undefined ? applied : stored.then(() => applied);
  };
  // A payload's commits are known from the log: with ranks below missing from it (skipped by a sync, not yet filled), batch nothing.
  if (proposals !== null) proposals.hooks.mayBatch = (rank) => rank <= 1 || ((log.tail()?.index ?? 0) >= rank - 1 && log.missing().length === 0);
  // A rank filled in after a sync may carry this node's proposals: they committed there (told once the entry is stored).
  log.watch((entry, how) => {
    if (how === 'filled') proposals?.committed(entry.rank, entry.payload, settledAt(entry.index));
  });

  round.on('committed', (commit) => {
    build.link.pacer?.committed();
    const identity = commit.state.identity();
    logger.trace(`committed rank ${commit.rank}: ${identity}`);
    const certificate = signing?.certificate(commit.rank, commit.attempt, identity) ?? null;
    if (signing !== null && certificate === null) logger.error(`rank ${commit.rank} committed without a quorum of signed confirmations held`, null);
    const record: CommitRecord<StateT, PeerIDT> = {
      rank: commit.rank,
      state: commit.state as StateT,
      proposer: commit.proposer as PeerIDT | null,
      attempt: commit.attempt,
      certificate,
    };
    signing?.book.dropThrough(commit.rank);
    if ((log.tail()?.index ?? -1) < commit.rank) {
      const entry = {
        index: commit.rank,
        rank: commit.rank,
        attempt: commit.attempt,
        term: termNow(),
        valueDigest: valueDigestOf(identity),
        proposer: record.proposer,
        certificate,
        payload: record.state,
      };
      log.append(entry);
      certificateRelay?.committed(commit.rank, context().rankWindow);
      catchUp?.check();
    }
    proposals?.committed(commit.rank, commit.state as StateT, settledAt(commit.rank));
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
    config.metrics?.refused(error.code);
    if (error instanceof EquivocationError) logger.error(`equivocation by ${error.sender}`, error);
    else logger.trace(error.message);
    refusals.note(error, sender);
    if (error instanceof RankOutOfWindowError && error.code === 'stale_rank' && sender !== null) certificateRelay?.stillDeciding(sender, error.rank);
    if (error instanceof RankOutOfWindowError && error.code === 'future_rank') heardAhead();
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
    // A member of any membership kept: admission then checks the one of the message's rank.
    if (!memberships.isKnown(id)) {
      throw new UnexpectedSenderError('not_member', kind, id, `${id} is not a member`);
    }
    if (isSender) atTheDoor = id;
    return id;
  }

  /**
   * Runs a receive that is not a round message: any refusal goes through
   * `refuse`, as every other message's does (noted, counted, warned about).
   */
  function atDoor<T>(take: () => T): T {
    atTheDoor = null;
    try {
      return take();
    } catch (error) {
      refuse(asRefusal('confirmation', error), atTheDoor);
    }
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
    if (signing !== null && prepared.signed !== undefined) {
      // Checked only for what would be kept: a duplicate or a refusal costs no verification.
      const { kind: statement, valueId, signature } = prepared.signed;
      const digest = valueId === null ? NIL_DIGEST : valueDigestOf(valueId);
      if (!signing.check(candidate.sender, statement, candidate.rank, candidate.attempt, digest, signature)) {
        const detail = signature === undefined ? 'carries no signature' : 'carries a signature that is not its sender\'s over it';
        refuse(new InvalidSignatureError(kind, candidate.sender, `${statement.replace('_', ' ')} from ${candidate.sender} for rank ${candidate.rank}, attempt ${candidate.attempt} ${detail}`), candidate.sender);
      }
      // Evidence for skipping ahead is a note, not a held message: its signature is not kept either,
      // or a member could grow the book with one vote per attempt far ahead.
      if (admission.evidenceOnly !== true) {
        signing.book.add(statement, candidate.rank, candidate.attempt, digest, candidate.sender, signature as string);
        // An aggregator's quorum may be complete now: judged before the round takes the message in and perhaps moves on.
        if (valueId !== null && (statement === 'vote' || statement === 'confirmation')) build.linear?.signed(statement, candidate.rank, candidate.attempt, valueId);
      }
    }
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
  function receiveCertificate(kind: 'vote' | 'confirmation', prepare: () => PreparedCertificate): ReceiveResult {
    let prepared: PreparedCertificate;
    try {
      prepared = prepare();
    } catch (error) {
      refuse(asRefusal(kind, error), null);
    }
    const { record } = prepared;
    const admission = admitsCertificateAt(context(), record);
    if (!admission.admitted) {
      // Blamed: the signer at fault when one is, so an app acting on `sender` never punishes an honest member.
      const outsider = admission.reason === 'not_member' ? record.signers.find((signer) => !isMemberOf(memberships.at(record.rank) ?? membership, signer)) : undefined;
      refuse(toInputError({ kind, sender: outsider ?? record.signers[0] ?? '', rank: record.rank, attempt: record.attempt }, context(), admission), null);
    }
    if (admission.duplicate) return 'duplicate';
    if (signing !== null) {
      const what = kind === 'vote' ? 'lock proof' : 'commit certificate';
      const statement: StatementKind = kind === 'vote' ? 'vote' : 'confirmation';
      const valueDigest = valueDigestOf(record.contentId);
      if (prepared.valueDigest !== undefined && prepared.valueDigest !== valueDigest) {
        refuse(new InvalidSignatureError(kind, null, `${what} for rank ${record.rank} names digest ${prepared.valueDigest}, not its value's`), null);
      }
      const signatures = signatureListSchema.safeParse(prepared.signatures);
      if (!signatures.success) refuse(new InvalidSignatureError(kind, null, `${what} for rank ${record.rank} carries no readable signatures`), null);
      const verdict = verifySigned(
        { kind: statement, rank: record.rank, attempt: record.attempt, valueDigest, signers: record.signers, signatures: signatures.data },
        signing.membersAt(record.rank),
        signing.chainId,
        signing.verifier,
      );
      if (!verdict.valid) refuse(new InvalidSignatureError(kind, verdict.signer ?? null, `${what} for rank ${record.rank}: ${verdict.reason}`), null);
      record.signers.forEach((signer, i) => signing.book.add(statement, record.rank, record.attempt, valueDigest, signer, signatures.data[i]));
    }
    round.send({ type: 'certificate_received', record });
    return 'accepted';
  }

  const { state: stateCodec, vote: voteCodec } = config.codec;

  const reads = new ReadIndex<PeerIDT>({
    self: config.id.identity(), clock, retryMs: config.certificateRelay?.interval ?? 200,
    relay: (config.providers.relay ?? {}) as ReadIndexOptions<PeerIDT>['relay'],
    membership: () => memberships.at(context().activeRank + 1) ?? membership,
    report: () => reportOf(round.getSnapshot()),
    applied: () => runner?.applied ?? context().activeRank,
  });
  // After the log's other watchers: the state machine applies what was appended first.
  const serveReads = () => void (reads.applyingCount > 0 && queueMicrotask(() => reads.progressed()));
  log.watch(serveReads);
  round.on('committed', serveReads);

  const api: RoundEngineApi<StateT, VoteT, PeerIDT, CollectedT, ActorT> = {
    id: config.id,
    actor: roundActor,
    start() {
      halted = false;
      catchUp?.start();
      round.send({ type: 'start' });
    },
    async stop() {
      halted = true;
      proposals?.abandon();
      reads.abandon();
      catchUp?.stop();
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
    getMembership: () => memberships.at(context().activeRank + 1) ?? membership,
    getMembershipAt: (rank) => memberships.at(rank),
    onMembershipChange: (listener) => memberships.onChange(listener),
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
    log,
    commits: ({ from, signal } = {}) => log.follow(from ?? (log.tail()?.index ?? context().activeRank) + 1, signal),
    getPublicKey: () => signing?.publicKey ?? null,
    onLogEntry(listener) {
      return log.watch((entry, how) => {
        try {
          listener(entry, how);
        } catch (error) {
          logger.error('a log listener threw', error);
        }
      });
    },
    propose(payload, options) {
      if (proposals === null) return Promise.reject(new ProposalError('not_configured', 'this engine has no proposals configuration'));
      if (halted) return Promise.reject(new ProposalError('stopped', 'the engine is stopped'));
      return proposals.propose(payload, context().activeState as StateT, options);
    },
    receivePayload(from, payload) {
      if (proposals === null) throw new ProposalError('not_configured', 'this engine has no proposals configuration');
      const sender = identityOf('from', from);
      if (!sender.ok || !memberships.isKnown(sender.value) || sender.value === config.id.identity()) {
        throw new ProposalError('not_member', 'a forwarded payload must come from another member');
      }
      return proposals.receive(sender.value, payload, context().activeState as StateT);
    },
    getPendingProposalCount: () => proposals?.pending ?? 0,
    getAppliedIndex: () => runner?.applied ?? Number(config.initialState.rank()),
    latestSnapshot: () => runner?.snapshot ?? null,
    readIndex: (options = {}) => (halted ? Promise.reject(new ReadIndexError('stopped', 'the engine is stopped')) : reads.read(options.deadline)),
    receiveReadIndexRequest: (peer, nonce) =>
      void atDoor(() => {
        const sender = memberOf('confirmation', 'peer', peer);
        if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > MAX_READ_NONCE_LENGTH) throw new MalformedMessageError('confirmation', ['a read request needs a nonce string of 1 to 64 characters']);
        reads.answer(peerOf(sender) as PeerIDT, nonce);
      }),
    receiveReadIndex: (peer, nonce, index) =>
      atDoor(() => {
        const sender = memberOf('confirmation', 'peer', peer);
        if (typeof nonce !== 'string' || !Number.isSafeInteger(index) || index < 0) throw new MalformedMessageError('confirmation', ['a read answer needs a nonce string and an index ≥ 0']);
        return reads.receive(sender, nonce, index);
      }),
    receiveEntriesRequest: (peer, from, to) =>
      atDoor(() => {
        const sender = memberOf('confirmation', 'peer', peer);
        if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
          throw new MalformedMessageError('confirmation', ['an entries request needs integer ranks 0 ≤ from ≤ to']);
        }
        // Entries older than the log holds: the snapshot that covers them, if there is one.
        snapshots?.answer(sender, from);
        return catchUp?.answer(sender, from, to) ?? 0;
      }),
    receiveSnapshotChunk: (peer, chunk) =>
      atDoor(() => {
        const outcome = snapshots?.receive(memberOf('confirmation', 'peer', peer), chunk) ?? 'ignored';
        if (outcome === 'restored') catchUp?.check();
        return outcome;
      }),
    receiveEntries: (peer, entries) =>
      atDoor(() => {
        // Not only members: each entry's certificate is checked against its rank's members, so who
        // carried it does not matter. A joiner that has not read its own admission yet knows only the
        // founders, who may all have left by then; the members it will join are who can fill its log.
        const sender = unwrap('confirmation', identityOf('peer', peer));
        atTheDoor = sender;
        if (catchUp === null) return 0;
        const filled = catchUp.receive(sender, entries);
        if (filled > 0) catchUp.check();
        return filled;
      }),
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
        const proposal = where.proposal ?? undefined;
        // A signature names the value voted for; a vote naming only its prover cannot be checked.
        if (signing !== null && proposal === undefined) throw new MalformedMessageError('vote', ['position.proposal: a signed vote names the proposal it endorses']);
        return {
          candidate: {
            kind: 'vote',
            sender,
            rank: own.rank,
            contentId: own.id,
            proposer: endorsed,
            attempt: where.attempt ?? 0,
            endorses: endorsementOf(proposal, endorsed),
          },
          event: { type: 'vote_received', proposer: peerOf(endorsed), voter: peerOf(sender), vote: own.value },
          signed: { kind: 'vote', valueId: proposal ?? null, signature: where.signature },
        };
      });
    },
    receiveNilVote(voter, vote, position) {
      return receive('vote', () => {
        const sender = memberOf('vote', 'voter', voter);
        const where = positionOf('vote', nilVotePositionSchema, position);
        const own = adopt('vote', 'vote', vote, voteCodec, where.rank);
        return {
          candidate: { kind: 'vote', sender, rank: own.rank, contentId: own.id, attempt: where.attempt ?? 0, endorses: NIL },
          event: { type: 'vote_received', proposer: null, voter: peerOf(sender), vote: own.value },
          signed: { kind: 'nil_vote', valueId: null, signature: where.signature },
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
          signed: { kind: 'confirmation', valueId: own.id, signature: where.signature },
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
          signed: { kind: 'nil_confirmation', valueId: null, signature: where.signature },
        };
      });
    },
    receiveCommitCertificate(state, certificate) {
      return receiveCertificate('confirmation', () => {
        const raw = certificate as unknown as { signers?: unknown } | undefined;
        const signers = unwrap('confirmation', identitiesOf('signers', readField(raw, 'signers'), memberships.largest()));
        const signatures = plainField('confirmation', raw, 'signatures');
        const where = positionOf('confirmation', certificatePositionSchema, withoutFields(raw, ['signers', 'signatures']));
        const own = adopt('confirmation', 'state', state, stateCodec, where.rank);
        return {
          record: { kind: 'confirmations', rank: own.rank, attempt: where.attempt, contentId: own.id, signers, value: own.value },
          signatures,
          valueDigest: where.valueDigest,
        };
      });
    },
    receiveLockProof(proof) {
      return receiveCertificate('vote', () => {
        const raw = proof as unknown as { voters?: unknown } | undefined;
        const voters = unwrap('vote', identitiesOf('voters', readField(raw, 'voters'), memberships.largest()));
        const signatures = plainField('vote', raw, 'signatures');
        const where = positionOf('vote', lockProofPositionSchema, withoutFields(raw, ['voters', 'signatures']));
        return {
          record: { kind: 'votes', rank: where.rank, attempt: where.attempt, contentId: where.value, signers: voters, value: null },
          signatures,
          valueDigest: where.valueDigest,
        };
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
function withoutFields(raw: unknown, fields: readonly string[]): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const plain = JSON.parse(JSON.stringify(raw) ?? 'null') as Record<string, unknown> | null;
  if (plain !== null && typeof plain === 'object') for (const field of fields) delete plain[field];
  return plain;
}

/** One field as plain data, read once; undefined when absent. */
function plainField(kind: MessageKind, raw: unknown, field: string): unknown {
  const value = readField(raw, field);
  if (value === undefined) return undefined;
  const plain = plainCopy(field, value, 65_536 * 100);
  if (!plain.ok) throw new MalformedMessageError(kind, [plain.issue]);
  return plain.value;
}
