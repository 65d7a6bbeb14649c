import { assign, cancel, emit, enqueueActions, fromPromise, raise, setup, stateIn } from 'xstate';
import type { Identity, Unique } from '../providers/unique';
import { admit, admitsCertificate, slotOf, type Candidate } from '../guards/admission';
import { isValidFinalization } from '../guards/finalization';
import { hasLivenessQuorum } from '../guards/liveness';
import { canProve, lacksProvers, needsCollection, shouldAnnounceLiveness } from '../guards/provers';
import { concernsNextRank, nextRank, rankOf } from '../guards/rank';
import {
  attestedAt,
  attestedKey,
  findQuorum,
  keepAttested,
  attemptTimeoutOf,
  canLockOnFinding,
  committedValue,
  confirmationGroups,
  currentSlot,
  endorsementIn,
  endorsementOf,
  hasConfirmedInAttempt,
  hasProposalsToJudge,
  hasVotedInAttempt,
  isProposerOfAttempt,
  lockedProposal,
  lockProofGroup,
  needsLockProof,
  NIL,
  proposerOfValue,
  skipTarget,
  pastPolkaGroups,
  valueOf,
  voteGroups,
  votableProposals,
} from '../guards/roundChange';
import { bindRoundPorts, roundPortsOf, type ProviderCall, type ProviderCallOutputs } from './roundPorts';
import { attemptsAt, entriesAt, filterAt, lookup, pruneAttemptsBelow, pruneThrough, recordFirst, slotKey } from './rankBook';
import type {
  BookEntry,
  ConfirmationRecord,
  MessageIds,
  ProposalRecord,
  QuorumFinding,
  QuorumGroup,
  RankBook,
  RoundAttemptEmit,
  RoundContext,
  RoundDataEvent,
  RoundEmitted,
  RoundEvent,
  RoundInput,
  RoundSafetyState,
  RoundStateName,
  LockRecord,
  SafetyValueRecord,
  VoteRecord,
} from './round.types';

/** Inputs of the invoked provider calls: plain records, so the inspector can show them. */
export interface ProviderCallInputs {
  synchronize: { existing: Unique };
  getNextLeaders: { prior: Unique };
  collect: Record<string, never>;
  sendLiveness: { prior: Unique; collected: Unique };
  proveNextState: { prior: Unique; collected: Unique };
  sendProposal: { proposal: Unique; rank: number; attempt: number; validAttempt: number | null };
  /** Empty `proposals`: nothing may be voted for; the provider sends a nil vote. */
  decideAndSendVote: { proposals: Readonly<Record<Identity, Unique>>; rank: number; attempt: number };
  finalizeVotes: { proposals: Readonly<Record<Identity, Unique>>; votes: Readonly<Record<Identity, Unique>> };
  /** `finalized` null: a nil confirmation. */
  sendConfirmation: { finalized: Unique | null; rank: number; attempt: number };
  loadSafety: Record<string, never>;
  saveSafety: { record: RoundSafetyState };
  cleanup: Record<string, never>;
}

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

function rankOrNaN(value: Unique): number {
  try {
    return rankOf(value);
  } catch {
    return Number.NaN;
  }
}

/**
 * The rank and sender a data event is about, in the form `admit` checks: the
 * ids the engine already checked when it has them, so a peer's methods are
 * never asked twice; read from the values only for the node's own echoes.
 */
export function candidateOf(event: RoundDataEvent): Candidate {
  if (event.ids !== undefined) {
    const { sender, rank, contentId, proposerId, attempt, endorses } = event.ids;
    const candidate: Candidate = { kind: KIND_OF[event.type], sender, rank, contentId, attempt };
    if (proposerId !== undefined) candidate.proposer = proposerId;
    if (event.type === 'vote_received') candidate.endorses = endorses ?? endorsementOf(undefined, proposerId);
    if (event.type === 'confirmation_received' && event.ids.nil === true) candidate.nil = true;
    return candidate;
  }
  // Without ids (an app sending straight to the actor): attempt 0, the reference's form.
  switch (event.type) {
    case 'liveness_check_received':
      return {
        kind: 'liveness',
        sender: event.peer.identity(),
        rank: event.collected === null ? Number.NaN : rankOrNaN(event.collected),
        contentId: event.collected === null ? '' : event.collected.identity(),
        attempt: 0,
      };
    case 'proposal_received':
      return {
        kind: 'proposal',
        sender: event.peer.identity(),
        rank: rankOrNaN(event.proposal),
        contentId: event.proposal.identity(),
        attempt: 0,
      };
    case 'vote_received': {
      const proposer = event.proposer?.identity();
      return {
        kind: 'vote',
        sender: event.voter.identity(),
        rank: rankOrNaN(event.vote),
        contentId: event.vote.identity(),
        attempt: 0,
        endorses: endorsementOf(undefined, proposer),
        ...(proposer === undefined ? {} : { proposer }),
      };
    }
    case 'confirmation_received':
      return {
        kind: 'confirmation',
        sender: event.peer.identity(),
        rank: event.state === null ? Number.NaN : rankOrNaN(event.state),
        contentId: event.state === null ? NIL : event.state.identity(),
        attempt: 0,
        ...(event.state === null ? { nil: true } : {}),
      };
  }
}

