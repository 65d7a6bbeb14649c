import type { Unique } from '../../providers/unique';
import type { RoundAttemptEmit, RoundContext, RoundStateName } from '../round.types';
import type { AttemptMove } from './attempts';
import type { TallyName } from './tally';
import type { ProviderCallInputs } from '../roundPorts';

// Transition configurations the round's states share: sub-steps, data handlers, how an attempt ends, tally outcomes.

/** Leaving an attempt: its timer stops, the change is announced, the attempt moves. */
export const changeAttempt = (to: AttemptMove, reason: RoundAttemptEmit['reason']) => [
  'cancelAttemptTimer' as const,
  { type: 'announceAttemptChange' as const, params: { to, reason } },
  { type: 'moveToAttempt' as const, params: { to } },
];

/** Where every state can be left for: SPEC §2.2's "any of starting … verifying". */
export const interruptible = {
  stop: { target: '#round.stopping', actions: 'cancelAttemptTimer' },
  induce_sync: { target: '#round.loading', reenter: true, actions: 'cancelAttemptTimer' },
} as const;

export const providerFailure = (state: RoundStateName, call: keyof ProviderCallInputs | 'isQuorum') =>
  ({
    type: 'reportProviderError',
    params: ({ event }: { event: { error?: unknown } }) => ({ state, call, error: event.error }),
  }) as const;

// Sub-steps that collecting and liveness_check share: collect, fetch the
// provers, announce liveness. Each names the state it reports failures for
// and the sub-state it hands over to.
export const gatherStep = (state: RoundStateName, next: string, onFailure: string) => ({
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

export const fetchLeadersStep = (state: RoundStateName, next: string, onFailure: string, then: 'signal' | 'quiet') => ({
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

export const announceStep = (state: RoundStateName, next: string) => ({
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
export function attemptDataHandlers(state: RoundStateName, reenterOn: DataKind[]) {
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
export const castingDataHandlers = {
  ...attemptDataHandlers('voting', []),
  certificate_received: { actions: 'recordCertificate' as const },
  voting_timeout: {},
};

/** A certificate is news to a state that weighs quorums: it re-enters to weigh again. */
export const certificateHandlers = (state: RoundStateName) => ({
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
export const attemptEndsEarly = { target: '#round.proving', actions: changeAttempt('next', 'timeout') };

/**
 * The attempt ends without a commit: its timer fired (run once more first if
 * a quorum was not heard in it, see `mayExtendAttempt`), or 2f + 1 confirmed nil.
 */
export const attemptEnds = {
  attempt_timeout: [
    { guard: 'mayExtendAttempt' as const, actions: ['markAttemptExtended' as const, 'armAttemptTimer' as const] },
    { target: '#round.proving', actions: changeAttempt('next', 'timeout') },
  ],
  attempt_failed: { target: '#round.proving', actions: changeAttempt('next', 'nil_confirmations') },
};

/**
 * What a quorum found by a tally leads to, as eventless transitions: a
 * commit, a lock (or a nil confirmation) to prepare, an attempt ended by nil
 * confirmations; 2f + 1 votes for a value this node cannot lock on are only
 * remembered. Nothing found: `next`, to wait for more.
 */
export const tallyOutcomes = (among: TallyName, next: string) => {
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
