import type { RandomSource } from '../providers/random';

// What the garbage behaviour sends: values and election messages every honest node must refuse.

/**
 * Election messages every honest node must refuse with `ElectionMessageError`:
 * unknown or missing types and fields, bad terms, oversized or ill-formed ids,
 * extra fields, and a heartbeat claiming another member's id. None is a
 * well-formed message in the sender's own name: Raft trusts those, and a
 * Byzantine-tolerant election is not what SPEC §3 asks for.
 */
export function electionJunk(self: string, members: readonly string[]): unknown[] {
  const other = members.find((member) => member !== self) ?? 'nobody';
  return [
    null,
    'heartbeat',
    { type: 'append_entries', term: 1 },
    { type: 'heartbeat' },
    { type: 'heartbeat', term: -1, leaderId: self },
    { type: 'heartbeat', term: 2 ** 60, leaderId: self },
    { type: 'heartbeat', term: 1, leaderId: self, entries: [] },
    { type: 'heartbeat', term: 1, leaderId: other },
    { type: 'heartbeat', term: 1, leaderId: 'x'.repeat(200) },
    { type: 'request_vote', preVote: false, term: 1.5, candidateId: self, lastLogTerm: 0, lastLogIndex: 0 },
    { type: 'request_vote', preVote: 'yes', term: 1, candidateId: self, lastLogTerm: 0, lastLogIndex: 0 },
    { type: 'request_vote', preVote: false, term: 1, candidateId: other, lastLogTerm: 0, lastLogIndex: 0 },
    { type: 'request_vote_response', preVote: false, term: 1, granted: 'yes' },
    { type: 'heartbeat_response', term: Number.NaN, success: true },
  ];
}

/** Values that fail the engine's `Unique` schema in every way it checks. */
export function garbageUniques(random: RandomSource): unknown[] {
  const unique = (identity: () => unknown, rank: () => unknown) => ({
    identity,
    rank,
    clone() {
      return this;
    },
  });
  return [
    null,
    42,
    'not a unique',
    {},
    { identity: 'not a function', clone() {}, rank() {} },
    unique(
      () => {
        throw new Error('identity() throws');
      },
      () => 1,
    ),
    unique(
      () => '',
      () => 1,
    ),
    unique(
      () => 'x'.repeat(600),
      () => 1,
    ),
    unique(
      () => 7,
      () => 1,
    ),
    unique(
      () => `garbage-${random.integer(0, 1_000_000)}`,
      () => -1,
    ),
    unique(
      () => `garbage-${random.integer(0, 1_000_000)}`,
      () => 1.5,
    ),
    unique(
      () => `garbage-${random.integer(0, 1_000_000)}`,
      () => Number.NaN,
    ),
    unique(
      () => `garbage-${random.integer(0, 1_000_000)}`,
      () => 2n ** 60n,
    ),
    unique(
      () => `garbage-${random.integer(0, 1_000_000)}`,
      () => {
        throw new Error('rank() throws');
      },
    ),
  ];
}
