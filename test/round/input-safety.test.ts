// SPEC §2.6 and §2.7: every peer message is read at the door and admitted
// before anything is stored, and a refused message changes nothing. Each
// refusal below checks the typed error AND that the actor's snapshot is the
// very same object.
import fc from 'fast-check';
import {
  ConsensusConfigError,
  ConsensusInputError,
  createConsensusEngine,
  EquivocationError,
  heldMessageBound,
  MalformedMessageError,
  RankOutOfWindowError,
  SimulatedClock,
  UnexpectedSenderError,
  type ConsensusEngineConfig,
  type ReceiveResult,
} from '../../index';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
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
async function parkedNode(config: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>> = {}, members = MEMBERS) {
  const node = new ScriptedNode({
    provers: ['alice', 'bob'],
    members,
    config: { initialState: at(ACTIVE, 'bob'), rankWindow: WINDOW, timeouts: { starting: 10 }, ...config },
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
export function expectRefused<E extends ConsensusInputError>(
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
const boom = (what: string) => () => {
  throw new Error(`${what} exploded`);
};
const throwingGetter = (field: string) =>
  Object.defineProperty({}, field, {
    enumerable: true,
    get() {
      throw new Error('getter exploded');
    },
  });
const throwingProxy = () =>
  new Proxy(
    {},
    {
      get() {
        throw new Error('proxy exploded');
      },
      ownKeys() {
        throw new Error('proxy exploded');
      },
    },
  );

/** How each argument of a receive method is read at the door. */
type FieldKind = 'peer' | 'ids' | 'value';
interface MethodSpec {
  method: Method;
  fields: Array<{ name: string; kind: FieldKind }>;
  /** A message the parked node accepts. */
  valid: () => unknown[];
}

const proposal6 = () => at(NEXT, 'bob');
const METHODS: MethodSpec[] = [
  {
    method: 'receiveLivenessCheck',
    fields: [
      { name: 'peer', kind: 'peer' },
      { name: 'collected', kind: 'ids' },
    ],
    valid: () => [peer('bob'), batch(NEXT)],
  },
  {
    method: 'receiveProposal',
    fields: [
      { name: 'peer', kind: 'peer' },
      { name: 'proposal', kind: 'value' },
    ],
    valid: () => [peer('bob'), proposal6()],
  },
  {
    method: 'receiveVote',
    fields: [
      { name: 'proposer', kind: 'peer' },
      { name: 'voter', kind: 'peer' },
      { name: 'vote', kind: 'value' },
    ],
    valid: () => [peer('bob'), peer('carol'), ballot('carol', proposal6())],
  },
  {
    method: 'receiveConfirmation',
    fields: [
      { name: 'peer', kind: 'peer' },
      { name: 'state', kind: 'value' },
    ],
    valid: () => [peer('bob'), proposal6()],
  },
];

/** [label, value, issue]; `$` stands for the field's name. */
type BadValue = [string, () => unknown, string];
const BAD_ID = '$.identity() must be a non-empty string of at most 512 characters';
/** A peer is named by its id object or its identity; what identity() returns must be usable as a key. */
const BAD_PEERS: BadValue[] = [
  ['null', () => null, '$ must be a peer id or its identity'],
  ['a number', () => 42, '$ must be a peer id or its identity'],
  ['an object without identity()', () => ({ identity: 'bob' }), '$ must be a peer id or its identity'],
  ["''", () => '', '$ must be a non-empty string of at most 512 characters'],
  ["identity() returning ''", () => shaped(() => ''), BAD_ID],
  ['identity() returning 10,000 characters', () => shaped(() => 'x'.repeat(10_000)), BAD_ID],
  ['identity() returning a number', () => shaped(() => 42), BAD_ID],
  ['identity() throwing', () => shaped(boom('identity')), '$.identity() threw: Error: identity exploded'],
  ['a getter that throws', () => throwingGetter('identity'), '$.identity() threw: Error: getter exploded'],
  ['a Proxy that throws', throwingProxy, '$.identity() threw: Error: proxy exploded'],
];
const BAD_RANK = '$.rank() must be a non-negative safe integer';
/** Liveness is only counted: what identifies it is read once, and nothing of it is kept. */
const BAD_IDS: BadValue[] = [
  ...BAD_PEERS.filter(([label]) => label !== "''"),
  ['rank() returning -1', () => shaped(() => 'c', () => -1), BAD_RANK],
  ['rank() returning 1.5', () => shaped(() => 'c', () => 1.5), BAD_RANK],
  ['rank() returning NaN', () => shaped(() => 'c', () => Number.NaN), BAD_RANK],
  ['rank() returning 2^53 + 1 as a bigint', () => shaped(() => 'c', () => 2n ** 53n + 1n), BAD_RANK],
  ["rank() returning '6'", () => shaped(() => 'c', () => String(NEXT)), BAD_RANK],
  ['rank() throwing', () => shaped(() => 'c', boom('rank')), '$.rank() threw: Error: rank exploded'],
];
/** A state or vote is rebuilt from plain data by the app's codec, which refuses what is not one. */
const BAD_VALUES: BadValue[] = [
  ['null', () => null, '$ is not a value: TypeError: expected an object'],
  ['a string', () => 'frame', '$ is not a value: TypeError: expected an object'],
  ['a peer-shaped object with methods only', () => shaped(() => 'bob'), '$ is not a value: TypeError: height must be a non-negative integer'],
  ['a negative height', () => ({ height: -1, parent: 'p', payload: 'x', prover: 'bob', voter: 'bob', proposer: 'bob', frame: 'f' }), '$ is not a value: TypeError: height must be a non-negative integer'],
  ['a getter that throws', () => throwingGetter('height'), '$ cannot be read as plain data: Error: getter exploded'],
  ['a Proxy that throws', throwingProxy, '$ cannot be read as plain data: Error: proxy exploded'],
  ['a bigint field', () => ({ height: 6n }), '$ cannot be read as plain data: TypeError: Do not know how to serialize a BigInt'],
  ['a value a million characters long', () => ({ height: NEXT, payload: 'x'.repeat(1 << 20) }), '$ takes 1048601 characters as plain data, more than 1048576'],
  ['a function', () => () => 'frame', '$ is not plain data'],
];
const BAD_BY_KIND: Record<FieldKind, BadValue[]> = { peer: BAD_PEERS, ids: BAD_IDS, value: BAD_VALUES };

const MALFORMED_CASES = METHODS.flatMap((spec) =>
  spec.fields.flatMap((field, index) =>
    BAD_BY_KIND[field.kind].map(([label, value, issue]) => [spec.method, field.name, label, index, value, issue.replace('$', field.name)] as const),
  ),
);

describe('malformed input is refused at the door (SPEC §2.6)', () => {
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
    expect(MALFORMED_CASES).toHaveLength(5 * BAD_PEERS.length + BAD_IDS.length + 3 * BAD_VALUES.length);
  });

  it.each(MALFORMED_CASES)('%s: %s as %s → MalformedMessageError naming the field', (method, _field, _, index, value, issue) => {
    const args = METHODS.find((m) => m.method === method)!.valid();
    args[index] = value();
    const error = expectRefused(node, () => send(node.engine, method, args), MalformedMessageError, 'malformed');
    expect(error.issues).toEqual([issue]);
    expect(error.message).toBe(`malformed ${error.kind}: ${issue}`);
  });

  it.each(METHODS.map((m) => m.method))('%s: every field broken at once → refused on the first field read', (method) => {
    const spec = METHODS.find((m) => m.method === method)!;
    const error = expectRefused(node, () => send(node.engine, method, spec.fields.map(() => undefined)), MalformedMessageError, 'malformed');
    expect(error.issues).toHaveLength(1);
  });

  it('the valid messages used above are accepted, so the refusals are about the broken field alone', async () => {
    const fresh = await parkedNode();
    expect(METHODS.map((spec) => send(fresh.engine, spec.method, spec.valid()))).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
  });

  it('a peer may be named by its identity as well as its id object', async () => {
    const fresh = await parkedNode();
    expect(fresh.engine.receiveProposal('bob', proposal6())).toBe('accepted');
    expect(fresh.engine.receiveProposal(peer('bob'), proposal6())).toBe('duplicate');
    expect(fresh.engine.receiveVote('bob', 'carol', ballot('carol', proposal6()))).toBe('accepted');
  });

  it('identity length and bigint ranks are exact at their bounds', async () => {
    const fresh = await parkedNode();
    const longest = shaped(() => 'y'.repeat(512));
    expect(fresh.engine.receiveLivenessCheck(peer('bob'), longest as unknown as Batch)).toBe('accepted');
    const tooLong = shaped(() => 'y'.repeat(513));
    expectRefused(fresh, () => fresh.engine.receiveLivenessCheck(peer('alice'), tooLong as unknown as Batch), MalformedMessageError, 'malformed');
    // A bigint rank that is a safe integer is a rank like any other.
    expect(fresh.engine.receiveLivenessCheck(peer('alice'), shaped(() => 'c', () => BigInt(NEXT + 1)) as unknown as Batch)).toBe(
      'accepted',
    );
    // 2^53 - 1 reads (it is safe) and is refused for being far ahead, not as malformed.
    expectRefused(
      fresh,
      () => fresh.engine.receiveLivenessCheck(peer('carol'), shaped(() => 'd', () => 2n ** 53n - 1n) as unknown as Batch),
      RankOutOfWindowError,
      'future_rank',
    );
    expectRefused(
      fresh,
      () => fresh.engine.receiveLivenessCheck(peer('carol'), shaped(() => 'd', () => 2n ** 53n) as unknown as Batch),
      MalformedMessageError,
      'malformed',
    );
  });
});

describe('positions are read once, as plain data, and may carry the rank the sender was handed (SPEC §2.6)', () => {
  let node: ScriptedNode;
  beforeEach(async () => {
    node = await parkedNode();
  });

  it('a position whose getter throws, or a Proxy, is malformed, in every receive method', () => {
    const hostilePositions = [throwingGetter('attempt'), throwingProxy()];
    for (const position of hostilePositions) {
      expectRefused(node, () => node.engine.receiveProposal(peer('bob'), proposal6(), position as never), MalformedMessageError, 'malformed');
      expectRefused(node, () => node.engine.receiveVote(peer('bob'), peer('carol'), ballot('carol', proposal6()), position as never), MalformedMessageError, 'malformed');
      expectRefused(node, () => node.engine.receiveNilVote(peer('carol'), new Ballot(NEXT, 'carol', '', 'nil'), position as never), MalformedMessageError, 'malformed');
      expectRefused(node, () => node.engine.receiveConfirmation(peer('carol'), proposal6(), position as never), MalformedMessageError, 'malformed');
      expectRefused(node, () => node.engine.receiveNilConfirmation(peer('carol'), position as never), MalformedMessageError, 'malformed');
    }
  });

  it('the position a provider is handed to send is accepted as it is; a rank that is not the value’s is malformed', () => {
    expect(node.engine.receiveProposal(peer('bob'), proposal6(), { rank: NEXT, attempt: 0, validAttempt: null })).toBe('accepted');
    expect(node.engine.receiveVote(peer('bob'), peer('carol'), ballot('carol', proposal6()), { rank: NEXT, attempt: 0 })).toBe('accepted');
    expect(node.engine.receiveConfirmation(peer('carol'), proposal6(), { rank: NEXT, attempt: 0 })).toBe('accepted');
    const error = expectRefused(
      node,
      () => node.engine.receiveConfirmation(peer('dave'), proposal6(), { rank: NEXT + 1, attempt: 0 }),
      MalformedMessageError,
      'malformed',
    );
    expect(error.issues).toEqual([`position.rank is ${NEXT + 1}, but the state is for rank ${NEXT}`]);
    const unknown = expectRefused(
      node,
      () => node.engine.receiveConfirmation(peer('dave'), proposal6(), { attempt: 0, extra: 1 } as never),
      MalformedMessageError,
      'malformed',
    );
    expect(unknown.issues).toEqual(['position.Unrecognized key: "extra"']);
  });
});

describe('a node that refuses what it is sent says so, once (SPEC §2.6)', () => {
  it('warns once per kind of message, sender and reason for malformed messages and non-members, and never for late ones', async () => {
    const node = await parkedNode();
    const send = (act: () => unknown) => {
      try {
        act();
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
      }
    };
    for (let i = 0; i < 5; i += 1) {
      send(() => node.engine.receiveProposal(peer('bob'), null as unknown as Frame));
      send(() => node.engine.receiveProposal(peer('carol'), null as unknown as Frame));
      send(() => node.engine.receiveVote(peer('bob'), peer('bob'), null as unknown as Ballot));
      send(() => node.engine.receiveProposal(peer(`stranger-${i}`), at(NEXT, 'bob')));
      send(() => node.engine.receiveProposal(peer('bob'), at(ACTIVE, 'bob')));
    }
    expect(node.logger.warnings.map((line) => line.slice(0, line.indexOf(':')))).toEqual([
      'refusing proposals from bob (malformed)',
      'refusing proposals from carol (malformed)',
      'refusing votes from bob (malformed)',
      'refusing proposals from (not a member) (not_member)',
    ]);
  });

  it('says nothing with warnOnRefusals off', async () => {
    const node = await parkedNode({ warnOnRefusals: false });
    expect(() => node.engine.receiveProposal(peer('bob'), null as unknown as Frame)).toThrow(MalformedMessageError);
    expect(node.logger.warnings).toEqual([]);
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

  it.each(METHODS.map((m) => m.method))('%s: a sender outside members is not_member, before its value is even read', (method) => {
    const args = atRank(method, NEXT + 1, 'mallory');
    // Its value would be malformed too; membership is judged first, for the price of one lookup.
    args[args.length - 1] = throwingProxy();
    const error = expectRefused(node, () => send(node.engine, method, args), UnexpectedSenderError, 'not_member');
    expect(error.sender).toBe('mallory');
  });

  it('a vote endorsing a non-member is not_member, whoever casts it', () => {
    const forged = at(NEXT + 1, 'mallory');
    expectRefused(node, () => node.engine.receiveVote(peer('mallory'), peer('carol'), ballot('carol', forged)), UnexpectedSenderError, 'not_member');
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

    const error = expectRefused(node, () => node.engine.receiveVote(peer('bob'), peer('carol'), ballot('carol', other)), EquivocationError, 'equivocation');
    expect(error).toMatchObject({ kind: 'vote', sender: 'carol', rank: NEXT });
    expect(node.logger.errors.slice(errorsBefore)).toEqual([{ message: 'equivocation by carol', error }]);

    // The same ballot endorsing another prover is a different vote too.
    const again = expectRefused(node, () => node.engine.receiveVote(peer('alice'), peer('carol'), ballot('carol', first)), EquivocationError, 'equivocation');
    expect(node.logger.errors.slice(errorsBefore)).toEqual([
      { message: 'equivocation by carol', error },
      { message: 'equivocation by carol', error: again },
    ]);
    expect(node.context().votes[slot(NEXT)].carol.value).toEqual(ballot('carol', first));
  });

  it('an identical repeat (a fresh copy) is a duplicate and changes nothing', () => {
    const messages = METHODS.map((spec) => spec.valid);
    expect(messages.map((valid, i) => send(node.engine, METHODS[i].method, valid()))).toEqual(Array(4).fill('accepted'));
    for (const [i, valid] of messages.entries()) {
      const snapshot = node.engine.actor.getSnapshot();
      expect(send(node.engine, METHODS[i].method, valid())).toBe('duplicate');
      expect(node.engine.actor.getSnapshot()).toBe(snapshot);
    }
    expect(node.logger.errors).toEqual([]);
    // Four messages (at attempt 0: no skip evidence).
    expect(node.engine.getHeldMessageCount()).toBe(4);
  });

  it('a second, different liveness, proposal or confirmation from one sender is refused too', () => {
    node.engine.receiveLivenessCheck(peer('bob'), batch(NEXT));
    node.engine.receiveProposal(peer('bob'), at(NEXT, 'bob'));
    node.engine.receiveConfirmation(peer('carol'), at(NEXT, 'bob'));
    expectRefused(node, () => node.engine.receiveLivenessCheck(peer('bob'), batch(NEXT, ['x'])), EquivocationError, 'equivocation');
    expectRefused(node, () => node.engine.receiveProposal(peer('bob'), at(NEXT, 'bob', 'x')), EquivocationError, 'equivocation');
    expectRefused(node, () => node.engine.receiveConfirmation(peer('carol'), at(NEXT, 'alice')), EquivocationError, 'equivocation');
    expect(node.logger.errors.map((e) => e.message)).toEqual(['equivocation by bob', 'equivocation by bob', 'equivocation by carol']);
  });

  it('identities that are Object.prototype keys are ordinary members', async () => {
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const open = await parkedNode({}, [...MEMBERS, ...odd]);
    for (const name of odd) {
      expect(open.engine.receiveConfirmation(peer(name), at(NEXT, 'bob'))).toBe('accepted');
      expect(open.engine.receiveConfirmation(peer(name), at(NEXT, 'bob'))).toBe('duplicate');
    }
    const entries = open.context().confirmations[slot(NEXT)];
    expect(Object.keys(entries).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(Object.getPrototypeOf(entries)).toBe(Object.prototype);
    expect(open.engine.getMembership().weights.__proto__).toBe(1);
  });
});

describe('memory stays bounded under a flood (SPEC §2.7)', () => {
  it('10,000 messages from ever-new senders are refused as not_member and hold nothing', async () => {
    const node = await parkedNode();
    const held = node.engine.getHeldMessageCount();
    const transitions = node.engine.getTransitionCount();
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 10_000; i += 1) {
      const sender = `s${i}`;
      const rank = NEXT + (i % WINDOW);
      try {
        switch (i % 4) {
          case 0:
            node.engine.receiveLivenessCheck(peer(sender), batch(rank, [sender]));
            break;
          case 1:
            node.engine.receiveProposal(peer(sender), at(rank, sender));
            break;
          case 2:
            node.engine.receiveVote(peer(sender), peer(sender), new Ballot(rank, sender, sender, 'h'), { attempt: 1_000 });
            break;
          default:
            node.engine.receiveConfirmation(peer(sender), at(rank, sender), { attempt: 999_999 });
        }
        outcomes.set('accepted', (outcomes.get('accepted') ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(outcomes)).toEqual({ not_member: 10_000 });
    expect(node.engine.getHeldMessageCount()).toBe(held);
    expect(node.engine.getTransitionCount()).toBe(transitions);
  });

  it('members flooding every rank and attempt hold at most heldMessageBound', async () => {
    const node = await parkedNode();
    for (let rank = NEXT; rank < NEXT + WINDOW + 2; rank += 1) {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        for (const sender of MEMBERS) {
          const frame = at(rank, 'bob', `a${attempt}`);
          for (const deliver of [
            () => node.engine.receiveLivenessCheck(peer(sender), batch(rank, [`${attempt}`])),
            () => node.engine.receiveProposal(peer(sender), frame, { attempt }),
            () => node.engine.receiveVote(peer('bob'), peer(sender), ballot(sender, frame), { attempt }),
            () => node.engine.receiveConfirmation(peer(sender), frame, { attempt }),
          ]) {
            try {
              deliver();
            } catch (error) {
              if (!(error instanceof ConsensusInputError)) throw error;
            }
          }
        }
      }
    }
    expect(node.engine.getHeldMessageCount()).toBeLessThanOrEqual(heldMessageBound(WINDOW, MEMBERS.length));
    expect(node.engine.getHeldMessageCount()).toBeGreaterThan(0);
  });
});

describe('property: junk never gets past the door (SPEC §2.6)', () => {
  it.each(METHODS.map((m) => [m.method, m.fields.length] as const))(
    '%s: fc.anything() in every argument → a ConsensusInputError, context untouched',
    async (method, arity) => {
      const node = await parkedNode();
      fc.assert(
        fc.property(fc.array(fc.anything(), { minLength: arity, maxLength: arity }), (args) => {
          const snapshot = node.engine.actor.getSnapshot();
          expect(() => send(node.engine, method, args)).toThrow(ConsensusInputError);
          expect(node.engine.actor.getSnapshot()).toBe(snapshot);
        }),
        { numRuns: 300, seed: 20_240_601 },
      );
    },
  );

  it.each(METHODS.map((m) => [m.method] as const))(
    '%s: peer-shaped values with arbitrary results → accepted, duplicate, or a ConsensusInputError that changed nothing',
    async (method) => {
      const node = await parkedNode();
      const spec = METHODS.find((m) => m.method === method)!;
      const outcome = <T>(value: fc.Arbitrary<T>) =>
        fc.oneof(
          value.map((v) => () => v),
          fc.constant(() => {
            throw new Error('hostile');
          }),
        );
      const identity = outcome(fc.oneof(fc.anything(), fc.string({ maxLength: 600 }), fc.constantFrom('bob', 'alice', 'carol', '__proto__', 'constructor', 'toString')));
      const rank = outcome(fc.oneof(fc.anything(), fc.integer({ min: -2, max: ACTIVE + WINDOW + 2 }), fc.bigInt({ min: -2n, max: 2n ** 54n }), fc.double()));
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
    members: [peer('alice'), peer('bob'), peer('carol'), peer('dave')],
    initialState: Frame.genesis(),
    codec: fixtureCodec,
    clock: new SimulatedClock(),
    providers: {
      sync: { synchronize: async (existing) => existing },
      leader: { getNextLeaders: async () => [peer('alice')], proveNextState: async (prior) => prior },
      liveness: { collect: async () => batch(1), sendLiveness: async () => {} },
      voting: {
        sendProposal: async () => {},
        decideAndSendVote: async () => ({ proposer: peer('alice'), vote: new Ballot(1, 'alice', 'alice', 'h') }),
        finalizeVotes: async (proposals) => ({ state: [...proposals.values()][0], proposer: peer('alice') }),
        sendConfirmation: async () => {},
      },
    },
  });

  const without = (field: 'codec' | 'members') => () => {
    const config: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>> = validConfig();
    delete config[field];
    return config;
  };
  const withoutFinalizeVotes = () => {
    const config = validConfig();
    delete (config.providers.voting as Partial<typeof config.providers.voting>).finalizeVotes;
    return config;
  };

  it.each<[string, () => unknown, string[]]>([
    ['a provider method missing', withoutFinalizeVotes, ['providers.voting.finalizeVotes: finalizeVotes must be a function']],
    ['no codec', without('codec'), ['codec: Invalid input: expected object, received undefined']],
    ['no members', without('members'), ['members: Invalid input: expected array, received undefined']],
    ['a codec without decode', () => ({ ...validConfig(), codec: { ...fixtureCodec, vote: {} } }), ['codec.vote.decode: codec.vote.decode must be a function']],
    ['this node not among the members', () => ({ ...validConfig(), members: [peer('bob'), peer('carol')] }), ['members: must include this node (alice)']],
    ['a member listed twice', () => ({ ...validConfig(), members: [peer('alice'), peer('bob'), peer('bob')] }), ['members: bob is listed twice']],
    ['a weight of 0', () => ({ ...validConfig(), members: [peer('alice'), { id: peer('bob'), weight: 0 }] }), ["members: bob's weight must be a positive integer, got 0"]],
    ['a fractional weight', () => ({ ...validConfig(), members: [{ id: peer('alice'), weight: 1.5 }] }), ["members: alice's weight must be a positive integer, got 1.5"]],
    ['faultTolerance past the bound', () => ({ ...validConfig(), faultTolerance: 2 }), ['faultTolerance 2 is past the bound for total weight 4: at most ⌊(n − 1)/3⌋ = 1']],
    ['a negative faultTolerance', () => ({ ...validConfig(), faultTolerance: -1 }), ['faultTolerance must be a non-negative integer, got -1']],
    ['a negative timeout', () => ({ ...validConfig(), timeouts: { voting: -5 } }), ['timeouts.voting: Too small: expected number to be >0']],
    ['a NaN timeout', () => ({ ...validConfig(), timeouts: { proving: Number.NaN } }), ['timeouts.proving: Invalid input: expected number, received NaN']],
    ['an unknown timeout key', () => ({ ...validConfig(), timeouts: { votingg: 5 } }), ['timeouts: Unrecognized key: "votingg"']],
    ['rankWindow 0', () => ({ ...validConfig(), rankWindow: 0 }), ['rankWindow: Too small: expected number to be >=1']],
    ['minimumProvers 0', () => ({ ...validConfig(), minimumProvers: 0 }), ['minimumProvers: Too small: expected number to be >=1']],
    ['livenessThreshold -1', () => ({ ...validConfig(), livenessThreshold: -1 }), ['livenessThreshold: Too small: expected number to be >=0']],
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

  it('livenessThreshold 0 is a configuration: provers go on without hearing from the others', () => {
    expect(createConsensusEngine({ ...validConfig(), livenessThreshold: 0 }).getState()).toBe('stopped');
  });

  it('the valid configuration those cases start from is accepted, with the quorum the engine counts', () => {
    const engine = createConsensusEngine(validConfig());
    expect(engine.getState()).toBe('stopped');
    expect(engine.getMembership()).toMatchObject({ total: 4, faulty: 1, quorum: 3, honest: 2 });
  });
});