const KIND_OF = {
  liveness_check_received: 'liveness',
  proposal_received: 'proposal',
  vote_received: 'vote',
  confirmation_received: 'confirmation',
} as const;

function isDataEvent(event: RoundEvent): event is RoundDataEvent {
  return (
    event.type === 'liveness_check_received' ||
    event.type === 'proposal_received' ||
    event.type === 'vote_received' ||
    event.type === 'confirmation_received'
  );
}

/**
 * Records a data event if `admit` lets it in; anything else leaves the book as
 * it was. An attempt too far ahead is not kept, only noted as evidence.
 */
function recordIn<T>(
  context: RoundContext,
  event: RoundEvent,
  book: RankBook<T>,
  entry: (e: RoundDataEvent, candidate: Candidate) => T,
) {
  if (!isDataEvent(event)) return book;
  const candidate = candidateOf(event);
  const admission = admit(context, candidate);
  if (!admission.admitted || admission.duplicate || admission.evidenceOnly) return book;
  return recordFirst(book, slotOf(candidate), candidate.sender, entry(event, candidate));
}

/** Notes the highest attempt each sender was heard at, per rank: the skip-ahead evidence. */
function noteAttempt(context: RoundContext, event: RoundEvent): RankBook<number> {
  if (!isDataEvent(event) || event.type === 'liveness_check_received') return context.attemptsSeen;
  const candidate = candidateOf(event);
  // Only an attempt past the one this node is in (attempt 0 at a rank it has not reached) can ever be
  // skip evidence, and a rank's attempt only grows: the common case, attempt 0, copies nothing.
  const current = candidate.rank === nextRank(context) ? context.attempt : 0;
  if (candidate.attempt <= current) return context.attemptsSeen;
  const admission = admit(context, candidate);
  if (!admission.admitted) return context.attemptsSeen;
  const key = slotKey(candidate.rank);
  const known = context.attemptsSeen[key]?.[candidate.sender];
  if (known !== undefined && known >= candidate.attempt) return context.attemptsSeen;
  return { ...context.attemptsSeen, [key]: { ...context.attemptsSeen[key], [candidate.sender]: candidate.attempt } };
}

/** The context as it would be once `event` is noted: what the skip guard judges. */
function withEvidence(context: RoundContext, event: RoundEvent): RoundContext {
  return { ...context, attemptsSeen: noteAttempt(context, event) };
}

const plainEntry = (value: Unique, candidate: Candidate): BookEntry => ({ value, contentId: candidate.contentId });

type AttemptMove = 'next' | 'skip';

function attemptAfter(context: RoundContext, move: AttemptMove): number {
  return move === 'next' ? context.attempt + 1 : (skipTarget(context) ?? context.attempt + 1);
}

/** Leaving an attempt: its timer stops, the change is announced, the attempt moves. */
const changeAttempt = (to: AttemptMove, reason: RoundAttemptEmit['reason']) => [
  'cancelAttemptTimer' as const,
  { type: 'announceAttemptChange' as const, params: { to, reason } },
  { type: 'moveToAttempt' as const, params: { to } },
];

/** A rank's attempt state when nothing has happened in it yet. */
function freshAttempt() {
  return {
    attempt: 0,
    votedAttempt: -1,
    confirmedAttempt: -1,
    confirmationSentAttempt: -1,
    lock: null,
    valid: null,
    finding: null,
    provenValue: null,
    polka: null,
  } satisfies Partial<RoundContext>;
}

/**
 * What the proposer of a later attempt proposes: the valid value with the
 * attempt that proved it, else its own proposal from an earlier attempt
 * (proving again would only make a different value). Null: prove anew.
 */
function reproposal(context: RoundContext): ProposalRecord | null {
  // Already proposed in this attempt (before a restart): the same proposal again, never another.
  const sent = lookup<ProposalRecord>(context.proposals, currentSlot(context), context.selfId);
  if (sent !== undefined) return sent;
  if (context.valid?.value != null) {
    return { value: context.valid.value, contentId: context.valid.contentId, validAttempt: context.valid.attempt };
  }
  for (let attempt = context.attempt - 1; attempt >= 0; attempt -= 1) {
    const own = lookup<ProposalRecord>(context.proposals, currentSlot(context, attempt), context.selfId);
    if (own !== undefined) return { value: own.value, contentId: own.contentId, validAttempt: null };
  }
  return null;
}

/** Where every state can be left for: SPEC §2.2's "any of starting … verifying". */
const interruptible = {
  stop: { target: '#round.stopping', actions: 'cancelAttemptTimer' },
  induce_sync: { target: '#round.loading', reenter: true, actions: 'cancelAttemptTimer' },
} as const;

const providerFailure = (state: RoundStateName, call: keyof ProviderCallInputs | 'isQuorum') =>
  ({
    type: 'reportProviderError',
    params: ({ event }: { event: { error?: unknown } }) => ({ state, call, error: event.error }),
  }) as const;

// Sub-steps that collecting and liveness_check share: collect, fetch the
// provers, announce liveness. Each names the state it reports failures for
// and the sub-state it hands over to.
const gatherStep = (state: RoundStateName, next: string, onFailure: string) => ({
  invoke: {
    src: 'collect' as const,
    input: () => ({}),
    onDone: {
      target: next,
      actions: {
        type: 'storeCollected' as const,
        params: ({ event }: { event: { output: Unique } }) => ({ collected: event.output }),
      },
    },
    onError: { target: onFailure, actions: providerFailure(state, 'collect') },
  },
});

