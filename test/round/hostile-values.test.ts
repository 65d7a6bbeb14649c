// SPEC §2.6: values from peers are data, not code. The engine rebuilds every
// state and vote a peer sends through the app's codec and reads what
// identifies a peer or a liveness announcement once, at the door; it never
// calls a peer's object again, and never hands one to the app. Each attack
// below once worked through a peer's own clone(), identity() or rank().
import { createConsensusEngine, SimulatedClock, type CommitRecord, type Unique } from '../../index';
import { Frame, Peer } from '../support/fixtures';
import { batch, peer, ScriptedNode } from '../support/scriptedProviders';
import { flush } from '../support/time';
import { refusalOf } from './roundChangeHarness';

const MEMBERS = ['alice', 'bob', 'carol', 'dave'];

/** Counts every call of a method a peer's object offers. */
class CallLog {
  readonly calls: string[] = [];
  note(method: string) {
    this.calls.push(method);
  }
}

/**
 * A frame as a Byzantine member builds it: the fields of `looksLike`, so its
 * plain data is that frame, and methods that lie: a clone() that returns
 * `swapped` (another value), an identity() and rank() that change or throw
 * after the first call.
 */
function hostileFrame(looksLike: Frame, swapped: Unique, log: CallLog) {
  let reads = 0;
  return {
    height: looksLike.height,
    parent: looksLike.parent,
    payload: looksLike.payload,
    prover: looksLike.prover,
    hash: looksLike.hash,
    identity() {
      log.note('identity');
      reads += 1;
      if (reads > 1) throw new Error('identity read twice');
      return looksLike.hash;
    },
    rank() {
      log.note('rank');
      return reads > 1 ? 1_000 : looksLike.height;
    },
    clone() {
      log.note('clone');
      return swapped;
    },
  };
}

/** alice, a voter of four equal members (quorum 3), in voting at rank 1 with bob's proposal. */
async function voter() {
  const node = new ScriptedNode({ provers: ['bob'], members: MEMBERS, config: { timeouts: { starting: 10 } } });
  const crashes: unknown[] = [];
  node.engine.actor.subscribe({ error: (error) => crashes.push(error) });
  const commits: CommitRecord<Frame, Peer>[] = [];
  node.engine.onCommit((commit) => commits.push(commit));
  node.engine.start();
  await node.reach('liveness_check');
  node.engine.receiveLivenessCheck(peer('bob'), batch(1));
  await node.reach('voting');
  return { node, crashes, commits };
}

const proposal = new Frame(1, Frame.genesis().hash, 'tx-1', 'bob');

describe('a Byzantine member’s confirmations with lying methods (SPEC §2.6, §2.7)', () => {
  it('a clone() that returns another value is never called: the commit is the value the data describes, built by the app', async () => {
    const { node, crashes, commits } = await voter();
    const log = new CallLog();
    // The attacker's clone would hand over a frame at height 1,000 with the right identity.
    const attackerBuilt = Object.assign(new Frame(1_000, 'x', 'evil', 'mallory'), { identity: () => proposal.hash });
    const attacks = ['bob', 'carol', 'dave'].map(() => hostileFrame(proposal, attackerBuilt, log));
    attacks.forEach((attack, i) => node.engine.receiveConfirmation(peer(['bob', 'carol', 'dave'][i]), attack as unknown as Frame));
    await node.settle();

    expect(log.calls).toEqual([]);
    expect(crashes).toEqual([]);
    expect(node.engine.actor.getSnapshot().status).toBe('active');
    expect(commits).toHaveLength(1);
    const [commit] = commits;
    expect(commit.state).toBeInstanceOf(Frame);
    expect(attacks.some((attack) => (commit.state as unknown) === attack)).toBe(false);
    expect(commit.state).not.toBe(attackerBuilt);
    expect(commit.state.identity()).toBe(proposal.hash);
    expect([commit.rank, node.engine.getActiveRank(), node.engine.getActiveState().height]).toEqual([1, 1, 1]);
  });

  it('an identity() or rank() that changes after the first call cannot move what was admitted: a peer argument is read once', async () => {
    const { node } = await voter();
    let reads = 0;
    const shifty = {
      identity: () => (reads++ === 0 ? 'carol' : 'dave'),
      rank: () => 0,
      clone() {
        return this;
      },
    };
    expect(node.engine.receiveConfirmation(shifty as unknown as Peer, proposal)).toBe('accepted');
    expect(reads).toBe(1);
    expect(Object.keys(node.context().confirmations['1/0'])).toEqual(['carol']);
    // The engine keeps its own member object, not the peer's.
    const event = node.context().confirmations['1/0'].carol;
    expect(event.value).toBeInstanceOf(Frame);
  });

  it('a liveness announcement’s identity() and rank() are read once; its later answers change nothing', async () => {
    const node = new ScriptedNode({ provers: ['bob'], members: MEMBERS, config: { timeouts: { starting: 10 } } });
    node.hold('collect');
    node.engine.start();
    await node.reach('collecting');
    const log = new CallLog();
    let ranks = 0;
    const collected = {
      identity: () => {
        log.note('identity');
        return 'batch-1';
      },
      rank: () => {
        log.note('rank');
        ranks += 1;
        return ranks === 1 ? 1 : 1_000;
      },
      clone: () => {
        log.note('clone');
        return null;
      },
    };
    expect(node.engine.receiveLivenessCheck(peer('bob'), collected as never)).toBe('accepted');
    expect(log.calls).toEqual(['identity', 'rank']);
    expect(node.context().liveness).toEqual({ 1: { bob: { contentId: 'batch-1' } } });
  });

  it('onCommit fires once for every rank that becomes active, and never for a rank a peer’s object claims', async () => {
    const { node, commits } = await voter();
    const log = new CallLog();
    for (const name of ['bob', 'carol', 'dave']) {
      const attack = hostileFrame(proposal, new Frame(1_000, 'x', 'y', 'z'), log);
      node.engine.receiveConfirmation(peer(name), attack as unknown as Frame);
    }
    await node.settle();
    expect(commits.map((commit) => commit.rank)).toEqual([1]);
    expect(node.engine.getActiveRank()).toBe(1);
  });

  it('a certificate or lock proof whose field throws something even instanceof cannot look at is refused as malformed', async () => {
    const { node } = await voter();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwsRevoked = (fields: object, field: string) =>
      Object.defineProperty({ ...fields }, field, {
        enumerable: true,
        get: () => {
          throw proxy;
        },
      });
    const snapshot = node.engine.actor.getSnapshot();
    const certificate = throwsRevoked({ attempt: 0, signers: ['bob', 'carol', 'dave'] }, 'signers');
    const lockProof = throwsRevoked({ rank: 1, attempt: 0, value: proposal.hash, voters: ['bob', 'carol', 'dave'] }, 'voters');
    expect(refusalOf(() => node.engine.receiveCommitCertificate(proposal, certificate as never))).toMatchObject({
      code: 'malformed',
      kind: 'confirmation',
    });
    expect(refusalOf(() => node.engine.receiveLockProof(lockProof as never))).toMatchObject({ code: 'malformed', kind: 'vote' });
    expect(node.engine.actor.getSnapshot()).toBe(snapshot);
  });
});

