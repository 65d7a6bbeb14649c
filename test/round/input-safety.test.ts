// SPEC §2.6 and §2.7: every peer message is parsed and admitted before anything
// is stored, and a refused message changes nothing. Each refusal below checks
// the typed error AND that the actor's snapshot is the very same object.
import fc from 'fast-check';
import {
  ConsensusConfigError,
  ConsensusInputError,
  createConsensusEngine,
  EquivocationError,
  MalformedMessageError,
  RankCapacityError,
  RankOutOfWindowError,
  SimulatedClock,
  UnexpectedSenderError,
  type ConsensusEngineConfig,
  type ReceiveResult,
} from '../../index';
import { Ballot, Batch, Frame, Peer } from '../support/fixtures';
import { ballot, batch, peer, ScriptedNode, type ScriptedEngine } from '../support/scriptedProviders';

const ACTIVE = 5;
const WINDOW = 4;
const NEXT = ACTIVE + 1;
/** Proposals, votes and confirmations are kept per slot `rank/attempt`; these tests stay at attempt 0. */
const slot = (rank: number) => `${rank}/0`;
const MEMBERS = ['alice', 'bob', 'carol', 'dave'];

/** A frame at `height` proved by `prover`; the parent only has to be stable. */
const at = (height: number, prover: string, payload = `tx-${height}`) =>
  new Frame(height, `parent-${height - 1}`, payload, prover);

/**
 * A member node at rank 5 (window 4: ranks 6..9 are open) that knows rank 6's
 * provers are alice and bob, parked in collecting while its liveness goes out.
 */
async function parkedNode(config: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>> = {}) {
  const node = new ScriptedNode({
    provers: ['alice', 'bob'],
    config: {
      initialState: at(ACTIVE, 'bob'),
      rankWindow: WINDOW,
      members: MEMBERS.map(peer),
      timeouts: { starting: 10 },
      ...config,
    },
  });
  node.hold('sendLiveness');
  node.engine.start();
  await node.reach('collecting');
  await node.settle();
  expect(node.context().nextProversRank).toBe(NEXT);
  return node;
}

type Method = 'receiveLivenessCheck' | 'receiveProposal' | 'receiveVote' | 'receiveConfirmation';

/** Calls a receive method with whatever a peer (or a broken transport) hands over. */
function send(engine: ScriptedEngine, method: Method, args: readonly unknown[]): ReceiveResult {
  return (engine[method] as (...a: unknown[]) => ReceiveResult)(...args);
}

/**
 * Asserts `act` throws `type` with `code`, and that the actor was not touched:
 * same snapshot, same context, same books (by identity), same transition count.
 */
function expectRefused<E extends ConsensusInputError>(
  node: ScriptedNode,
  act: () => unknown,
  type: new (...args: never[]) => E,
  code: string,
): E {
  const snapshot = node.engine.actor.getSnapshot();
  const { context } = snapshot;
  const transitions = node.engine.getTransitionCount();
  const held = node.engine.getHeldMessageCount();
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as E).code).toBe(code);
  const after = node.engine.actor.getSnapshot();
  expect(after).toBe(snapshot);
  expect(after.context).toBe(context);
  expect(after.context.liveness).toBe(context.liveness);
  expect(after.context.proposals).toBe(context.proposals);
  expect(after.context.votes).toBe(context.votes);
  expect(after.context.confirmations).toBe(context.confirmations);
  expect(node.engine.getTransitionCount()).toBe(transitions);
  expect(node.engine.getHeldMessageCount()).toBe(held);
  expect(after.status).toBe('active');
  return thrown as E;
}

/** A peer-shaped value whose methods do whatever a test needs. */
const shaped = (identity: () => unknown, rank: () => unknown = () => NEXT) => ({
  identity,
  rank,
  clone() {
    return this;
  },
});
const named = (id: () => unknown) => shaped(id);
const ranked = (rank: () => unknown) => shaped(() => 'content-x', rank);
const boom = (what: string) => () => {
  throw new Error(`${what} exploded`);
};

