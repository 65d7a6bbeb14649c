import { assign, cancel, emit, fromPromise, raise, setup, stateIn } from 'xstate';
import type { Identity, Unique } from '../../providers/unique';
import { admit, admitsCertificate } from '../../guards/admission';
import { isValidFinalization } from '../../guards/finalization';
import { hasLivenessQuorum } from '../../guards/liveness';
import { canProve, lacksProvers, needsCollection, proversKnown, shouldAnnounceLiveness } from '../../guards/provers';
import { membershipsFor, outdatesProvers, takesPart } from '../../guards/membership';
import { isMemberOf } from '../../guards/quorum';
import { concernsNextRank, nextRank, rankOf } from '../../guards/rank';
import {
  attestedAt,
  attestedKey,
  keepAttested,
  attemptTimeoutOf,
  canLockOnFinding,
  committedValue,
  currentSlot,
  hasConfirmedInAttempt,
  hasProposalsToJudge,
  hasVotedInAttempt,
  isProposerOfAttempt,
  lockedProposal,
  mayExtendAttempt,
  lockProofGroup,
  needsLockProof,
  proposerOfValue,
  skipTarget,
  valueOf,
  votableProposals,
} from '../../guards/roundChange';
import { roundPortsOf, type ProviderCall, type ProviderCallInputs, type ProviderCallOutputs } from '../roundPorts';
import { filterAt, lookup, pruneAttemptsBelow, pruneThrough, recordFirst, slotKey } from '../rankBook';
import type {
  ProposalRecord,
  RoundAttemptEmit,
  RoundContext,
  RoundEmitted,
  RoundEvent,
  RoundInput,
  RoundSafetyState,
  RoundStateName,
  VoteRecord,
} from '../round.types';
import { candidateOf, rankOrNaN, isDataEvent, recordEntry, noteAttempt, withEvidence } from './recording';
import { type AttemptMove, attemptAfter, freshAttempt, reproposal } from './attempts';
import { restoredValue } from './safety';
import { tally, type TallyName } from './tally';

/**
 * Every top-level state announces its entry (re-entries too) with the event
 * that caused it: how the engine follows the round's transitions without an
 * inspector on the whole actor system, which would make XState describe
 * every event, snapshot and invoked actor of it.
 */
export const entered = (state: RoundStateName) => ({ type: 'announceState' as const, params: { state } });

/** The id of the attempt's timer, so leaving the attempt can cancel it. */
export const ATTEMPT_TIMER_ID = 'round.attempt-timer';

/**
 * A provider call through the round's ports (see `RoundPorts`). Without
 * ports, `orElse` answers, or the call rejects: an engine passes ports in the
 * input; anyone else may still `provide()` actors of their own.
 */
function port<K extends ProviderCall>(call: K, orElse?: () => ProviderCallOutputs[K]) {
  return fromPromise<ProviderCallOutputs[K], ProviderCallInputs[K]>(async ({ input, system, signal }) => {
    const run = roundPortsOf(system)?.[call] as
      | ((input: ProviderCallInputs[K], signal: AbortSignal) => Promise<ProviderCallOutputs[K]>)
      | undefined;
    if (run !== undefined) return run(input, signal);
    if (orElse !== undefined) return orElse();
    throw new Error(`${call}: no provider configured; use createConsensusEngine, ports in the input, or machine.provide()`);
  });
}

