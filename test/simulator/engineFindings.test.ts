import { createConsensusEngine, MalformedMessageError, SimulatedClock, type ConsensusEngine, type Unique } from '../../index';
import { flush } from '../support/time';

// Engine behaviours the simulator's Byzantine and ledger work ran into, kept
// as regression tests.

const u = (id: string, rank = 0): Unique => ({ identity: () => id, clone() { return this; }, rank: () => rank });
const never = () => new Promise<never>(() => {});
/** Values travel as `{ id, rank }`; the engine rebuilds them with `u`, its own code. */
const codec = {
  encode: (value: Unique) => ({ id: value.identity(), rank: Number(value.rank()) }),
  decode: (data: unknown) => {
    const { id, rank } = data as { id: unknown; rank: unknown };
    if (typeof id !== 'string' || typeof rank !== 'number') throw new TypeError('not a value');
    return u(id, rank);
  },
};
const codecs = { state: codec, vote: codec };

function oneNode(overrides: { decideAndSendVote?: (proposals: ReadonlyMap<string, Unique>) => Promise<{ proposer: Unique; vote: Unique }> } = {}) {
  const clock = new SimulatedClock();
  const engine = createConsensusEngine({
    id: u('a'),
    initialState: u('g', 0),
    clock,
    members: [u('a'), u('b')],
    codec: codecs,
    timeouts: { starting: 1 },
    providers: {
      sync: { synchronize: async (state) => state },
      leader: {
        getNextLeaders: async () => [u('b'), u('a')],
        proveNextState: async () => u('own-1', 1),
      },
      liveness: { collect: async () => u('batch-1', 1), sendLiveness: async () => {} },
      voting: {
        sendProposal: async () => {},
        decideAndSendVote: overrides.decideAndSendVote ?? never,
        finalizeVotes: never,
        sendConfirmation: never,
      },
    },
  });
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 1) {
      clock.increment(1);
      await flush();
    }
  };
  return { engine, run };
}

describe('engine regressions found by the simulator', () => {
  it('an admitted proposal whose clone() throws must not stop this node from voting at its rank', async () => {
    const decided: string[][] = [];
    const { engine, run } = oneNode({
      decideAndSendVote: async (proposals) => {
        decided.push([...proposals.keys()]);
        return { proposer: u('a'), vote: u('vote-1', 1) };
      },
    });
    let clones = 0;
    const uncloneable: Unique = {
      identity: () => 'b-proposal',
      clone() {
        clones += 1;
        throw new Error('clone() throws');
      },
      rank: () => 1,
    };
    // The engine keeps its own copy, rebuilt through the codec at admission:
    // the peer's clone() is never called, so it cannot poison later provider calls.
    expect(engine.receiveProposal(u('b'), uncloneable)).toBe('accepted');
    // The proposal (at attempt 0: no skip evidence).
    expect(engine.getHeldMessageCount()).toBe(1);
    engine.start();
    await run(3_100);
    expect(decided).toEqual([['b', 'a']]);
    expect(clones).toBe(0);
    expect(engine.getProviderErrorCount()).toBe(0);
  });

  it('a proposal the codec cannot rebuild is malformed and never recorded', () => {
    const { engine } = oneNode();
    const unreadable = { identity: () => 'b-proposal', clone: () => unreadable, rank: () => 'one' } as unknown as Unique;
    expect(() => engine.receiveProposal(u('b'), unreadable)).toThrow(MalformedMessageError);
    expect(engine.getHeldMessageCount()).toBe(0);
  });

  it('onCommit for rank r is delivered before the providers of rank r + 1 are called', async () => {
    const clock = new SimulatedClock();
    const log: string[] = [];
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const engine: ConsensusEngine<Unique, Unique, Unique, Unique> = createConsensusEngine({
      id: u('a'),
      members: [u('a')],
      codec: codecs,
      initialState: u('s0', 0),
      clock,
      timeouts: { starting: 1 },
      providers: {
        sync: { synchronize: async (state) => state },
        leader: {
          getNextLeaders: async () => [u('a')],
          proveNextState: async (prior) => {
            await sleep(5);
            return u(`s${Number(prior.rank()) + 1}`, Number(prior.rank()) + 1);
          },
        },
        liveness: {
          collect: async (): Promise<Unique> => {
            log.push(`collect for ${engine.getActiveRank() + 1}`);
            return u(`c${engine.getActiveRank() + 1}`, engine.getActiveRank() + 1);
          },
          sendLiveness: async () => {},
        },
        voting: {
          sendProposal: async () => {},
          decideAndSendVote: async (proposals) => {
            const [state] = [...proposals.values()];
            return { proposer: u('a'), vote: u(`v${String(state.rank())}`, Number(state.rank())) };
          },
          finalizeVotes: async (proposals) => ({ state: [...proposals.values()][0], proposer: u('a') }),
          sendConfirmation: async () => {},
        },
      },
    });
    engine.onCommit(({ rank }) => log.push(`onCommit ${rank}`));
    engine.start();
    for (let t = 0; t < 20; t += 1) {
      clock.increment(1);
      await flush();
    }
    // Observed: ['collect for 1', 'collect for 2', 'onCommit 1', 'collect for 3', 'onCommit 2', …]
    expect(log.slice(0, 4)).toEqual(['collect for 1', 'onCommit 1', 'collect for 2', 'onCommit 2']);
  });
});