interface FieldSpec {
  name: string;
  ranked: boolean;
}
interface MethodSpec {
  method: Method;
  fields: FieldSpec[];
  /** A message the parked node accepts. */
  valid: () => unknown[];
}

const proposal6 = () => at(NEXT, 'bob');
const METHODS: MethodSpec[] = [
  {
    method: 'receiveLivenessCheck',
    fields: [
      { name: 'peer', ranked: false },
      { name: 'collected', ranked: true },
    ],
    valid: () => [peer('bob'), batch(NEXT)],
  },
  {
    method: 'receiveProposal',
    fields: [
      { name: 'peer', ranked: false },
      { name: 'proposal', ranked: true },
    ],
    valid: () => [peer('bob'), proposal6()],
  },
  {
    method: 'receiveVote',
    fields: [
      { name: 'proposer', ranked: false },
      { name: 'voter', ranked: false },
      { name: 'vote', ranked: true },
    ],
    valid: () => [peer('bob'), peer('carol'), ballot('carol', proposal6())],
  },
  {
    method: 'receiveConfirmation',
    fields: [
      { name: 'peer', ranked: false },
      { name: 'state', ranked: true },
    ],
    valid: () => [peer('bob'), proposal6()],
  },
];

/** [label, value, issue after "<field>: <field>"] */
type BadValue = [string, () => unknown, string];
const NOT_UNIQUE = ' must implement identity(), clone() and rank()';
const BAD_IDENTITY = '.identity() must be a non-empty string of at most 512 characters';
const BAD_RANK = '.rank() must be a non-negative safe integer';
const BAD_FOR_ANY_FIELD: BadValue[] = [
  ['null', () => null, NOT_UNIQUE],
  ['a plain object without methods', () => ({ identity: 'bob', clone: 'bob', rank: NEXT }), NOT_UNIQUE],
  ["identity() returning ''", () => named(() => ''), BAD_IDENTITY],
  ['identity() returning 10,000 characters', () => named(() => 'x'.repeat(10_000)), BAD_IDENTITY],
  ['identity() returning a number', () => named(() => 42), BAD_IDENTITY],
  ['identity() throwing', () => named(boom('identity')), '.identity() threw: Error: identity exploded'],
];
const BAD_FOR_RANKED_FIELD: BadValue[] = [
  ['rank() returning -1', () => ranked(() => -1), BAD_RANK],
  ['rank() returning 1.5', () => ranked(() => 1.5), BAD_RANK],
  ['rank() returning NaN', () => ranked(() => Number.NaN), BAD_RANK],
  ['rank() returning 2^53 + 1 as a bigint', () => ranked(() => 2n ** 53n + 1n), BAD_RANK],
  ["rank() returning '6'", () => ranked(() => String(NEXT)), BAD_RANK],
  ['rank() throwing', () => ranked(boom('rank')), '.rank() threw: Error: rank exploded'],
];

const MALFORMED_CASES = METHODS.flatMap((spec) =>
  spec.fields.flatMap((field, index) =>
    [...BAD_FOR_ANY_FIELD, ...(field.ranked ? BAD_FOR_RANKED_FIELD : [])].map(
      ([label, value, issue]) => [spec.method, field.name, label, index, value, issue] as const,
    ),
  ),
);