/** A value whose identity the test chooses, e.g. the string "nil". */
class Named implements Unique {
  constructor(
    readonly id: string,
    readonly at: number,
  ) {}
  identity() {
    return this.id;
  }
  clone() {
    return new Named(this.id, this.at) as this;
  }
  rank() {
    return this.at;
  }
}
const namedCodec = {
  decode: (data: unknown) => {
    const { id, at } = data as { id: unknown; at: unknown };
    if (typeof id !== 'string' || typeof at !== 'number') throw new TypeError('not a named value');
    return new Named(id, at);
  },
};

/** n0 of four members, every provider idle but the one this test needs. */
function namedNode() {
  const clock = new SimulatedClock();
  const never = () => new Promise<never>(() => {});
  const commits: CommitRecord<Named, Named>[] = [];
  const failed: number[] = [];
  const engine = createConsensusEngine<Named, Named, Named, Named>({
    id: new Named('n0', 0),
    members: ['n0', 'n1', 'n2', 'n3'].map((name) => new Named(name, 0)),
    initialState: new Named('genesis', 0),
    codec: { state: namedCodec, vote: namedCodec },
    clock,
    timeouts: { starting: 1 },
    providers: {
      sync: { synchronize: async (state) => state },
      leader: { getNextLeaders: async () => [new Named('n1', 0)], proveNextState: never },
      liveness: { collect: async () => new Named('c1', 1), sendLiveness: async () => {} },
      voting: { sendProposal: async () => {}, decideAndSendVote: never, finalizeVotes: never, sendConfirmation: async () => {} },
    },
  });
  engine.onCommit((commit) => commits.push(commit));
  engine.onAttemptChange((change) => {
    if (change.reason === 'nil_confirmations') failed.push(change.from);
  });
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 1) {
      clock.increment(1);
      await flush();
    }
  };
  return { engine, commits, failed, run };
}

describe('nil does not share a namespace with values (SPEC §2.8)', () => {
  it('a quorum of confirmations of a value whose identity is "nil" commits it; it does not end the attempt', async () => {
    const { engine, commits, failed, run } = namedNode();
    engine.start();
    await run(5);
    // n1, the prover, announces itself, so n0 goes on to voting, where confirmations are weighed.
    engine.receiveLivenessCheck(new Named('n1', 0), new Named('c1', 1));
    await run(5);
    expect(engine.getState()).toBe('voting');
    for (const name of ['n1', 'n2', 'n3']) engine.receiveConfirmation(new Named(name, 0), new Named('nil', 1), { attempt: 0 });
    await run(5);
    expect(failed).toEqual([]);
    expect(commits.map((commit) => [commit.rank, commit.state.identity()])).toEqual([[1, 'nil']]);
  });

  it('a nil confirmation and a confirmation of the value "nil" are two different messages: the second is an equivocation', () => {
    const { engine } = namedNode();
    expect(engine.receiveNilConfirmation(new Named('n1', 0), { rank: 1, attempt: 0 })).toBe('accepted');
    expect(() => engine.receiveConfirmation(new Named('n1', 0), new Named('nil', 1), { attempt: 0 })).toThrow(
      expect.objectContaining({ code: 'equivocation' }),
    );
    expect(engine.receiveNilConfirmation(new Named('n1', 0), { rank: 1, attempt: 0 })).toBe('duplicate');
  });
});
