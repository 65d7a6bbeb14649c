import { createElectionLeaderProvider, type LeaderSource } from '../../providers/electionLeader';
import { Batch, Frame, Peer } from '../support/fixtures';

/** A leader source the test sets by hand, counting its subscribers. */
function manualSource(initial: string | null = null) {
  let leader = initial;
  const listeners = new Set<() => void>();
  const source: LeaderSource = {
    current: () => leader,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    source,
    set(next: string | null) {
      leader = next;
      for (const listener of [...listeners]) listener();
    },
    subscribers: () => listeners.size,
  };
}

const members = ['n3', 'n1', 'n4', 'n2'].map((name) => new Peer(name));
const atHeight = (height: number) => new Frame(height, 'parent', 'payload', 'n1');
const ids = (peers: Peer[]) => peers.map((peer) => peer.identity());

function provider(source: LeaderSource) {
  return createElectionLeaderProvider<Frame, Peer, Batch>({
    members,
    leader: source,
    prover: {
      proveNextState: async (prior, collected) => new Frame(prior.height + 1, prior.hash, collected.items.join(','), 'app'),
    },
  });
}

describe('createElectionLeaderProvider (the default LeaderProvider of a node)', () => {
  test('with a leader known, getNextLeaders resolves the leader alone, as a member value', async () => {
    const { source } = manualSource('n4');
    const leaders = await provider(source).getNextLeaders(atHeight(4), new AbortController().signal);
    expect(ids(leaders)).toEqual(['n4']);
    expect(leaders.every((leader) => leader instanceof Peer)).toBe(true);
    expect(leaders[0]).not.toBe(members[2]);
  });

  test('with no leader known it waits, and resolves with the first leader announced', async () => {
    const manual = manualSource(null);
    let settled: string[] | null = null;
    const pending = provider(manual.source)
      .getNextLeaders(atHeight(0), new AbortController().signal)
      .then((leaders) => (settled = ids(leaders)));
    await Promise.resolve();
    expect(settled).toBeNull();
    expect(manual.subscribers()).toBe(1);
    manual.set(null);
    await Promise.resolve();
    expect(settled).toBeNull();
    manual.set('n2');
    await pending;
    expect(settled).toEqual(['n2']);
    expect(manual.subscribers()).toBe(0);
  });

  test('a leader outside the membership counts as none: the provider keeps waiting', async () => {
    const manual = manualSource('stranger');
    let settled = false;
    const pending = provider(manual.source)
      .getNextLeaders(atHeight(0), new AbortController().signal)
      .then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    manual.set('n1');
    await pending;
    expect(settled).toBe(true);
  });

  test('an abort while waiting rejects with the signal reason and unsubscribes (SPEC §2.3 cancellable)', async () => {
    const manual = manualSource(null);
    const controller = new AbortController();
    const pending = provider(manual.source).getNextLeaders(atHeight(0), controller.signal);
    const reason = new Error('round left its state');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(manual.subscribers()).toBe(0);
  });

  test('an already aborted signal rejects at once, even with a leader known', async () => {
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(provider(manualSource('n1').source).getNextLeaders(atHeight(0), controller.signal)).rejects.toBe(reason);
  });

  test('proveNextState is the app’s: the provider passes its arguments through', async () => {
    const signal = new AbortController().signal;
    const proof = await provider(manualSource('n1').source).proveNextState(atHeight(2), new Batch(3, ['a', 'b']), signal);
    expect(proof).toEqual(new Frame(3, atHeight(2).hash, 'a,b', 'app'));
  });
});