describe('malformed input is refused by the schema before admission (SPEC §2.6)', () => {
  let node: ScriptedNode;
  beforeAll(async () => {
    node = await parkedNode();
  });

  it('covers every field of every receive method', () => {
    expect([...new Set(MALFORMED_CASES.map(([method, field]) => `${method}.${field}`))]).toEqual([
      'receiveLivenessCheck.peer',
      'receiveLivenessCheck.collected',
      'receiveProposal.peer',
      'receiveProposal.proposal',
      'receiveVote.proposer',
      'receiveVote.voter',
      'receiveVote.vote',
      'receiveConfirmation.peer',
      'receiveConfirmation.state',
    ]);
    // Nine fields take every identity fault; the four ranked ones every rank fault too.
    expect(MALFORMED_CASES).toHaveLength(9 * 6 + 4 * 6);
  });

  it.each(MALFORMED_CASES)('%s: %s as %s → MalformedMessageError naming the field', (method, field, _, index, value, issue) => {
    const args = METHODS.find((m) => m.method === method)!.valid();
    args[index] = value();
    const error = expectRefused(node, () => send(node.engine, method, args), MalformedMessageError, 'malformed');
    expect(error.issues).toEqual([`${field}: ${field}${issue}`]);
    expect(error.message).toBe(`malformed ${error.kind}: ${field}: ${field}${issue}`);
  });

  it.each(METHODS.map((m) => m.method))('%s: every field broken at once → one issue per field', (method) => {
    const spec = METHODS.find((m) => m.method === method)!;
    const error = expectRefused(
      node,
      () => send(node.engine, method, spec.fields.map(() => undefined)),
      MalformedMessageError,
      'malformed',
    );
    expect(error.issues).toEqual(spec.fields.map((f) => `${f.name}: ${f.name}${NOT_UNIQUE}`));
  });

  it('the valid messages used above are accepted, so the refusals are about the broken field alone', async () => {
    const fresh = await parkedNode();
    expect(METHODS.map((spec) => send(fresh.engine, spec.method, spec.valid()))).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'accepted',
    ]);
  });

  it('identity length and bigint ranks are exact at their bounds', async () => {
    const fresh = await parkedNode();
    const longest = shaped(() => 'y'.repeat(512));
    expect(fresh.engine.receiveProposal(peer('bob'), longest as unknown as Frame)).toBe('accepted');
    const tooLong = shaped(() => 'y'.repeat(513));
    expectRefused(fresh, () => fresh.engine.receiveProposal(peer('alice'), tooLong as unknown as Frame), MalformedMessageError, 'malformed');
    // A bigint rank that is a safe integer is a rank like any other.
    expect(fresh.engine.receiveConfirmation(peer('bob'), shaped(() => 'c', () => BigInt(NEXT)) as unknown as Frame)).toBe(
      'accepted',
    );
    expect(fresh.context().confirmations[slot(NEXT)].bob.contentId).toBe('c');
    // 2^53 - 1 parses (it is safe) and is refused for being far ahead, not as malformed.
    expectRefused(
      fresh,
      () => fresh.engine.receiveConfirmation(peer('carol'), shaped(() => 'd', () => 2n ** 53n - 1n) as unknown as Frame),
      RankOutOfWindowError,
      'future_rank',
    );
    expectRefused(
      fresh,
      () => fresh.engine.receiveConfirmation(peer('carol'), shaped(() => 'd', () => 2n ** 53n) as unknown as Frame),
      MalformedMessageError,
      'malformed',
    );
  });

  it('a getter or proxy that throws when a method is looked up is malformed input, not a crash', () => {
    const getterBomb = Object.defineProperty({}, 'identity', {
      get() {
        throw new Error('getter exploded');
      },
    });
    const proxyBomb = new Proxy(
      {},
      {
        get() {
          throw new Error('proxy exploded');
        },
      },
    );
    for (const hostile of [getterBomb, proxyBomb]) {
      const error = expectRefused(
        node,
        () => node.engine.receiveProposal(hostile as Peer, proposal6()),
        MalformedMessageError,
        'malformed',
      );
      expect(error.issues).toHaveLength(1);
      expect(error.issues[0].startsWith('peer: ')).toBe(true);
    }
  });
});

