import {
  ElectionMessageError,
  MAX_NODE_ID_LENGTH,
  MAX_TERM,
  parseElectionMessage,
  resolveElectionInput,
  toElectionEvent,
  type ElectionMessage,
} from '../../machines/election.schemas';
import { InMemoryElectionStorage } from '../../providers/storage';
import { solo } from './harness';

const valid: ElectionMessage[] = [
  { type: 'request_vote', preVote: true, term: 3, candidateId: 'n2', lastLogTerm: 2, lastLogIndex: 7 },
  { type: 'request_vote_response', preVote: false, term: 3, granted: true },
  { type: 'heartbeat', term: 3, leaderId: 'n2' },
  { type: 'heartbeat_response', term: 3, success: false },
];

function rejection(from: unknown, raw: unknown): ElectionMessageError {
  try {
    toElectionEvent(from, raw);
  } catch (error) {
    if (error instanceof ElectionMessageError) return error;
    throw error;
  }
  throw new Error('expected an ElectionMessageError');
}

describe('election message schemas', () => {
  test('every well-formed message parses to an equal copy', () => {
    for (const message of valid) {
      const parsed = parseElectionMessage(JSON.parse(JSON.stringify(message)));
      expect(parsed).toEqual(message);
    }
    expect(toElectionEvent('n2', valid[2])).toEqual({ type: 'receive', from: 'n2', message: valid[2] });
  });

  test('a parsed message is a frozen copy, taken as it is when checked again', () => {
    const parsed = parseElectionMessage({ ...valid[2] });
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(() => {
      (parsed as { term: number }).term = -1;
    }).toThrow(TypeError);
    expect(toElectionEvent('n2', parsed).message).toBe(parsed);
    // A copy of it is parsed like any payload.
    expect(toElectionEvent('n2', { ...parsed }).message).not.toBe(parsed);
  });

  test.each([
    ['an unknown type', { type: 'append', term: 1 }, 'type'],
    ['a missing field', { type: 'heartbeat', term: 1 }, 'leaderId'],
    ['a negative term', { type: 'heartbeat_response', term: -1, success: true }, 'term'],
    ['a fractional term', { type: 'heartbeat_response', term: 1.5, success: true }, 'term'],
    ['a term past the bound', { type: 'heartbeat_response', term: MAX_TERM + 1, success: true }, 'term'],
    ['a term of zero in a request', { type: 'heartbeat', term: 0, leaderId: 'n2' }, 'term'],
    ['a string for a number', { type: 'request_vote_response', preVote: false, term: '3', granted: true }, 'term'],
    ['an extra field', { type: 'heartbeat', term: 1, leaderId: 'n2', entries: [] }, ''],
    ['an over-long id', { type: 'heartbeat', term: 1, leaderId: 'x'.repeat(MAX_NODE_ID_LENGTH + 1) }, 'leaderId'],
    ['an id with odd characters', { type: 'heartbeat', term: 1, leaderId: 'n2\n' }, 'leaderId'],
    ['not an object', 'heartbeat', ''],
  ])('%s is rejected as invalid_message, naming the field', (_, raw, path) => {
    const error = rejection('n2', raw);
    expect(error.code).toBe('invalid_message');
    expect(error.name).toBe('ElectionMessageError');
    expect(error.issues.map((issue) => issue.path)).toContain(path);
  });

  test('a request that names someone other than its sender is rejected as sender_mismatch', () => {
    const error = rejection('n3', valid[0]);
    expect([error.code, error.message]).toEqual(['sender_mismatch', 'request_vote from n3 claims to come from n2']);
  });

  test('an invalid transport sender is rejected as invalid_sender', () => {
    expect(rejection('', valid[1]).code).toBe('invalid_sender');
    expect(rejection(42, valid[1]).code).toBe('invalid_sender');
  });

  test('a bad configuration is refused up front', () => {
    expect(() => resolveElectionInput({ id: 'n1', peers: ['n1'] })).toThrow('peers must not include the node itself');
    expect(() => resolveElectionInput({ id: 'n1', peers: ['n2', 'n2'] })).toThrow('peers must be distinct');
    expect(() =>
      resolveElectionInput({ id: 'n1', peers: [], timing: { electionTimeoutMinMs: 300, electionTimeoutMaxMs: 150 } }),
    ).toThrow('electionTimeoutMinMs must not exceed electionTimeoutMaxMs');
    expect(() => resolveElectionInput({ id: 'n1', peers: [], timing: { heartbeatIntervalMs: 150 } })).toThrow(
      'heartbeatIntervalMs must be below electionTimeoutMinMs',
    );
    expect(resolveElectionInput({ id: 'n1', peers: ['n3', 'n2'] })).toEqual({
      id: 'n1',
      peers: ['n2', 'n3'],
      timing: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 50, preVoteTimeoutMs: 100 },
      preVote: true,
      logPosition: { lastLogTerm: 0, lastLogIndex: 0 },
    });
  });
});