const fetchLeadersStep = (state: RoundStateName, next: string, onFailure: string, then: 'signal' | 'quiet') => ({
  invoke: {
    src: 'getNextLeaders' as const,
    input: ({ context }: { context: RoundContext }) => ({ prior: context.activeState }),
    onDone: {
      target: next,
      actions: [
        {
          type: 'storeNextProvers' as const,
          params: ({ event }: { event: { output: Unique[] } }) => ({ provers: event.output }),
        },
        // Knowing the provers may complete the liveness quorum.
        ...(then === 'signal' ? ['signalProvers' as const] : []),
      ],
    },
    onError: { target: onFailure, actions: providerFailure(state, 'getNextLeaders') },
  },
});

const announceStep = (state: RoundStateName, next: string) => ({
  invoke: {
    src: 'sendLiveness' as const,
    input: ({ context }: { context: RoundContext }) => ({
      prior: context.activeState,
      collected: context.collected as Unique,
    }),
    // Every announcement is recorded like a received one when the transport
    // does not echo, so a prover whose first send failed still counts itself.
    onDone: [
      { guard: 'echoesOwnMessages' as const, target: next, actions: ['markLivenessAnnounced' as const, 'echoOwnLiveness' as const] },
      { target: next, actions: 'markLivenessAnnounced' as const },
    ],
    onError: { target: next, actions: providerFailure(state, 'sendLiveness') },
  },
});

/** A lock or valid value as the safety data keeps it, with the value when this node holds it. */
function keptValue(record: LockRecord | null): SafetyValueRecord<Unique> | null {
  if (record === null) return null;
  const { contentId, proposerId, attempt, value } = record;
  return value === null ? { contentId, proposerId, attempt } : { contentId, proposerId, attempt, value };
}

/** This node's proposal in the latest attempt of the next rank it proposed in. */
function latestOwnProposal(context: RoundContext): RoundSafetyState['proposal'] {
  const rank = nextRank(context);
  for (const attempt of attemptsAt(context.proposals, rank).reverse()) {
    const own = lookup<ProposalRecord>(context.proposals, slotKey(rank, attempt), context.selfId);
    if (own !== undefined) return { attempt, contentId: own.contentId, validAttempt: own.validAttempt, value: own.value };
  }
  return null;
}

/**
 * What is kept durably for the next rank, written before the vote, proposal
 * or confirmation it allows: the attempts voted and confirmed in, the lock
 * and the valid value (values included, so a restarted node can still
 * re-propose what it locked on), and this node's latest proposal (so a
 * restart does not propose another value in the same attempt).
 */
function safetyRecord(context: RoundContext): RoundSafetyState {
  return {
    rank: nextRank(context),
    votedAttempt: context.votedAttempt,
    confirmedAttempt: context.confirmedAttempt,
    lock: keptValue(context.lock),
    valid: keptValue(context.valid),
    proposal: latestOwnProposal(context),
  };
}

/** A kept lock or valid value as the context holds it. */
function restoredValue(record: SafetyValueRecord<Unique> | null | undefined): LockRecord | null {
  if (record === null || record === undefined) return null;
  return { contentId: record.contentId, proposerId: record.proposerId, attempt: record.attempt, value: record.value ?? null };
}

/** This node's vote as if received, with the ids a peer's would carry. */
function ownVote(context: RoundContext, proposer: Unique | null, vote: Unique): RoundDataEvent {
  const proposerId = proposer?.identity();
  const endorsed = proposerId === undefined ? undefined : votableProposals(context)[proposerId]?.contentId;
  const ids: MessageIds = {
    sender: context.selfId,
    rank: nextRank(context),
    contentId: vote.identity(),
    attempt: context.attempt,
    endorses: endorsementOf(endorsed, proposerId),
  };
  if (proposerId !== undefined) ids.proposerId = proposerId;
  return { type: 'vote_received', proposer, voter: context.self, vote, ids };
}

function ownConfirmation(context: RoundContext): RoundDataEvent {
  const state = context.nextState;
  return {
    type: 'confirmation_received',
    peer: context.self,
    state,
    ids: {
      sender: context.selfId,
      rank: nextRank(context),
      contentId: state === null ? NIL : state.identity(),
      attempt: context.attempt,
      ...(state === null ? { nil: true } : {}),
    },
  };
}

/** finalizeVotes' input: the locked proposal and the votes that locked it. */
function lockedVotes(context: RoundContext): ProviderCallInputs['finalizeVotes'] {
  const finding = context.finding;
  if (finding?.kind !== 'lock' || context.lock === null || context.lock.value === null) return { proposals: {}, votes: {} };
  const votes = entriesAt<VoteRecord>(context.votes, currentSlot(context, finding.attempt));
  return {
    proposals: { [context.lock.proposerId ?? '']: context.lock.value },
    votes: Object.fromEntries(
      Object.entries(votes)
        .filter(([, vote]) => endorsementIn(context, finding.attempt, vote) === finding.endorses)
        .map(([voter, vote]) => [voter, vote.value]),
    ),
  };
}