describe('rank window, membership and prover set (SPEC §2.7)', () => {
  let node: ScriptedNode;
  beforeEach(async () => {
    node = await parkedNode();
  });

  /** The valid message of `method`, moved to `rank`. */
  const atRank = (method: Method, rank: number, from = 'bob'): unknown[] => {
    switch (method) {
      case 'receiveLivenessCheck':
        return [peer(from), batch(rank)];
      case 'receiveProposal':
        return [peer(from), at(rank, from)];
      case 'receiveVote':
        return [peer('bob'), peer(from === 'bob' ? 'carol' : from), ballot(from === 'bob' ? 'carol' : from, at(rank, 'bob'))];
      case 'receiveConfirmation':
        return [peer(from), at(rank, 'bob')];
    }
  };

  it.each(METHODS.map((m) => m.method))('%s: ranks at or below the active rank are stale', (method) => {
    for (const rank of [0, ACTIVE - 1, ACTIVE]) {
      const error = expectRefused(node, () => send(node.engine, method, atRank(method, rank)), RankOutOfWindowError, 'stale_rank');
      expect(error).toMatchObject({ rank, activeRank: ACTIVE, rankWindow: WINDOW });
    }
  });

  it.each(METHODS.map((m) => m.method))('%s: ranks beyond active + rankWindow are future, the last one inside is accepted', (method) => {
    for (const rank of [ACTIVE + WINDOW + 1, ACTIVE + WINDOW + 1_000, Number.MAX_SAFE_INTEGER]) {
      const error = expectRefused(node, () => send(node.engine, method, atRank(method, rank)), RankOutOfWindowError, 'future_rank');
      expect(error).toMatchObject({ rank, activeRank: ACTIVE, rankWindow: WINDOW });
    }
    expect(send(node.engine, method, atRank(method, ACTIVE + WINDOW))).toBe('accepted');
  });

  it.each(METHODS.map((m) => m.method))('%s: a sender outside members is not_member', (method) => {
    const error = expectRefused(
      node,
      () => send(node.engine, method, atRank(method, NEXT + 1, 'mallory')),
      UnexpectedSenderError,
      'not_member',
    );
    expect(error.sender).toBe('mallory');
  });

  it('a vote endorsing a non-member is not_member, whoever casts it', () => {
    const forged = at(NEXT + 1, 'mallory');
    expectRefused(
      node,
      () => node.engine.receiveVote(peer('mallory'), peer('carol'), ballot('carol', forged)),
      UnexpectedSenderError,
      'not_member',
    );
  });

  it('liveness, proposals and votes for the next rank must come from or endorse one of its provers', () => {
    expectRefused(node, () => node.engine.receiveLivenessCheck(peer('carol'), batch(NEXT)), UnexpectedSenderError, 'not_prover');
    expectRefused(node, () => node.engine.receiveProposal(peer('carol'), at(NEXT, 'carol')), UnexpectedSenderError, 'not_prover');
    const error = expectRefused(
      node,
      () => node.engine.receiveVote(peer('carol'), peer('dave'), ballot('dave', at(NEXT, 'carol'))),
      UnexpectedSenderError,
      'not_prover',
    );
    expect(error.sender).toBe('dave');

    // Voters and confirmers need not be provers, and later ranks' provers are not known yet.
    expect(node.engine.receiveVote(peer('bob'), peer('dave'), ballot('dave', at(NEXT, 'bob')))).toBe('accepted');
    expect(node.engine.receiveConfirmation(peer('carol'), at(NEXT, 'bob'))).toBe('accepted');
    expect(node.engine.receiveProposal(peer('carol'), at(NEXT + 1, 'carol'))).toBe('accepted');
    expect(node.engine.receiveLivenessCheck(peer('carol'), batch(NEXT + 1))).toBe('accepted');
  });
});