describe('malformed messages at the machine', () => {
  test('a malformed message is rejected with the typed error and leaves the snapshot unchanged', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 2, votedFor: null }) });
    const before = node.actor.getSnapshot();
    const emittedBefore = node.emitted.length;

    // Sent straight to the actor, bypassing toElectionEvent, as a careless host might.
    const garbage = [
      { from: 'n2', message: { type: 'heartbeat', term: 9 } },
      { from: 'n2', message: { type: 'request_vote', preVote: false, term: 9, candidateId: 'n3', lastLogTerm: 0, lastLogIndex: 0 } },
      { from: 'n9', message: { type: 'heartbeat', term: 9, leaderId: 'n9' } },
      { from: 'n1', message: { type: 'heartbeat', term: 9, leaderId: 'n1' } },
    ];
    for (const { from, message } of garbage) {
      node.actor.send({ type: 'receive', from, message: message as ElectionMessage });
    }
    await node.advance(1);

    const after = node.actor.getSnapshot();
    expect(after.value).toEqual(before.value);
    expect(after.context).toEqual(before.context);
    const fresh = node.emitted.slice(emittedBefore).map(({ event }) => event);
    expect(fresh.map((event) => event.type)).toEqual(['message_rejected', 'message_rejected', 'message_rejected', 'message_rejected']);
    expect(
      fresh.map((event) => (event.type === 'message_rejected' && event.error instanceof ElectionMessageError ? event.error.code : null)),
    ).toEqual(['invalid_message', 'sender_mismatch', 'unknown_sender', 'unknown_sender']);
  });
});

describe('hostile payloads sent straight to the machine', () => {
  test('a payload that throws when read is a rejection, not a crash of the actor', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 2, votedFor: null }) });
    const before = node.actor.getSnapshot();
    const exploding = Object.defineProperty({ type: 'heartbeat', leaderId: 'n2' }, 'term', {
      enumerable: true,
      get() {
        throw new Error('hostile getter');
      },
    });
    const throwingProxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('hostile trap');
        },
      },
    );
    for (const message of [exploding, throwingProxy]) {
      node.actor.send({ type: 'receive', from: 'n2', message: message as ElectionMessage });
    }
    await node.advance(1);

    const after = node.actor.getSnapshot();
    expect(after.status).toBe('active');
    expect(after.context).toEqual(before.context);
    const rejected = node.emitted.flatMap(({ event }) => (event.type === 'message_rejected' ? [event.error] : []));
    expect(rejected).toHaveLength(2);
    expect(rejected.every((error) => error instanceof ElectionMessageError && error.code === 'invalid_message')).toBe(true);
  });

  test('an event is read once: a message that answers differently the second time acts as it first answered', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 2, votedFor: null }) });
    let reads = 0;
    // Both answers are valid heartbeats; were the event read again after its check, the node would take term 40.
    const event = {
      type: 'receive' as const,
      from: 'n2',
      get message(): ElectionMessage {
        reads += 1;
        return { type: 'heartbeat', term: reads === 1 ? 3 : 40, leaderId: 'n2' };
      },
    };
    node.actor.send(event);
    await node.advance(1);

    expect(reads).toBe(1);
    const { term, leader } = node.actor.getSnapshot().context;
    expect({ term, leader }).toEqual({ term: 3, leader: 'n2' });
  });
});