type DataKind = 'proposal' | 'vote' | 'confirmation';
const RECORD_ACTION = { proposal: 'recordProposal', vote: 'recordVote', confirmation: 'recordConfirmation' } as const;
const skipAhead = (kind: DataKind) => ({
  guard: 'completesSkipEvidence' as const,
  target: '#round.proving',
  reenter: true,
  actions: [RECORD_ACTION[kind], ...changeAttempt('skip', 'skip_ahead')],
});

/**
 * How the states of an attempt take peers' messages: f + 1 senders at a
 * higher attempt move this node there (Tendermint line 55); news for the
 * next rank of the kinds a state waits on re-enters it; the rest is recorded.
 */
function attemptDataHandlers(state: RoundStateName, reenterOn: DataKind[]) {
  const handlers = (kind: DataKind) => [
    skipAhead(kind),
    ...(reenterOn.includes(kind)
      ? [{ guard: 'isNewsForNextRank' as const, target: state, reenter: true, actions: RECORD_ACTION[kind] }]
      : []),
    { actions: RECORD_ACTION[kind] },
  ];
  return {
    proposal_received: handlers('proposal'),
    vote_received: handlers('vote'),
    confirmation_received: handlers('confirmation'),
  };
}

/** While a vote is being recorded or cast, news is only recorded (but a later attempt still wins). */
const castingDataHandlers = {
  ...attemptDataHandlers('voting', []),
  certificate_received: { actions: 'recordCertificate' as const },
  voting_timeout: {},
};

/** A certificate is news to a state that weighs quorums: it re-enters to weigh again. */
const certificateHandlers = (state: RoundStateName) => ({
  certificate_received: [
    { guard: 'isNewCertificate' as const, target: state, reenter: true, actions: 'recordCertificate' as const },
    { actions: 'recordCertificate' as const },
  ],
});

/**
 * The attempt's timer fired while the node waited for its provers to say
 * they are alive: they are silent, and the next attempt's proposer may
 * propose without them, as after a silent proposer.
 */
const attemptEndsEarly = { target: '#round.proving', actions: changeAttempt('next', 'timeout') };

/** The attempt ends without a commit: its timer fired, or 2f + 1 confirmed nil. */
const attemptEnds = {
  attempt_timeout: { target: '#round.proving', actions: changeAttempt('next', 'timeout') },
  attempt_failed: { target: '#round.proving', actions: changeAttempt('next', 'nil_confirmations') },
};

/** Asks whether any group of matching messages is a quorum, and acts on the first that is. */
/**
 * The groups of matching messages a state weighs, by name: what a node that
 * has not voted yet watches (confirmations, and votes of attempts it left),
 * what it weighs once it voted (the current attempt's votes too), and what
 * verifying weighs (confirmations only).
 */
export const TALLIES = {
  unvoted: (context: RoundContext) => [...confirmationGroups(context), ...pastPolkaGroups(context)],
  voted: (context: RoundContext) => [...confirmationGroups(context), ...voteGroups(context), ...pastPolkaGroups(context)],
  confirmations: (context: RoundContext) => confirmationGroups(context),
  proof: (context: RoundContext) => lockProofGroup(context),
} as const;
export type TallyName = keyof typeof TALLIES;

// Guards of one state read the same tally several times within one step, on
// one context object: weigh it once.
const tallied = new WeakMap<RoundContext, Map<TallyName, QuorumFinding | null>>();
/** The first group of `among` whose senders weigh a quorum, if any (SPEC §2.10). */
export function tally(context: RoundContext, among: TallyName): QuorumFinding | null {
  let memo = tallied.get(context);
  if (memo === undefined) tallied.set(context, (memo = new Map()));
  if (!memo.has(among)) memo.set(among, findQuorum(context, TALLIES[among](context)));
  return memo.get(among) ?? null;
}

/**
 * What a quorum found by a tally leads to, as eventless transitions: a
 * commit, a lock (or a nil confirmation) to prepare, an attempt ended by nil
 * confirmations; 2f + 1 votes for a value this node cannot lock on are only
 * remembered. Nothing found: `next`, to wait for more.
 */
const tallyOutcomes = (among: TallyName, next: string) => {
  const params = { among };
  return [
    {
      guard: { type: 'foundCommit' as const, params },
      target: 'concluded',
      actions: [{ type: 'storeTally' as const, params }, 'raiseCommitQuorum' as const],
    },
    {
      guard: { type: 'foundLock' as const, params },
      target: 'concluded',
      actions: [{ type: 'storeTally' as const, params }, 'raiseQuorumReached' as const],
    },
    {
      // 2f + 1 votes for a value whose proposal this node lacks: it cannot lock, but remembers.
      guard: { type: 'foundPolka' as const, params },
      target: next,
      actions: { type: 'rememberPolka' as const, params },
    },
    {
      guard: { type: 'foundNilVotes' as const, params },
      target: 'concluded',
      actions: [{ type: 'storeTally' as const, params }, 'raiseQuorumReached' as const],
    },
    {
      guard: { type: 'foundNilConfirmations' as const, params },
      target: 'concluded',
      actions: [{ type: 'storeTally' as const, params }, 'raiseAttemptFailed' as const],
    },
    { target: next },
  ];
};