describe('first message per (rank, sender) wins (SPEC §2.6)', () => {
  let node: ScriptedNode;
  beforeEach(async () => {
    node = await parkedNode();
  });

  it('a second, different vote from one voter for one rank is an equivocation, reported to the trace logger', () => {
    const first = at(NEXT, 'bob');
    const other = at(NEXT, 'bob', 'other payload');
    expect(node.engine.receiveVote(peer('bob'), peer('carol'), ballot('carol', first))).toBe('accepted');
    const errorsBefore = node.logger.errors.length;

    const error = expectRefused(
      node,
      () => node.engine.receiveVote(peer('bob'), peer('carol'), ballot('carol', other)),
      EquivocationError,
      'equivocation',
    );
    expect(error).toMatchObject({ kind: 'vote', sender: 'carol', rank: NEXT });
    expect(node.logger.errors.slice(errorsBefore)).toEqual([{ message: 'equivocation by carol', error }]);

    // The same ballot endorsing another prover is a different vote too.
    const again = expectRefused(
      node,
      () => node.engine.receiveVote(peer('alice'), peer('carol'), ballot('carol', first)),
      EquivocationError,
      'equivocation',
    );
    expect(node.logger.errors.slice(errorsBefore)).toEqual([
      { message: 'equivocation by carol', error },
      { message: 'equivocation by carol', error: again },
    ]);
    expect(node.context().votes[slot(NEXT)].carol.value).toEqual(ballot('carol', first));
  });

  it('an identical repeat (a fresh clone) is a duplicate and changes nothing', () => {
    const messages = METHODS.map((spec) => spec.valid);
    expect(messages.map((valid, i) => send(node.engine, METHODS[i].method, valid()))).toEqual(Array(4).fill('accepted'));
    for (const [i, valid] of messages.entries()) {
      const snapshot = node.engine.actor.getSnapshot();
      expect(send(node.engine, METHODS[i].method, valid())).toBe('duplicate');
      expect(node.engine.actor.getSnapshot()).toBe(snapshot);
    }
    expect(node.logger.errors).toEqual([]);
    expect(node.engine.getHeldMessageCount()).toBe(4);
  });

  it('a second, different liveness, proposal or confirmation from one sender is refused too', () => {
    node.engine.receiveLivenessCheck(peer('bob'), batch(NEXT));
    node.engine.receiveProposal(peer('bob'), at(NEXT, 'bob'));
    node.engine.receiveConfirmation(peer('carol'), at(NEXT, 'bob'));
    expectRefused(node, () => node.engine.receiveLivenessCheck(peer('bob'), batch(NEXT, ['x'])), EquivocationError, 'equivocation');
    expectRefused(node, () => node.engine.receiveProposal(peer('bob'), at(NEXT, 'bob', 'x')), EquivocationError, 'equivocation');
    expectRefused(node, () => node.engine.receiveConfirmation(peer('carol'), at(NEXT, 'alice')), EquivocationError, 'equivocation');
    expect(node.logger.errors.map((e) => e.message)).toEqual([
      'equivocation by bob',
      'equivocation by bob',
      'equivocation by carol',
    ]);
  });

  it('identities that are Object.prototype keys are ordinary senders', async () => {
    const open = await parkedNode({ members: undefined });
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(open.engine.receiveConfirmation(peer(name), at(NEXT, 'bob'))).toBe('accepted');
      expect(open.engine.receiveConfirmation(peer(name), at(NEXT, 'bob'))).toBe('duplicate');
    }
    const entries = open.context().confirmations[slot(NEXT)];
    expect(Object.keys(entries).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(Object.getPrototypeOf(entries)).toBe(Object.prototype);
    expect(open.engine.getHeldMessageCount()).toBe(4);
  });
});

describe('a value is read once: peer-supplied methods cannot change what was admitted (SPEC §2.6, §2.7)', () => {
  it('an identity() that changes after parsing cannot land a message in another member’s slot', async () => {
    const node = await parkedNode();
    let reads = 0;
    const shifty = shaped(() => (reads++ === 0 ? 'bob' : 'carol'));
    const result = node.engine.receiveProposal(shifty as unknown as Peer, at(NEXT + 1, 'bob'));
    expect(result).toBe('accepted');
    expect(Object.keys(node.context().proposals[slot(NEXT + 1)])).toEqual(['bob']);
  });

  it('an identity() that throws after parsing neither kills the actor nor escapes', async () => {
    const node = await parkedNode();
    const crashes: unknown[] = [];
    // Without an error observer XState rethrows on a timer and takes the process down.
    node.engine.actor.subscribe({ error: (error) => crashes.push(error) });
    let reads = 0;
    const oneShot = shaped(() => {
      reads += 1;
      if (reads > 1) throw new Error('identity read twice');
      return 'bob';
    });
    let outcome: unknown;
    try {
      outcome = node.engine.receiveLivenessCheck(oneShot as unknown as Peer, batch(NEXT + 1));
    } catch (error) {
      outcome = error;
    }
    expect(crashes).toEqual([]);
    expect(node.engine.actor.getSnapshot().status).toBe('active');
    expect(outcome === 'accepted' || outcome instanceof ConsensusInputError).toBe(true);
  });
});

