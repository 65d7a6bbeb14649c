import { assign, emit, fromPromise, raise, setup } from 'xstate';
import type { Identity, Unique } from '../providers/unique';
import { admit, type Candidate } from '../guards/admission';
import { isValidFinalization } from '../guards/finalization';
import { hasLivenessQuorum } from '../guards/liveness';
import { hasEnoughProposals } from '../guards/proposals';
import { canProve, lacksProvers, needsCollection, shouldAnnounceLiveness } from '../guards/provers';
import { concernsNextRank, nextRank, rankOf } from '../guards/rank';
import { hasVoted } from '../guards/votes';
import { filterAt, lookup, pruneThrough, recordFirst, valuesAt } from './rankBook';
import type {
  BookEntry,
  RankBook,
  RoundContext,
  RoundDataEvent,
  RoundEmitted,
  RoundEvent,
  RoundInput,
  RoundStateName,
  VoteRecord,
} from './round.types';

/** Inputs of the invoked provider calls: plain records, so the inspector can show them. */
export interface ProviderCallInputs {
  synchronize: { existing: Unique };
  getNextLeaders: { prior: Unique };
  collect: Record<string, never>;
  sendLiveness: { prior: Unique; collected: Unique };
  proveNextState: { prior: Unique; collected: Unique };
  sendProposal: { proposal: Unique };
  decideAndSendVote: { proposals: Readonly<Record<Identity, Unique>> };
  isQuorum: { votes: Readonly<Record<Identity, Unique>> };
  finalizeVotes: { proposals: Readonly<Record<Identity, Unique>>; votes: Readonly<Record<Identity, Unique>> };
  sendConfirmation: { finalized: Unique };
  cleanup: Record<string, never>;
}

