import { and, createMachine, fromPromise, not, or, setup } from 'xstate';

/**
 * A small consensus round that uses every statechart feature the diagrams
 * draw: compound and parallel states, a named delay, an invoked promise actor
 * with onDone/onError, named and combined guards, a re-entering
 * self-transition, targetless and eventless transitions, and final states.
 */
export const roundFixture = setup({
  types: {
    events: {} as { type: 'START' } | { type: 'PROPOSAL' } | { type: 'VOTE' } | { type: 'TICK' } | { type: 'PING' },
  },
  actors: {
    proveNextState: fromPromise(async () => 'proof'),
  },
  guards: {
    isLeader: () => true,
    isValid: () => true,
    hasQuorum: () => false,
    isStale: () => false,
  },
  actions: {
    broadcastProposal: () => {},
    logTimeout: () => {},
    recordVote: () => {},
    rebroadcast: () => {},
    resetTimer: () => {},
    storeProof: () => {},
    replyPong: () => {},
  },
  delays: {
    proposeTimeout: 1000,
  },
}).createMachine({
  id: 'round',
  initial: 'idle',
  on: {
    PING: { actions: 'replyPong' },
  },
  states: {
    idle: {
      on: { START: 'proposing' },
    },
    proposing: {
      initial: 'waiting',
      entry: 'resetTimer',
      states: {
        waiting: {
          on: {
            PROPOSAL: [
              { guard: 'isLeader', target: 'validating', actions: 'broadcastProposal' },
              { guard: not('isLeader'), target: 'validating' },
            ],
          },
          after: {
            proposeTimeout: { target: '#round.voting', actions: 'logTimeout' },
          },
        },
        validating: {
          always: { guard: 'isValid', target: '#round.voting' },
        },
      },
    },
    voting: {
      type: 'parallel',
      onDone: 'proving',
      states: {
        prevote: {
          initial: 'collecting',
          states: {
            collecting: {
              on: {
                VOTE: [{ guard: { type: 'hasQuorum' }, target: 'prevoted' }, { actions: 'recordVote' }],
                TICK: { target: 'collecting', reenter: true, actions: 'rebroadcast' },
              },
            },
            prevoted: { type: 'final' },
          },
        },
        precommit: {
          initial: 'collecting',
          states: {
            collecting: {
              on: {
                VOTE: { guard: or(['hasQuorum', and(['isLeader', not('isStale')])]), target: 'precommitted' },
              },
            },
            precommitted: { type: 'final' },
          },
        },
      },
    },
    proving: {
      invoke: {
        src: 'proveNextState',
        onDone: { target: 'committed', actions: 'storeProof' },
        onError: 'idle',
      },
    },
    committed: { type: 'final' },
  },
});

/**
 * Names Mermaid cannot take as they are: a dashed machine id, a key that is a
 * Mermaid keyword and appears twice, a dashed key, an event with a colon; plus
 * an inline guard and a delay given in milliseconds.
 */
export const awkwardNamesFixture = createMachine({
  id: 'peer-link',
  initial: 'state',
  states: {
    state: {
      on: { 'peer:hello': { target: 'up-link', guard: () => true } },
      after: { 500: 'up-link' },
    },
    'up-link': {
      initial: 'state',
      states: { state: {} },
    },
  },
});