describe('memory stays bounded under a flood (SPEC §2.7)', () => {
  it('10,000 far-future and in-window messages from unknown senders hold exactly 4 × rankWindow × maxSendersPerRank', async () => {
    const rankWindow = 4;
    const maxSendersPerRank = 8;
    const node = new ScriptedNode({ config: { rankWindow, maxSendersPerRank, timeouts: { starting: 10 } } });
    // Parked in collecting before the provers are known, so the cap is the only limit.
    node.hold('collect');
    node.engine.start();
    await node.reach('collecting');
    const transitions = node.engine.getTransitionCount();

    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    for (let i = 0; i < 10_000; i += 1) {
      const sender = `s${i}`;
      const j = Math.floor(i / 2);
      const rank = i % 2 === 0 ? rankWindow + 1 + ((j * 7_919) % 1_000_000) : 1 + (Math.floor(j / 4) % rankWindow);
      const frameAt = new Frame(rank, 'p', sender, sender);
      try {
        switch (j % 4) {
          case 0:
            count(node.engine.receiveLivenessCheck(peer(sender), batch(rank, [sender])));
            break;
          case 1:
            count(node.engine.receiveProposal(peer(sender), frameAt));
            break;
          case 2:
            count(node.engine.receiveVote(peer(sender), peer(sender), new Ballot(rank, sender, sender, frameAt.hash)));
            break;
          default:
            count(node.engine.receiveConfirmation(peer(sender), frameAt));
        }
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
        if (error.code === 'rank_full') expect(error).toBeInstanceOf(RankCapacityError);
        count(error.code);
      }
    }

    const bound = 4 * rankWindow * maxSendersPerRank;
    expect(Object.fromEntries(outcomes)).toEqual({ accepted: bound, future_rank: 5_000, rank_full: 5_000 - bound });
    expect(node.engine.getHeldMessageCount()).toBe(bound);
    const { liveness, proposals, votes, confirmations } = node.context();
    // Liveness is kept per rank, the other books per slot (attempt 0 here).
    const ranks = ['1', '2', '3', '4'];
    const slots = ranks.map((rank) => `${rank}/0`);
    for (const [book, keys] of [[liveness, ranks], [proposals, slots], [votes, slots], [confirmations, slots]] as const) {
      expect(Object.keys(book).sort()).toEqual(keys);
      for (const key of keys) expect(Object.keys(book[key])).toHaveLength(maxSendersPerRank);
    }
    expect(node.engine.getTransitionCount()).toBe(transitions);
  });
});

describe('property: junk never gets past the parser (SPEC §2.6)', () => {
  it.each(METHODS.map((m) => [m.method, m.fields.length] as const))(
    '%s: fc.anything() in every argument → MalformedMessageError, context untouched',
    async (method, arity) => {
      const node = await parkedNode();
      fc.assert(
        fc.property(fc.array(fc.anything(), { minLength: arity, maxLength: arity }), (args) => {
          expectRefused(node, () => send(node.engine, method, args), MalformedMessageError, 'malformed');
        }),
        { numRuns: 300, seed: 20_240_601 },
      );
    },
  );

  it.each(METHODS.map((m) => [m.method] as const))(
    '%s: peer-shaped values with arbitrary results → accepted, duplicate, or a ConsensusInputError that changed nothing',
    async (method) => {
      const node = await parkedNode({ members: undefined });
      const spec = METHODS.find((m) => m.method === method)!;
      const outcome = <T>(value: fc.Arbitrary<T>) =>
        fc.oneof(
          value.map((v) => () => v),
          fc.constant(() => {
            throw new Error('hostile');
          }),
        );
      const identity = outcome(
        fc.oneof(
          fc.anything(),
          fc.string({ maxLength: 600 }),
          fc.constantFrom('bob', 'alice', 'carol', '__proto__', 'constructor', 'toString'),
        ),
      );
      const rank = outcome(
        fc.oneof(
          fc.anything(),
          fc.integer({ min: -2, max: ACTIVE + WINDOW + 2 }),
          fc.bigInt({ min: -2n, max: 2n ** 54n }),
          fc.double(),
        ),
      );
      const hostile = fc.record({ identity, rank }).map(({ identity: id, rank: r }) => shaped(id, r));
      const argument = fc.oneof(hostile, fc.anything(), fc.constantFrom(...spec.valid()));
      fc.assert(
        fc.property(fc.array(argument, { minLength: spec.fields.length, maxLength: spec.fields.length }), (args) => {
          const snapshot = node.engine.actor.getSnapshot();
          let result: ReceiveResult | undefined;
          try {
            result = send(node.engine, method, args);
          } catch (error) {
            expect(error).toBeInstanceOf(ConsensusInputError);
            expect(node.engine.actor.getSnapshot()).toBe(snapshot);
          }
          if (result === 'duplicate') expect(node.engine.actor.getSnapshot()).toBe(snapshot);
          if (result !== undefined) expect(['accepted', 'duplicate']).toContain(result);
          expect(node.engine.actor.getSnapshot().status).toBe('active');
        }),
        { numRuns: 500, seed: 20_240_602 },
      );
    },
  );
});

