import { raise } from 'xstate';
import type { Unique } from '../providers/unique';
import { nextRank, rankOf } from '../guards/rank';
import { currentSlot, votableProposals } from '../guards/roundChange';
import { bindRoundPorts } from './roundPorts';
import { lookup } from './rankBook';
import type { ProposalRecord } from './round.types';
import { freshAttempt } from './round/attempts';
import { safetyRecord } from './round/safety';
import { ownVote, ownConfirmation, lockedVotes } from './round/ownMessages';
import {
  announceStep,
  attemptDataHandlers,
  attemptEnds,
  attemptEndsEarly,
  castingDataHandlers,
  certificateHandlers,
  fetchLeadersStep,
  gatherStep,
  interruptible,
  providerFailure,
  tallyOutcomes,
} from './round/steps';
import { entered, roundSetup } from './round/setup';

// What other modules import from here.
export type { ProviderCallInputs } from './roundPorts';
export { ATTEMPT_TIMER_ID } from './round/setup';
export { candidateOf } from './round/recording';
export { TALLIES, tally, type TallyName } from './round/tally';

/**
 * The round flow of SPEC §2 as a statechart. Every provider call is an invoked
 * promise actor (aborted when its state is left), every timeout a named delay,
 * every decision a named guard. The provider actors call the ports the input
 * carries (`RoundPorts`), so every engine shares this one definition; without
 * ports they reject, and `roundMachine.provide({ actors })` still works.
 */
export const roundMachine = roundSetup.createMachine({
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
      ...(input.membershipsAhead === undefined ? {} : { membershipsAhead: input.membershipsAhead }),
      ...(input.membershipSettledThrough === undefined ? {} : { membershipSettledThrough: input.membershipSettledThrough }),
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
    memberships_updated: { actions: 'updateMemberships' },
  },
  states: {
    stopped: {
      entry: entered('stopped'),
      on: { start: 'starting' },
    },

    // Reads the round's safety data (lock, last vote) before anything can be voted.
    starting: {
      entry: entered('starting'),
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
      entry: entered('loading'),
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
      entry: [entered('collecting'), 'beginRound', 'resolveThresholds'],
      after: { collectingTimeout: { actions: raise({ type: 'collection_done' }) } },
      // The attempt's timer covers the wait for the provers' liveness too: a silent prover set costs one
      // attempt, as a silent proposer does.
      on: { ...interruptible, collection_done: { target: 'liveness_check', actions: 'armAttemptTimer' } },
      states: {
        gathering: gatherStep('collecting', 'choosingProvers', 'choosingProvers'),
        // A node outside the rank's membership needs no provers: it follows the members' confirmations.
        // A member still reading the log it skipped fetches them: it takes part once it has read it,
        // in this very rank, and must then know whose turn each attempt is.
        choosingProvers: {
          always: [{ guard: 'isOutsider', target: 'done' }, { target: 'fetchingLeaders' }],
        },
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
      entry: [entered('liveness_check'), 'signalProvers'],
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
      entry: entered('proving'),
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
      entry: entered('publishing'),
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
      entry: entered('voting'),
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
            { guard: 'isFollower', target: 'following' },
            { guard: 'proversUnknown', target: 'fetchingLeaders' },
            { guard: 'hasVotedInAttempt', target: 'tallying' },
            { guard: 'hasProposalsToJudge', target: 'choosing' },
            { target: 'watching' },
          ],
        },
        // Not a voter in this rank (not a member, or still reading the log): only a commit, or the attempt's end, moves it.
        following: {
          always: [
            {
              guard: { type: 'foundCommit', params: { among: 'confirmations' } },
              target: 'concluded',
              actions: [{ type: 'storeTally', params: { among: 'confirmations' } }, 'raiseCommitQuorum'],
            },
            {
              guard: { type: 'foundNilConfirmations', params: { among: 'confirmations' } },
              target: 'concluded',
              actions: [{ type: 'storeTally', params: { among: 'confirmations' } }, 'raiseAttemptFailed'],
            },
            { target: 'awaitingCommit' },
          ],
        },
        // Reading the log it skipped (after a sync) is what held it back: once read, it votes in this very attempt.
        awaitingCommit: { on: { memberships_updated: { target: 'evaluating', actions: 'updateMemberships' } } },
        // A member that skipped collecting's fetch (it was not yet one by the log it had read), or whose
        // provers were named from a membership it had not finished reading: without the rank's provers it
        // cannot tell whose proposal each attempt judges. Without them, only confirmations can move it.
        fetchingLeaders: fetchLeadersStep('voting', 'evaluating', 'watching', 'quiet'),
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
      entry: entered('finalizing'),
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
      entry: entered('verifying'),
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
      entry: entered('stopping'),
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