function unconfigured<Output, Input>(call: string) {
  return fromPromise<Output, Input>(async () => {
    throw new Error(`${call}: no provider configured; use createConsensusEngine or machine.provide()`);
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
    const { sender, rank, contentId, proposerId } = event.ids;
    const kind = KIND_OF[event.type];
    return proposerId === undefined ? { kind, sender, rank, contentId } : { kind, sender, rank, contentId, proposer: proposerId };
  }
  switch (event.type) {
    case 'liveness_check_received':
      return {
        kind: 'liveness',
        sender: event.peer.identity(),
        rank: rankOrNaN(event.collected),
        contentId: event.collected.identity(),
      };
    case 'proposal_received':
      return {
        kind: 'proposal',
        sender: event.peer.identity(),
        rank: rankOrNaN(event.proposal),
        contentId: event.proposal.identity(),
      };
    case 'vote_received':
      return {
        kind: 'vote',
        sender: event.voter.identity(),
        rank: rankOrNaN(event.vote),
        contentId: event.vote.identity(),
        proposer: event.proposer.identity(),
      };
    case 'confirmation_received':
      return {
        kind: 'confirmation',
        sender: event.peer.identity(),
        rank: rankOrNaN(event.state),
        contentId: event.state.identity(),
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

/** Records a data event if `admit` lets it in; anything else leaves the book as it was. */
function recordIn<T extends BookEntry>(
  context: RoundContext,
  event: RoundEvent,
  book: RankBook<T>,
  entry: (e: RoundDataEvent, candidate: Candidate) => T,
) {
  if (!isDataEvent(event)) return book;
  const candidate = candidateOf(event);
  const admission = admit(context, candidate);
  if (!admission.admitted || admission.duplicate) return book;
  return recordFirst(book, candidate.rank, candidate.sender, entry(event, candidate));
}

const plainEntry = (value: Unique, candidate: Candidate): BookEntry => ({ value, contentId: candidate.contentId });

/** Where every state can be left for: SPEC §2.2's "any of starting … verifying". */
const interruptible = {
  stop: { target: '#round.stopping' },
  induce_sync: { target: '#round.loading', reenter: true },
} as const;

const providerFailure = (state: RoundStateName, call: keyof ProviderCallInputs) =>
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

/**
 * The round flow of SPEC §2 as a statechart. Every provider call is an invoked
 * promise actor (aborted when its state is left), every timeout a named delay,
 * every decision a named guard. The provider actors here only reject: an
 * engine supplies real ones with `roundMachine.provide({ actors })`.
 */
export const roundMachine = setup({
  types: {
    context: {} as RoundContext,
    events: {} as RoundEvent,
    input: {} as RoundInput,
    emitted: {} as RoundEmitted,
  },
  actors: {
    synchronize: unconfigured<Unique, ProviderCallInputs['synchronize']>('synchronize'),
    getNextLeaders: unconfigured<Unique[], ProviderCallInputs['getNextLeaders']>('getNextLeaders'),
    collect: unconfigured<Unique, ProviderCallInputs['collect']>('collect'),
    sendLiveness: unconfigured<void, ProviderCallInputs['sendLiveness']>('sendLiveness'),
    proveNextState: unconfigured<Unique, ProviderCallInputs['proveNextState']>('proveNextState'),
    sendProposal: unconfigured<void, ProviderCallInputs['sendProposal']>('sendProposal'),
    decideAndSendVote: unconfigured<{ proposer: Unique; vote: Unique }, ProviderCallInputs['decideAndSendVote']>(
      'decideAndSendVote',
    ),
    isQuorum: unconfigured<boolean, ProviderCallInputs['isQuorum']>('isQuorum'),
    finalizeVotes: unconfigured<{ state: Unique; proposer: Unique }, ProviderCallInputs['finalizeVotes']>(
      'finalizeVotes',
    ),
    sendConfirmation: unconfigured<void, ProviderCallInputs['sendConfirmation']>('sendConfirmation'),
    cleanup: fromPromise<void, ProviderCallInputs['cleanup']>(async () => {}),
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
  },
  guards: {
    hasLivenessQuorum: ({ context }) => hasLivenessQuorum(context),
    lacksProvers: ({ context }) => lacksProvers(context),
    canProve: ({ context }) => canProve(context),
    shouldAnnounceLiveness: ({ context }) => shouldAnnounceLiveness(context),
    needsCollection: ({ context }) => needsCollection(context),
    hasVoted: ({ context }) => hasVoted(context),
    hasEnoughProposals: ({ context }) => hasEnoughProposals(context),
    hasConfirmed: ({ context }) => lookup(context.confirmations, nextRank(context), context.selfId) !== undefined,
    echoesOwnMessages: ({ context }) => context.shouldEmitReceiveEventsOnSends,
    /** Only news re-evaluates a waiting state: a duplicate or refused message changes nothing. */
    isNewsForNextRank: ({ context, event }) => {
      if (!isDataEvent(event)) return false;
      const candidate = candidateOf(event);
      const admission = admit(context, candidate);
      return admission.admitted && !admission.duplicate && concernsNextRank(context, candidate.rank);
    },
    isForwardSync: ({ context }, params: { state: Unique }) => rankOrNaN(params.state) >= context.activeRank,
    isProposalForNextRank: ({ context }, params: { proposal: Unique }) =>
      rankOrNaN(params.proposal) === nextRank(context),
    isQuorumWithProposals: ({ context }, params: { quorum: boolean }) =>
      params.quorum && hasEnoughProposals(context),
    isValidFinalization: ({ context }, params: { state: Unique; proposer: Unique }) =>
      isValidFinalization(context, params.state, params.proposer),
  },
  actions: {
    reportProviderError: emit((_, params: { state: RoundStateName; call: string; error: unknown }) => ({
      type: 'provider_error' as const,
      ...params,
    })),
    /** Thresholds may depend on the active state; an engine provides the real resolver. */
    resolveThresholds: () => {},
    adoptSyncedState: assign(({ context }, params: { state: Unique }) => {
      const rank = rankOf(params.state);
      return {
        activeState: params.state,
        activeRank: rank,
        nextState: null,
        nextProposer: null,
        liveness: pruneThrough(context.liveness, rank),
        proposals: pruneThrough(context.proposals, rank),
        votes: pruneThrough(context.votes, rank),
        confirmations: pruneThrough(context.confirmations, rank),
      };
    }),
    beginRound: assign({
      collected: null,
      nextProvers: [],
      nextProversRank: null,
      chosenProposer: null,
      livenessAnnounced: false,
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
        proposals: filterAt(context.proposals, rank, isProverId),
        votes: filterAt(context.votes, rank, (_, record: VoteRecord) => isProverId(record.proposerId)),
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
      liveness: recordIn(context, event, context.liveness, (e, c) =>
        plainEntry((e as { collected: Unique }).collected, c),
      ),
    })),
    recordProposal: assign(({ context, event }) => ({
      proposals: recordIn(context, event, context.proposals, (e, c) =>
        plainEntry((e as { proposal: Unique }).proposal, c),
      ),
    })),
    recordVote: assign(({ context, event }) => ({
      votes: recordIn(context, event, context.votes, (e, c) => {
        const { proposer, vote } = e as { proposer: Unique; vote: Unique };
        return { value: vote, contentId: c.contentId, proposer, proposerId: c.proposer as Identity };
      }),
    })),
    recordConfirmation: assign(({ context, event }) => ({
      confirmations: recordIn(context, event, context.confirmations, (e, c) =>
        plainEntry((e as { state: Unique }).state, c),
      ),
    })),
    storeOwnProposal: assign(({ context }, params: { proposal: Unique }) => ({
      proposals: recordFirst(context.proposals, nextRank(context), context.selfId, {
        value: params.proposal,
        contentId: params.proposal.identity(),
      }),
    })),
    rememberVote: assign((_, params: { proposer: Unique }) => ({ chosenProposer: params.proposer })),
    storeNextState: assign((_, params: { state: Unique; proposer: Unique }) => ({
      nextState: params.state,
      nextProposer: params.proposer,
    })),
    announceCommit: emit(({ context }) => ({
      type: 'committed' as const,
      rank: nextRank(context),
      state: context.nextState as Unique,
      proposer: context.nextProposer,
    })),
    /** Verifying's rule: the finalized state becomes active and older messages go. */
    commitNextState: assign(({ context }) => {
      const committed = context.nextState as Unique;
      const rank = rankOf(committed);
      return {
        activeState: committed,
        activeRank: rank,
        nextState: null,
        nextProposer: null,
        collected: null,
        chosenProposer: null,
        liveness: pruneThrough(context.liveness, rank),
        proposals: pruneThrough(context.proposals, rank),
        votes: pruneThrough(context.votes, rank),
        confirmations: pruneThrough(context.confirmations, rank),
      };
    }),
  },
}).createMachine({
  id: 'round',
  initial: 'stopped',
  context: ({ input }) => ({
    self: input.self,
    selfId: input.self.identity(),
    activeState: input.initialState,
    activeRank: rankOf(input.initialState),
    nextState: null,
    nextProposer: null,
    collected: null,
    nextProvers: [],
    nextProversRank: null,
    chosenProposer: null,
    livenessAnnounced: false,
    liveness: {},
    proposals: {},
    votes: {},
    confirmations: {},
    thresholds: input.thresholds,
    timeouts: input.timeouts,
    rankWindow: input.rankWindow,
    maxSendersPerRank: input.maxSendersPerRank,
    members: input.members,
    shouldEmitReceiveEventsOnSends: input.shouldEmitReceiveEventsOnSends,
  }),
  // Peers' messages are recorded in every state; the states that wait on them
  // override these to re-evaluate their guards at once.
  on: {
    liveness_check_received: { actions: 'recordLiveness' },
    proposal_received: { actions: 'recordProposal' },
    vote_received: { actions: 'recordVote' },
    confirmation_received: { actions: 'recordConfirmation' },
  },
  states: {
    stopped: {
      on: { start: 'starting' },
    },

    starting: {
      after: { startingTimeout: { actions: raise({ type: 'init_complete' }) } },
      on: { ...interruptible, init_complete: 'loading' },
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
      on: { ...interruptible, collection_done: 'liveness_check' },
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
        prover_signal: { guard: 'hasLivenessQuorum', target: 'proving' },
        liveness_check_received: [
          { guard: 'isNewsForNextRank', target: 'liveness_check', reenter: true, actions: 'recordLiveness' },
          { actions: 'recordLiveness' },
        ],
        liveness_timeout: { target: 'liveness_check', reenter: true, actions: 'forgetLivenessAnnouncement' },
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
      on: { ...interruptible, proof_complete: 'publishing', publish_timeout: 'voting' },
      states: {
        deciding: {
          always: [{ guard: 'canProve', target: 'working' }, { target: 'declined' }],
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
        // Not a prover (or the proof failed): vote now instead of waiting out the timeout.
        declined: {
          entry: raise({ type: 'publish_timeout' }),
        },
      },
    },

    publishing: {
      initial: 'sending',
      after: { publishingTimeout: { actions: raise({ type: 'publish_timeout' }) } },
      on: { ...interruptible, publish_complete: 'voting', publish_timeout: 'voting' },
      states: {
        sending: {
          invoke: {
            src: 'sendProposal',
            input: ({ context }) => ({
              proposal: (lookup(context.proposals, nextRank(context), context.selfId) as BookEntry).value,
            }),
            onDone: { actions: raise({ type: 'publish_complete' }) },
            onError: { target: 'failed', actions: providerFailure('publishing', 'sendProposal') },
          },
        },
        failed: {},
      },
    },

    voting: {
      initial: 'evaluating',
      after: { votingTimeout: { actions: raise({ type: 'voting_timeout' }) } },
      on: {
        ...interruptible,
        proposal_received: [
          { guard: 'isNewsForNextRank', target: 'voting', reenter: true, actions: 'recordProposal' },
          { actions: 'recordProposal' },
        ],
        vote_received: [
          { guard: 'isNewsForNextRank', target: 'voting', reenter: true, actions: 'recordVote' },
          { actions: 'recordVote' },
        ],
        voting_timeout: { target: 'voting', reenter: true },
        quorum_reached: 'finalizing',
      },
      states: {
        evaluating: {
          always: [
            { guard: 'hasVoted', target: 'tallying' },
            { guard: 'hasEnoughProposals', target: 'casting' },
            { target: 'awaitingProposals' },
          ],
        },
        awaitingProposals: {},
        casting: {
          // Casting sends a vote: restarting it could send a second, different
          // one, so data arriving now is only recorded and the voting timeout
          // waits. Only stop or a sync cancels a vote being cast.
          on: {
            proposal_received: { actions: 'recordProposal' },
            vote_received: { actions: 'recordVote' },
            voting_timeout: {},
          },
          invoke: {
            src: 'decideAndSendVote',
            input: ({ context }) => ({ proposals: valuesAt(context.proposals, nextRank(context)) }),
            onDone: [
              {
                guard: 'echoesOwnMessages',
                target: 'tallying',
                actions: [
                  { type: 'rememberVote', params: ({ event }) => ({ proposer: event.output.proposer }) },
                  raise(({ context, event }) => ({
                    type: 'vote_received' as const,
                    proposer: event.output.proposer,
                    voter: context.self,
                    vote: event.output.vote,
                  })),
                ],
              },
              {
                target: 'tallying',
                actions: { type: 'rememberVote', params: ({ event }) => ({ proposer: event.output.proposer }) },
              },
            ],
            onError: { target: 'awaitingProposals', actions: providerFailure('voting', 'decideAndSendVote') },
          },
        },
        tallying: {
          invoke: {
            src: 'isQuorum',
            input: ({ context }) => ({ votes: valuesAt(context.votes, nextRank(context)) }),
            onDone: [
              {
                guard: { type: 'isQuorumWithProposals', params: ({ event }) => ({ quorum: event.output === true }) },
                actions: raise({ type: 'quorum_reached' }),
              },
              { target: 'awaitingVotes' },
            ],
            onError: { target: 'awaitingVotes', actions: providerFailure('voting', 'isQuorum') },
          },
        },
        awaitingVotes: {},
      },
    },

    finalizing: {
      initial: 'aggregating',
      after: { finalizingTimeout: { actions: raise({ type: 'aggregation_timeout' }) } },
      on: {
        ...interruptible,
        aggregation_done: 'verifying',
        aggregation_timeout: { target: 'finalizing', reenter: true },
      },
      states: {
        aggregating: {
          invoke: {
            src: 'finalizeVotes',
            input: ({ context }) => ({
              proposals: valuesAt(context.proposals, nextRank(context)),
              votes: valuesAt(context.votes, nextRank(context)),
            }),
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
                      `finalizeVotes chose ${event.output.proposer.identity()}, which is not a prover with a recorded proposal for rank ${nextRank(context)}`,
                    ),
                  }),
                },
              },
            ],
            onError: { target: 'failed', actions: providerFailure('finalizing', 'finalizeVotes') },
          },
        },
        failed: {},
      },
    },

    verifying: {
      initial: 'deciding',
      after: { verifyingTimeout: { actions: raise({ type: 'verification_timeout' }) } },
      on: {
        ...interruptible,
        verification_done: 'collecting',
        verification_timeout: { target: 'verifying', reenter: true },
      },
      states: {
        deciding: {
          always: [{ guard: 'hasConfirmed', target: 'committing' }, { target: 'confirming' }],
        },
        confirming: {
          invoke: {
            src: 'sendConfirmation',
            input: ({ context }) => ({ finalized: context.nextState as Unique }),
            onDone: { target: 'committing' },
            // The state is final here whether or not peers hear of it.
            onError: { target: 'committing', actions: providerFailure('verifying', 'sendConfirmation') },
          },
        },
        committing: {
          entry: ['announceCommit', 'commitNextState', raise({ type: 'verification_done' })],
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