describe('configuration is validated before anything runs', () => {
  const validConfig = (): ConsensusEngineConfig<Frame, Ballot, Peer, Batch> => ({
    id: peer('alice'),
    initialState: Frame.genesis(),
    clock: new SimulatedClock(),
    providers: {
      sync: { synchronize: async (existing) => existing },
      leader: { getNextLeaders: async () => [peer('alice')], proveNextState: async (prior) => prior },
      liveness: { collect: async () => batch(1), sendLiveness: async () => {} },
      voting: {
        sendProposal: async () => {},
        decideAndSendVote: async () => ({ proposer: peer('alice'), vote: new Ballot(1, 'alice', 'alice', 'h') }),
        isQuorum: async () => true,
        finalizeVotes: async (proposals) => ({ state: [...proposals.values()][0], proposer: peer('alice') }),
        sendConfirmation: async () => {},
      },
    },
  });

  const withoutIsQuorum = () => {
    const config = validConfig();
    delete (config.providers.voting as Partial<typeof config.providers.voting>).isQuorum;
    return config;
  };

  it.each<[string, () => unknown, string[]]>([
    ['a provider method missing', withoutIsQuorum, ['providers.voting.isQuorum: isQuorum must be a function']],
    ['a negative timeout', () => ({ ...validConfig(), timeouts: { voting: -5 } }), ['timeouts.voting: Too small: expected number to be >0']],
    ['a NaN timeout', () => ({ ...validConfig(), timeouts: { proving: Number.NaN } }), ['timeouts.proving: Invalid input: expected number, received NaN']],
    ['an unknown timeout key', () => ({ ...validConfig(), timeouts: { votingg: 5 } }), ['timeouts: Unrecognized key: "votingg"']],
    ['rankWindow 0', () => ({ ...validConfig(), rankWindow: 0 }), ['rankWindow: Too small: expected number to be >=1']],
    ['minimumProvers 0', () => ({ ...validConfig(), minimumProvers: 0 }), ['minimumProvers: Too small: expected number to be >0']],
    ['livenessThreshold 0', () => ({ ...validConfig(), livenessThreshold: 0 }), ['livenessThreshold: Too small: expected number to be >0']],
    ['an unknown top-level key', () => ({ ...validConfig(), rankWindo: 4 }), ['Unrecognized key: "rankWindo"']],
    [
      'several problems at once',
      () => ({ ...validConfig(), rankWindow: 0, timeouts: { voting: -1 } }),
      ['timeouts.voting: Too small: expected number to be >0', 'rankWindow: Too small: expected number to be >=1'],
    ],
  ])('%s → ConsensusConfigError listing exactly that issue', (_, config, issues) => {
    let thrown: unknown;
    try {
      createConsensusEngine(config() as ConsensusEngineConfig<Frame, Ballot, Peer, Batch>);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConsensusConfigError);
    expect((thrown as ConsensusConfigError).issues).toEqual(issues);
    expect((thrown as ConsensusConfigError).message).toBe(`invalid consensus engine configuration: ${issues.join('; ')}`);
  });

  it('the valid configuration those cases start from is accepted', () => {
    expect(createConsensusEngine(validConfig()).getState()).toBe('stopped');
  });
});