/**
 * The round flow of SPEC §2 as a statechart. Every provider call is an invoked
 * promise actor (aborted when its state is left), every timeout a named delay,
 * every decision a named guard. The provider actors call the ports the input
 * carries (`RoundPorts`), so every engine shares this one definition; without
 * ports they reject, and `roundMachine.provide({ actors })` still works.
 */
export const roundMachine = setup({
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
    hasLivenessQuorum: ({ context }) => hasLivenessQuorum(context),
    lacksProvers: ({ context }) => lacksProvers(context),
    /**
     * Attempt 0: every prover; a later attempt: its one proposer, prover or
     * not (the turn passes to other members when the provers are silent).
     */
    canProve: ({ context }) =>
      context.attempt === 0 ? canProve(context) : isProposerOfAttempt(context) && context.collected !== null,
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
      lookup(context.proposals, currentSlot(context), context.selfId) !== undefined ||
      (isProposerOfAttempt(context) && reproposal(context) !== null),
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
        attempt: Math.max(context.attempt, restored.votedAttempt, restored.confirmedAttempt, own?.attempt ?? 0),
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
    recordLiveness: assign(({ context, event }) => ({
      liveness: recordIn(context, event, context.liveness, (_, c) => ({ contentId: c.contentId })),
    })),
    recordProposal: assign(({ context, event }) => ({
      attemptsSeen: noteAttempt(context, event),
      proposals: recordIn<ProposalRecord>(context, event, context.proposals, (e, c) => ({
        ...plainEntry((e as { proposal: Unique }).proposal, c),
        validAttempt: e.ids?.validAttempt ?? null,
      })),
    })),
    recordVote: assign(({ context, event }) => ({
      attemptsSeen: noteAttempt(context, event),
      votes: recordIn<VoteRecord>(context, event, context.votes, (e, c) => {
        const { proposer, vote } = e as { proposer: Unique | null; vote: Unique };
        return {
          value: vote,
          contentId: c.contentId,
          proposer,
          proposerId: c.proposer ?? null,
          endorses: c.endorses ?? NIL,
        };
      }),
    })),
    recordConfirmation: assign(({ context, event }) => ({
      attemptsSeen: noteAttempt(context, event),
      confirmations: recordIn<ConfirmationRecord>(context, event, context.confirmations, (e, c) => {
        const state = (e as { state: Unique | null }).state;
        return { value: state, contentId: state === null ? null : c.contentId };
      }),
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
      return {
        activeState: committed,
        activeRank: rank,
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
}).createMachine({
  id: 'round',
  initial: 'stopped',
  context: ({ input, self }) => {
    if (input.ports !== undefined) bindRoundPorts(self.system, input.ports);
    return {
      self: input.self,
      selfId: input.self.identity(),
      activeState: input.initialState,
      activeRank: rankOf(input.initialState),
      nextState: null,
      nextProposer: null,
      collected: null,
      nextProvers: [],
      nextProversRank: null,
      livenessAnnounced: false,
      liveness: {},
      proposals: {},
      votes: {},
      confirmations: {},
      thresholds: input.thresholds,
      timeouts: input.timeouts,
      rankWindow: input.rankWindow,
      membership: input.membership,
      shouldEmitReceiveEventsOnSends: input.shouldEmitReceiveEventsOnSends,
      ...freshAttempt(),
      attemptsSeen: {},
      restored: null,
      attemptWindow: input.attemptWindow,
      attested: {},
    };
  },
  // Peers' messages are recorded in every state; the states that wait on them
  // override these to re-evaluate their guards at once.
  on: {
    liveness_check_received: { actions: 'recordLiveness' },
    proposal_received: { actions: 'recordProposal' },
    vote_received: { actions: 'recordVote' },
    confirmation_received: { actions: 'recordConfirmation' },
    certificate_received: { actions: 'recordCertificate' },
  },
  states: {
    stopped: {
      on: { start: 'starting' },
    },

    // Reads the round's safety data (lock, last vote) before anything can be voted.
    starting: {
      initial: 'restoring',
      after: { startingTimeout: { actions: raise({ type: 'init_complete' }) } },
      on: {
        ...interruptible,
        // Nothing may be synced, let alone voted, before the safety data is read.
        induce_sync: { guard: 'isSafetyRestored', target: '#round.loading', reenter: true, actions: 'cancelAttemptTimer' },
        init_complete: [{ guard: 'isSafetyRestored', target: 'loading' }, { target: 'starting', reenter: true }],
      },
      states: {
        restoring: {
          invoke: {
            src: 'loadSafety',
            input: () => ({}),
            onDone: {
              target: 'restored',
              actions: { type: 'restoreSafety', params: ({ event }) => ({ record: event.output }) },
            },
            onError: { target: 'failed', actions: providerFailure('starting', 'loadSafety') },
          },
        },
        restored: {},
        failed: {},
      },
    },

    loading: {
      initial: 'synchronizing',
      after: { loadingTimeout: { actions: raise({ type: 'sync_timeout' }) } },
      on: {
        ...interruptible,
        sync_timeout: { target: 'loading', reenter: true },
        sync_complete: 'collecting',
      },
      states: {
        synchronizing: {
          invoke: {
            src: 'synchronize',
            input: ({ context }) => ({ existing: context.activeState }),
            onDone: [
              {
                guard: { type: 'isForwardSync', params: ({ event }) => ({ state: event.output }) },
                actions: [
                  { type: 'adoptSyncedState', params: ({ event }) => ({ state: event.output }) },
                  raise({ type: 'sync_complete' }),
                ],
              },
              {
                target: 'retrying',
                actions: {
                  type: 'reportProviderError',
                  params: ({ context, event }) => ({
                    state: 'loading' as const,
                    call: 'synchronize',
                    error: new Error(
                      `synchronize returned rank ${String(event.output.rank())}, behind the active rank ${context.activeRank}`,
                    ),
                  }),
                },
              },
            ],
            onError: { target: 'retrying', actions: providerFailure('loading', 'synchronize') },
          },
        },
        // A failing sync is retried after a pause, not in a tight loop.
        retrying: {
          after: { syncRetryDelay: { actions: raise({ type: 'sync_timeout' }) } },
        },
      },
    },

    collecting: {
      initial: 'gathering',
      entry: ['beginRound', 'resolveThresholds'],
      after: { collectingTimeout: { actions: raise({ type: 'collection_done' }) } },
      // The attempt's timer covers the wait for the provers' liveness too: a silent prover set costs one
      // attempt, as a silent proposer does.
      on: { ...interruptible, collection_done: { target: 'liveness_check', actions: 'armAttemptTimer' } },
      states: {
        gathering: gatherStep('collecting', 'fetchingLeaders', 'fetchingLeaders'),
        // Without provers the round cannot go on; the collecting timeout moves
        // to liveness_check, which asks again.
        fetchingLeaders: fetchLeadersStep('collecting', 'deciding', 'done', 'quiet'),
        deciding: {
          always: [{ guard: 'shouldAnnounceLiveness', target: 'announcing' }, { target: 'done' }],
        },
        announcing: announceStep('collecting', 'done'),
        done: {
          entry: raise({ type: 'collection_done' }),
        },
      },
    },

    liveness_check: {
      initial: 'checkingProvers',
      entry: 'signalProvers',
      after: { livenessCheckTimeout: { actions: raise({ type: 'liveness_timeout' }) } },
      on: {
        ...interruptible,
        // Proving has a timeout of its own; the attempt's timer starts again when voting does.
        prover_signal: { guard: 'hasLivenessQuorum', target: 'proving', actions: 'cancelAttemptTimer' },
        liveness_check_received: [
          { guard: 'isNewsForNextRank', target: 'liveness_check', reenter: true, actions: 'recordLiveness' },
          { actions: 'recordLiveness' },
        ],
        liveness_timeout: { target: 'liveness_check', reenter: true, actions: 'forgetLivenessAnnouncement' },
        attempt_timeout: attemptEndsEarly,
      },
      states: {
        checkingProvers: {
          always: [{ guard: 'lacksProvers', target: 'fetchingLeaders' }, { target: 'checkingCollection' }],
        },
        fetchingLeaders: fetchLeadersStep('liveness_check', 'checkingCollection', 'waiting', 'signal'),
        // Collecting's collect may have failed; a prover cannot announce or
        // prove without it, so it tries again here (and on every liveness timeout).
        checkingCollection: {
          always: [{ guard: 'needsCollection', target: 'gathering' }, { target: 'deciding' }],
        },
        gathering: gatherStep('liveness_check', 'deciding', 'waiting'),
        deciding: {
          always: [{ guard: 'shouldAnnounceLiveness', target: 'announcing' }, { target: 'waiting' }],
        },
        announcing: announceStep('liveness_check', 'waiting'),
        waiting: {},
      },
    },

    proving: {
      initial: 'deciding',
      after: { provingTimeout: { actions: raise({ type: 'publish_timeout' }) } },
      on: {
        ...interruptible,
        ...attemptDataHandlers('proving', []),
        proof_complete: 'publishing',
        publish_timeout: { target: 'voting', actions: 'armAttemptTimer' },
      },
      states: {
        deciding: {
          always: [
            { guard: 'canRepropose', target: 'reproposing' },
            { guard: 'canProve', target: 'working' },
            { target: 'declined' },
          ],
        },
        // A later attempt's proposer offers the value the cluster may already be locked on.
        reproposing: {
          entry: ['storeReproposal', raise({ type: 'proof_complete' })],
        },
        working: {
          invoke: {
            src: 'proveNextState',
            input: ({ context }) => ({ prior: context.activeState, collected: context.collected as Unique }),
            onDone: [
              {
                guard: { type: 'isProposalForNextRank', params: ({ event }) => ({ proposal: event.output }) },
                actions: [
                  { type: 'storeOwnProposal', params: ({ event }) => ({ proposal: event.output }) },
                  raise({ type: 'proof_complete' }),
                ],
              },
              {
                target: 'declined',
                actions: {
                  type: 'reportProviderError',
                  params: ({ context, event }) => ({
                    state: 'proving' as const,
                    call: 'proveNextState',
                    error: new Error(
                      `proveNextState returned rank ${String(event.output.rank())}, expected ${nextRank(context)}`,
                    ),
                  }),
                },
              },
            ],
            onError: { target: 'declined', actions: providerFailure('proving', 'proveNextState') },
          },
        },
        // Not this attempt's prover (or the proof failed): vote now instead of waiting out the timeout.
        declined: {
          entry: raise({ type: 'publish_timeout' }),
        },
      },
    },

    publishing: {
      initial: 'recordingProposal',
      after: { publishingTimeout: { actions: raise({ type: 'publish_timeout' }) } },
      on: {
        ...interruptible,
        ...attemptDataHandlers('publishing', []),
        publish_complete: { target: 'voting', actions: 'armAttemptTimer' },
        publish_timeout: { target: 'voting', actions: 'armAttemptTimer' },
      },
      states: {
        // The proposal is kept durably before it leaves: a restart sends it again, never another one.
        recordingProposal: {
          invoke: {
            src: 'saveSafety',
            input: ({ context }) => ({ record: safetyRecord(context) }),
            onDone: { target: 'sending' },
            onError: { target: 'failed', actions: providerFailure('publishing', 'saveSafety') },
          },
        },
        sending: {
          invoke: {
            src: 'sendProposal',
            input: ({ context }) => {
              const own = lookup<ProposalRecord>(context.proposals, currentSlot(context), context.selfId) as ProposalRecord;
              return { proposal: own.value, rank: nextRank(context), attempt: context.attempt, validAttempt: own.validAttempt };
            },
            onDone: { actions: raise({ type: 'publish_complete' }) },
            onError: { target: 'failed', actions: providerFailure('publishing', 'sendProposal') },
          },
        },
        failed: {},
      },
    },

    // The prevote: one vote per attempt, for a proposal the lock allows, or nil.
    voting: {
      initial: 'evaluating',
      after: { votingTimeout: { actions: raise({ type: 'voting_timeout' }) } },
      on: {
        ...interruptible,
        ...attemptDataHandlers('voting', ['proposal', 'vote', 'confirmation']),
        ...certificateHandlers('voting'),
        ...attemptEnds,
        voting_timeout: { target: 'voting', reenter: true },
        quorum_reached: 'finalizing',
        commit_quorum: 'verifying',
      },
      states: {
        evaluating: {
          always: [
            { guard: 'hasVotedInAttempt', target: 'tallying' },
            { guard: 'hasProposalsToJudge', target: 'choosing' },
            { target: 'watching' },
          ],
        },
        // Not voted yet: confirmations alone may already decide the rank.
        watching: { always: tallyOutcomes('unvoted', 'awaitingProposals') },
        awaitingProposals: {},
        // Locked on another value: the proposal's cited attempt must really have had 2f + 1 votes for it.
        choosing: {
          always: [{ guard: 'provesCitedLock', target: 'recordingVote', actions: 'acceptProof' }, { target: 'recordingVote' }],
        },
        // The attempt is marked as voted in durably before the vote can leave.
        recordingVote: {
          on: castingDataHandlers,
          invoke: {
            src: 'saveSafety',
            input: ({ context }) => ({ record: safetyRecord({ ...context, votedAttempt: context.attempt }) }),
            onDone: { target: 'casting', actions: 'markVoted' },
            onError: { target: 'awaitingProposals', actions: providerFailure('voting', 'saveSafety') },
          },
        },
        casting: {
          // Casting sends a vote: restarting it could send a second, different
          // one, so data arriving now is only recorded and the voting timeout
          // waits. Only stop, a sync or a later attempt cancels a vote being cast.
          on: castingDataHandlers,
          invoke: {
            src: 'decideAndSendVote',
            input: ({ context }) => ({
              proposals: Object.fromEntries(
                Object.entries(votableProposals(context)).map(([prover, proposal]) => [prover, proposal.value]),
              ),
              rank: nextRank(context),
              attempt: context.attempt,
            }),
            onDone: [
              {
                // The provider may have waited for more proposals; its choice
                // is checked against the books and the lock as they are now.
                guard: { type: 'isForbiddenChoice', params: ({ event }) => ({ proposer: event.output.proposer }) },
                target: 'awaitingVotes',
                actions: {
                  type: 'reportProviderError',
                  params: ({ context, event }) => ({
                    state: 'voting' as const,
                    call: 'decideAndSendVote',
                    error: new Error(
                      `voted for ${event.output.proposer?.identity() ?? 'nil'} at attempt ${context.attempt} of rank ${nextRank(context)}, which this node may not vote for (no such proposal, or the lock forbids it)`,
                    ),
                  }),
                },
              },
              {
                guard: 'echoesOwnMessages',
                target: 'tallying',
                actions: raise(({ context, event }) => ownVote(context, event.output.proposer, event.output.vote)),
              },
              { target: 'tallying' },
            ],
            onError: { target: 'awaitingVotes', actions: providerFailure('voting', 'decideAndSendVote') },
          },
        },
        tallying: { always: tallyOutcomes('voted', 'awaitingVotes') },
        awaitingVotes: {},
        // A quorum was found; the event it raised leaves voting.
        concluded: {},
      },
    },

    // The lock: 2f + 1 votes for v lock this node on v, durably, before it confirms v.
    finalizing: {
      initial: 'deciding',
      after: { finalizingTimeout: { actions: raise({ type: 'aggregation_timeout' }) } },
      on: {
        ...interruptible,
        ...attemptDataHandlers('finalizing', []),
        // Finalizing runs no tally: confirmations wait for verifying, which tallies them first.
        attempt_timeout: attemptEnds.attempt_timeout,
        aggregation_done: 'verifying',
        aggregation_timeout: { target: 'finalizing', reenter: true },
      },
      states: {
        deciding: {
          always: [{ guard: 'hasNilFinding', target: 'recordingNil' }, { target: 'locking' }],
        },
        // A save under way is never cut short by finalizing's timeout: restarting it
        // on every timeout would keep a node behind slow storage from ever confirming.
        locking: {
          entry: 'lockOnFinding',
          on: { aggregation_timeout: {} },
          invoke: {
            src: 'saveSafety',
            input: ({ context }) => ({ record: safetyRecord({ ...context, confirmedAttempt: context.attempt }) }),
            onDone: { target: 'aggregating', actions: 'markConfirmed' },
            onError: { target: 'failed', actions: providerFailure('finalizing', 'saveSafety') },
          },
        },
        // 2f + 1 nil votes: this attempt will not decide; confirm nil.
        recordingNil: {
          on: { aggregation_timeout: {} },
          invoke: {
            src: 'saveSafety',
            input: ({ context }) => ({ record: safetyRecord({ ...context, confirmedAttempt: context.attempt }) }),
            onDone: { actions: ['markConfirmed', raise({ type: 'aggregation_done' })] },
            onError: { target: 'failed', actions: providerFailure('finalizing', 'saveSafety') },
          },
        },
        aggregating: {
          invoke: {
            src: 'finalizeVotes',
            input: ({ context }) => lockedVotes(context),
            onDone: [
              {
                guard: {
                  type: 'isValidFinalization',
                  params: ({ event }) => ({ state: event.output.state, proposer: event.output.proposer }),
                },
                actions: [
                  {
                    type: 'storeNextState',
                    params: ({ event }) => ({ state: event.output.state, proposer: event.output.proposer }),
                  },
                  raise({ type: 'aggregation_done' }),
                ],
              },
              {
                target: 'failed',
                actions: {
                  type: 'reportProviderError',
                  params: ({ context, event }) => ({
                    state: 'finalizing' as const,
                    call: 'finalizeVotes',
                    error: new Error(
                      `finalizeVotes chose ${event.output.proposer.identity()}'s ${event.output.state.identity()}, not the value this node locked on (${context.lock?.contentId ?? 'none'}) for rank ${nextRank(context)}`,
                    ),
                  }),
                },
              },
            ],
            onError: { target: 'failed', actions: providerFailure('finalizing', 'finalizeVotes') },
          },
        },
        // A failed save or aggregation is tried again a finalizing timeout later (the state's own timer may
        // have fired, unheeded, while a save was under way).
        failed: {
          after: { finalizingTimeout: { actions: raise({ type: 'aggregation_timeout' }) } },
        },
      },
    },

    // The commit: only 2f + 1 matching confirmations, from any attempt, make a state active.
    verifying: {
      initial: 'deciding',
      after: { verifyingTimeout: { actions: raise({ type: 'verification_timeout' }) } },
      on: {
        ...interruptible,
        ...attemptDataHandlers('verifying', ['confirmation']),
        ...certificateHandlers('verifying'),
        ...attemptEnds,
        verification_done: { target: 'collecting', actions: 'cancelAttemptTimer' },
        verification_timeout: { target: 'verifying', reenter: true },
      },
      states: {
        deciding: {
          always: [
            { guard: 'hasCommitFinding', target: 'committing' },
            { guard: 'hasSentConfirmation', target: 'tallying' },
            { guard: 'hasConfirmedInAttempt', target: 'confirming' },
            { target: 'tallying' },
          ],
        },
        confirming: {
          invoke: {
            src: 'sendConfirmation',
            input: ({ context }) => ({ finalized: context.nextState, rank: nextRank(context), attempt: context.attempt }),
            onDone: [
              {
                guard: 'echoesOwnMessages',
                target: 'tallying',
                actions: ['markConfirmationSent', raise(({ context }) => ownConfirmation(context))],
              },
              { target: 'tallying', actions: 'markConfirmationSent' },
            ],
            // Peers may hear of it through others' confirmations; the tally goes on.
            onError: { target: 'tallying', actions: providerFailure('verifying', 'sendConfirmation') },
          },
        },
        tallying: {
          always: [
            {
              guard: { type: 'foundCommit', params: { among: 'confirmations' } },
              target: 'committing',
              actions: { type: 'storeTally', params: { among: 'confirmations' } },
            },
            {
              guard: { type: 'foundNilConfirmations', params: { among: 'confirmations' } },
              target: 'concluded',
              actions: [{ type: 'storeTally', params: { among: 'confirmations' } }, 'raiseAttemptFailed'],
            },
            { target: 'waiting' },
          ],
        },
        waiting: {},
        // 2f + 1 confirmed nil; the raised event ends the attempt.
        concluded: {},
        committing: {
          entry: ['adoptConfirmedState', 'announceCommit', 'commitNextState', raise({ type: 'verification_done' })],
        },
      },
    },

    stopping: {
      after: { stoppingTimeout: { actions: raise({ type: 'cleanup_complete' }) } },
      on: { cleanup_complete: 'stopped' },
      invoke: {
        src: 'cleanup',
        input: () => ({}),
        onDone: { actions: raise({ type: 'cleanup_complete' }) },
        onError: { actions: [providerFailure('stopping', 'cleanup'), raise({ type: 'cleanup_complete' })] },
      },
    },
  },
});

export type RoundMachine = typeof roundMachine;