/** The round machine's implementations: actors (provider calls through the ports), delays, guards and actions. */
export const roundSetup = setup({
  types: {
    context: {} as RoundContext,
    events: {} as RoundEvent,
    input: {} as RoundInput,
    emitted: {} as RoundEmitted,
  },
  actors: {
    synchronize: port('synchronize'),
    getNextLeaders: port('getNextLeaders'),
    collect: port('collect'),
    sendLiveness: port('sendLiveness'),
    proveNextState: port('proveNextState'),
    sendProposal: port('sendProposal'),
    decideAndSendVote: port('decideAndSendVote'),
    finalizeVotes: port('finalizeVotes'),
    sendConfirmation: port('sendConfirmation'),
    // Without storage the safety data lives as long as the actor.
    loadSafety: port('loadSafety', () => null),
    saveSafety: port('saveSafety', () => undefined),
    cleanup: port('cleanup', () => undefined),
  },
  delays: {
    startingTimeout: ({ context }) => context.timeouts.starting,
    loadingTimeout: ({ context }) => context.timeouts.loading,
    syncRetryDelay: ({ context }) => context.timeouts.syncRetry,
    collectingTimeout: ({ context }) => context.timeouts.collecting,
    livenessCheckTimeout: ({ context }) => context.timeouts.livenessCheck,
    provingTimeout: ({ context }) => context.timeouts.proving,
    publishingTimeout: ({ context }) => context.timeouts.publishing,
    votingTimeout: ({ context }) => context.timeouts.voting,
    finalizingTimeout: ({ context }) => context.timeouts.finalizing,
    verifyingTimeout: ({ context }) => context.timeouts.verifying,
    stoppingTimeout: ({ context }) => context.timeouts.stopping,
    /** Grows with the attempt: base × growth^attempt, capped (SPEC §2.8). */
    attemptTimeout: ({ context }) => attemptTimeoutOf(context),
  },
  guards: {
    /** A node that does not vote in the rank waits for no prover: nothing it proves or votes depends on them. */
    hasLivenessQuorum: ({ context }) => hasLivenessQuorum(context) || !takesPart(context),
    mayExtendAttempt: ({ context }) => mayExtendAttempt(context),
    lacksProvers: ({ context }) => lacksProvers(context),
    proversUnknown: ({ context }) => !proversKnown(context),
    /**
     * Attempt 0: every prover; a later attempt: its one proposer, prover or
     * not (the turn passes to other members when the provers are silent).
     */
    canProve: ({ context }) =>
      takesPart(context) && (context.attempt === 0 ? canProve(context) : isProposerOfAttempt(context) && context.collected !== null),
    /** Not a voter in the rank being decided: it follows the members' confirmations instead. */
    isFollower: ({ context }) => !takesPart(context),
    /** Not a member of the rank being decided at all (not merely behind in reading the log). */
    isOutsider: ({ context }) => !isMemberOf(context.membership, context.selfId),
    shouldAnnounceLiveness: ({ context }) => shouldAnnounceLiveness(context),
    needsCollection: ({ context }) => needsCollection(context),
    hasVotedInAttempt: ({ context }) => hasVotedInAttempt(context),
    hasProposalsToJudge: ({ context }) => hasProposalsToJudge(context),
    needsLockProof: ({ context }) => needsLockProof(context),
    hasConfirmedInAttempt: ({ context }) => hasConfirmedInAttempt(context),
    /** Sent once per attempt: recorded in the books (echoed), or its send completed. */
    hasSentConfirmation: ({ context }) =>
      context.confirmationSentAttempt >= context.attempt ||
      lookup(context.confirmations, currentSlot(context), context.selfId) !== undefined,
    isSafetyRestored: stateIn({ starting: 'restored' }),
    /**
     * A node that already proposed in this attempt sends that proposal again;
     * a later attempt's proposer re-proposes its valid value, or its own earlier proposal.
     */
    canRepropose: ({ context }) =>
      takesPart(context) &&
      (lookup(context.proposals, currentSlot(context), context.selfId) !== undefined ||
        (isProposerOfAttempt(context) && reproposal(context) !== null)),
    /** f + 1 senders at a higher attempt, counting the message just received. */
    completesSkipEvidence: ({ context, event }) => skipTarget(withEvidence(context, event)) !== null,
    isForbiddenChoice: ({ context }, params: { proposer: Unique | null }) =>
      params.proposer !== null && votableProposals(context)[params.proposer.identity()] === undefined,
    /** Locked on another value, and the proposal's cited attempt really had 2f + 1 votes for it. */
    provesCitedLock: ({ context }) => needsLockProof(context) && tally(context, 'proof') !== null,
    foundCommit: ({ context }, params: { among: TallyName }) => tally(context, params.among)?.kind === 'commit',
    foundLock: ({ context }, params: { among: TallyName }) => {
      const finding = tally(context, params.among);
      return finding?.kind === 'lock' && canLockOnFinding({ ...context, finding });
    },
    foundPolka: ({ context }, params: { among: TallyName }) => {
      const finding = tally(context, params.among);
      return finding?.kind === 'lock' && valueOf(finding.endorses) !== null;
    },
    foundNilVotes: ({ context }, params: { among: TallyName }) => tally(context, params.among)?.kind === 'nil_votes',
    foundNilConfirmations: ({ context }, params: { among: TallyName }) =>
      tally(context, params.among)?.kind === 'nil_confirmations',
    hasCommitFinding: ({ context }) => context.finding?.kind === 'commit',
    hasNilFinding: ({ context }) => context.finding?.kind === 'nil_votes',
    echoesOwnMessages: ({ context }) => context.shouldEmitReceiveEventsOnSends,
    /** Only news re-evaluates a waiting state: a duplicate or refused message changes nothing. */
    isNewsForNextRank: ({ context, event }) => {
      if (!isDataEvent(event)) return false;
      const candidate = candidateOf(event);
      // Forwarded by the engine's intake because it is news; already in the books.
      if (event.recorded === true) return concernsNextRank(context, candidate.rank);
      const admission = admit(context, candidate);
      return admission.admitted && !admission.duplicate && concernsNextRank(context, candidate.rank);
    },
    isNewCertificate: ({ context, event }) =>
      event.type === 'certificate_received' &&
      concernsNextRank(context, event.record.rank) &&
      attestedAt(context, event.record.kind, event.record.rank, event.record.attempt) === undefined &&
      admitsCertificate(context, event.record),
    isForwardSync: ({ context }, params: { state: Unique }) => rankOrNaN(params.state) >= context.activeRank,
    isProposalForNextRank: ({ context }, params: { proposal: Unique }) =>
      rankOrNaN(params.proposal) === nextRank(context),
    isValidFinalization: ({ context }, params: { state: Unique; proposer: Unique }) =>
      isValidFinalization(context, params.state, params.proposer),
  },
  actions: {
    announceState: emit(({ event }, params: { state: RoundStateName }) => ({
      type: 'state_entered' as const,
      state: params.state,
      event: event.type,
    })),
    reportProviderError: emit((_, params: { state: RoundStateName; call: string; error: unknown }) => ({
      type: 'provider_error' as const,
      ...params,
    })),
    /** Thresholds may depend on the active state: the ports say how, if they do. */
    resolveThresholds: assign(({ context, self }) => {
      const thresholds = roundPortsOf(self.system)?.thresholdsFor?.(context.activeState);
      return thresholds === undefined ? {} : { thresholds };
    }),
    adoptSyncedState: assign(({ context }, params: { state: Unique }) => {
      const rank = rankOf(params.state);
      return {
        activeState: params.state,
        activeRank: rank,
        ...membershipsFor(context.membership, context.membershipsAhead, rank + 1),
        nextState: null,
        nextProposer: null,
        ...(rank > context.activeRank ? freshAttempt() : {}),
        liveness: pruneThrough(context.liveness, rank),
        proposals: pruneThrough(context.proposals, rank),
        votes: pruneThrough(context.votes, rank),
        confirmations: pruneThrough(context.confirmations, rank),
        attemptsSeen: pruneThrough(context.attemptsSeen, rank),
        attested: keepAttested(context.attested, (record) => record.rank > rank),
      };
    }),
    /** A new round; safety data stored for its rank (a restart mid-rank) carries over. */
    beginRound: assign(({ context }) => {
      const restored = context.restored?.rank === nextRank(context) ? context.restored : null;
      const fresh = { collected: null, nextProvers: [], nextProversRank: null, livenessAnnounced: false };
      if (restored === null) return fresh;
      const lock = context.lock ?? restoredValue(restored.lock);
      // A restored lock is a value this node saw a quorum of votes for: valid, and remembered.
      const valid = context.valid ?? restoredValue(restored.valid) ?? (lock?.value != null ? lock : null);
      const polka = context.polka ?? (lock === null ? null : { attempt: lock.attempt, contentId: lock.contentId });
      const own = restored.proposal;
      return {
        ...fresh,
        // A lock or valid value was seen in its attempt: the node had reached that attempt, whether or not it voted there.
        attempt: Math.max(context.attempt, restored.votedAttempt, restored.confirmedAttempt, own?.attempt ?? 0, lock?.attempt ?? 0, valid?.attempt ?? 0),
        votedAttempt: Math.max(context.votedAttempt, restored.votedAttempt),
        confirmedAttempt: Math.max(context.confirmedAttempt, restored.confirmedAttempt),
        lock,
        valid,
        polka,
        // Its own proposal stands: a restarted proposer sends the same one again.
        proposals:
          own === null || own === undefined
            ? context.proposals
            : recordFirst<ProposalRecord>(context.proposals, slotKey(nextRank(context), own.attempt), context.selfId, {
                value: own.value,
                contentId: own.contentId,
                validAttempt: own.validAttempt,
              }),
      };
    }),
    /** The engine read more of its log: memberships it scheduled, and how far it read. */
    updateMemberships: assign(({ context, event }) => {
      if (event.type !== 'memberships_updated') return {};
      const memberships = membershipsFor(context.membership, event.schedule, nextRank(context));
      const settledThrough = Math.max(context.membershipSettledThrough ?? -1, event.settledThrough);
      const forgetProvers = outdatesProvers(context, settledThrough, memberships.membership);
      return {
        ...memberships,
        membershipSettledThrough: settledThrough,
        ...(forgetProvers ? { nextProvers: [], nextProversRank: null } : {}),
      };
    }),
    restoreSafety: assign((_, params: { record: RoundSafetyState | null }) => ({ restored: params.record })),
    markVoted: assign(({ context }) => ({ votedAttempt: context.attempt })),
    markConfirmed: assign(({ context }) => ({ confirmedAttempt: context.attempt })),
    markConfirmationSent: assign(({ context }) => ({ confirmationSentAttempt: context.attempt })),
    raiseCommitQuorum: raise({ type: 'commit_quorum' as const }),
    raiseQuorumReached: raise({ type: 'quorum_reached' as const }),
    raiseAttemptFailed: raise({ type: 'attempt_failed' as const }),
    /**
     * 2f + 1 votes for a value this node cannot lock on (its proposal is not
     * held, or the attempt is past): kept as the newest such proof, and as the
     * valid value a later proposer re-proposes when the proposal is held.
     */
    rememberPolka: assign(({ context }, params: { among: TallyName }) => {
      const finding = tally(context, params.among);
      if (finding?.kind !== 'lock') return {};
      const contentId = valueOf(finding.endorses);
      if (contentId === null || (context.polka !== null && context.polka.attempt >= finding.attempt)) return {};
      const polka = { attempt: finding.attempt, contentId };
      const held = lockedProposal(context, finding.endorses, finding.attempt);
      if (held === null || (context.valid !== null && context.valid.attempt >= finding.attempt)) return { polka };
      const valid = { contentId, proposerId: held.proposer, attempt: finding.attempt, value: held.proposal.value };
      return { polka, valid };
    }),
    storeTally: assign(({ context }, params: { among: TallyName }) => ({ finding: tally(context, params.among) })),
    acceptProof: assign(({ context }) => {
      const group = lockProofGroup(context)[0];
      return { provenValue: group?.value ?? null };
    }),
    /** A certificate the engine checked: kept once per kind and slot, the first standing. */
    recordCertificate: assign(({ context, event }) => {
      if (event.type !== 'certificate_received') return {};
      const { record } = event;
      const key = attestedKey(record.kind, record.rank, record.attempt);
      if (Object.prototype.hasOwnProperty.call(context.attested, key) || !admitsCertificate(context, record)) return {};
      return { attested: { ...context.attested, [key]: record } };
    }),
    /**
     * Tendermint line 36: 2f + 1 votes for v in this attempt lock v here and
     * make it the valid value a later proposer re-proposes.
     */
    lockOnFinding: assign(({ context }) => {
      const finding = context.finding;
      if (finding?.kind !== 'lock') return {};
      const held = lockedProposal(context, finding.endorses, finding.attempt);
      if (held === null) return {};
      const lock = { contentId: held.proposal.contentId, proposerId: held.proposer, attempt: finding.attempt, value: held.proposal.value };
      return { lock, valid: lock, polka: { attempt: finding.attempt, contentId: lock.contentId } };
    }),
    markAttemptExtended: assign(({ context }) => ({ attemptExtended: context.attempt })),
    armAttemptTimer: raise({ type: 'attempt_timeout' as const }, { delay: 'attemptTimeout', id: ATTEMPT_TIMER_ID }),
    cancelAttemptTimer: cancel(ATTEMPT_TIMER_ID),
    announceAttemptChange: emit(({ context }, params: { to: AttemptMove; reason: RoundAttemptEmit['reason'] }) => ({
      type: 'attempt_changed' as const,
      rank: nextRank(context),
      from: context.attempt,
      to: attemptAfter(context, params.to),
      reason: params.reason,
    })),
    /** Leaves the attempt: attempts too old for any rule to need are dropped. */
    moveToAttempt: assign(({ context }, params: { to: AttemptMove }) => {
      const to = attemptAfter(context, params.to);
      const rank = nextRank(context);
      const lowest = to - context.attemptWindow;
      return {
        attempt: to,
        finding: null,
        provenValue: null,
        nextState: null,
        nextProposer: null,
        proposals: pruneAttemptsBelow(context.proposals, rank, lowest),
        votes: pruneAttemptsBelow(context.votes, rank, lowest),
        confirmations: pruneAttemptsBelow(context.confirmations, rank, lowest),
        attested: keepAttested(context.attested, (record) => record.rank !== rank || record.attempt >= lowest),
      };
    }),
    storeCollected: assign((_, params: { collected: Unique }) => ({ collected: params.collected })),
    /** Learning the provers also drops what non-provers sent for their rank. */
    storeNextProvers: assign(({ context }, params: { provers: Unique[] }) => {
      const rank = nextRank(context);
      const provers = params.provers.map((p) => p.identity());
      const isProverId = (id: Identity) => provers.includes(id);
      return {
        nextProvers: params.provers,
        nextProversRank: rank,
        liveness: filterAt(context.liveness, rank, isProverId),
        // Attempt 0 only: a later attempt's proposer may be any member.
        proposals: filterAt(context.proposals, rank, isProverId, 0),
        votes: filterAt(context.votes, rank, (_, record: VoteRecord) => record.proposerId === null || isProverId(record.proposerId), 0),
      };
    }),
    markLivenessAnnounced: assign({ livenessAnnounced: true }),
    /** Records this node's own announcement as if received (no echoing transport). */
    echoOwnLiveness: raise(({ context }) => ({
      type: 'liveness_check_received' as const,
      peer: context.self,
      collected: context.collected as Unique,
    })),
    /** Asks liveness_check's guard again: new provers may complete the quorum. */
    signalProvers: raise({ type: 'prover_signal' as const }),
    forgetLivenessAnnouncement: assign({ livenessAnnounced: false }),
    recordLiveness: assign(({ context, event }) => ({ liveness: recordEntry(context, event, context.liveness) })),
    recordProposal: assign(({ context, event }) => ({
      attemptsSeen: noteAttempt(context, event),
      proposals: recordEntry(context, event, context.proposals),
    })),
    recordVote: assign(({ context, event }) => ({
      attemptsSeen: noteAttempt(context, event),
      votes: recordEntry(context, event, context.votes),
    })),
    recordConfirmation: assign(({ context, event }) => ({
      attemptsSeen: noteAttempt(context, event),
      confirmations: recordEntry(context, event, context.confirmations),
    })),
    storeOwnProposal: assign(({ context }, params: { proposal: Unique }) => ({
      proposals: recordFirst<ProposalRecord>(context.proposals, currentSlot(context), context.selfId, {
        value: params.proposal,
        contentId: params.proposal.identity(),
        validAttempt: null,
      }),
    })),
    /** Tendermint line 16: the valid value if there is one, else this prover's earlier proposal. */
    storeReproposal: assign(({ context }) => {
      const again = reproposal(context) as ProposalRecord;
      return { proposals: recordFirst<ProposalRecord>(context.proposals, currentSlot(context), context.selfId, again) };
    }),
    storeNextState: assign((_, params: { state: Unique; proposer: Unique }) => ({
      nextState: params.state,
      nextProposer: params.proposer,
    })),
    /** The state 2f + 1 matching confirmations carry is what commits, whatever this node finalized. */
    adoptConfirmedState: assign(({ context }) => {
      const finding = context.finding;
      if (finding?.kind !== 'commit') return {};
      const state = committedValue(context, finding.attempt, finding.contentId);
      const proverId = proposerOfValue(context, finding.contentId) ?? context.nextProposer?.identity() ?? null;
      const proposer =
        context.nextProvers.find((prover) => prover.identity() === proverId) ??
        (context.nextProposer?.identity() === proverId ? context.nextProposer : null);
      return { nextState: state, nextProposer: proposer };
    }),
    announceCommit: emit(({ context }) => ({
      type: 'committed' as const,
      rank: nextRank(context),
      state: context.nextState as Unique,
      proposer: context.nextProposer,
      attempt: context.finding?.kind === 'commit' ? context.finding.attempt : context.attempt,
    })),
    /** Verifying's rule: the committed state becomes active and older messages go. */
    commitNextState: assign(({ context }) => {
      const committed = context.nextState as Unique;
      const rank = rankOf(committed);
      const settled = context.membershipSettledThrough;
      return {
        activeState: committed,
        activeRank: rank,
        ...membershipsFor(context.membership, context.membershipsAhead, rank + 1),
        // A change this commit carries decides ranks past every one admitted until the next commit, by which time the engine has read it.
        ...(settled === rank - 1 ? { membershipSettledThrough: rank } : {}),
        nextState: null,
        nextProposer: null,
        collected: null,
        ...freshAttempt(),
        liveness: pruneThrough(context.liveness, rank),
        proposals: pruneThrough(context.proposals, rank),
        votes: pruneThrough(context.votes, rank),
        confirmations: pruneThrough(context.confirmations, rank),
        attemptsSeen: pruneThrough(context.attemptsSeen, rank),
        attested: keepAttested(context.attested, (record) => record.rank > rank),
      };
    }),
  },
});
