import fc from 'fast-check';
import { ConsensusInputError, type ConsensusEngine } from '../../index';
import { Ballot, Batch, Frame, Peer } from './fixtures';
import { describeThrown, hostileSender, hostileValue, hostileVariants, thrownIs, type Hostile } from './hostile';

/**
 * Hostile round messages for a running engine or node, through every
 * `receive*` method: each call is a member's valid message with one argument
 * made hostile (a corrupted copy of it, junk, or a sender that is no
 * member). Whatever throws must be a `ConsensusInputError` and leave the
 * round machine's snapshot exactly as it was. The valid messages claim to
 * come from one member, the faulty one (a Byzantine member that sends its
 * messages to the target alone), and its certificates and lock proofs carry
 * its own signature alone, which never weighs a quorum.
 */

export const SEED = 20_261_204;
export const MESSAGES = 100_000;
/** About 15 s on a 2-core machine running two files at once: room for a slower CI core. */
export const FUZZ_TIMEOUT_MS = 120_000;
const BATCH = 2_000;
/** Simulated time between batches, so messages meet the target in every state a round passes through. */
export const BATCH_GAP_MS = 10;
/** The target's members, and the one of them whose messages are forged. */
export interface Cast {
  readonly members: readonly string[];
  readonly faulty: string;
}

export type Target = Pick<
  ConsensusEngine<Frame, Ballot, Peer, Batch>,
  | 'getActiveRank'
  | 'receiveLivenessCheck'
  | 'receiveProposal'
  | 'receiveVote'
  | 'receiveNilVote'
  | 'receiveConfirmation'
  | 'receiveNilConfirmation'
  | 'receiveCommitCertificate'
  | 'receiveLockProof'
>;

type Method = Exclude<keyof Target, 'getActiveRank'>;

interface Call {
  readonly method: Method;
  /** What was made hostile, e.g. `vote/field/getter-throws`. */
  readonly kind: string;
  readonly args: readonly Hostile[];
}

const valid = (make: () => unknown): Hostile => ({ kind: 'valid', make });

/** One argument of a call: its valid form, and what may stand in for it. */
interface Slot {
  readonly valid: fc.Arbitrary<object>;
  /** Senders are also replaced by hostile senders; values by junk. */
  readonly sender?: boolean;
}

/** A fresh copy each time: one generated value is made once, but a copy keeps runs independent. */
function copyOf(value: object): () => unknown {
  if (value instanceof Frame) return () => value.clone();
  if (value instanceof Ballot) return () => value.clone();
  if (value instanceof Batch) return () => value.clone();
  if (value instanceof Peer) return () => value.clone();
  return () => structuredClone(value);
}

/**
 * The arguments of each method as the faulty member would send them, around
 * the target's active rank `base` (a few behind it, most in its window, some
 * beyond).
 */
function slotsAround(base: number, FAULTY: string): Record<Method, readonly Slot[]> {
  const rank = fc.integer({ min: Math.max(1, base - 2), max: base + 20 });
  const attempt = fc.integer({ min: 0, max: 6 });
  const faulty = fc.constant(new Peer(FAULTY));
  const frame = fc
    .tuple(rank, fc.constantFrom('parent-a', 'parent-b', Frame.genesis().hash), fc.string({ maxLength: 8 }))
    .map(([height, parent, payload]) => new Frame(height, parent, payload, FAULTY));
  const ballot = frame.map((value) => new Ballot(value.height, FAULTY, FAULTY, value.hash));
  const nilBallot = rank.map((height) => new Ballot(height, FAULTY, '', 'nil'));
  const batch = fc.tuple(rank, fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })).map(([height, items]) => new Batch(height, items));
  const proposalAt = fc.record({ attempt, validAttempt: fc.constant(null) });
  const at = fc.record({ attempt });
  const signed = fc.record({ attempt, signers: fc.constant([FAULTY]) });
  const lockProof = fc.record({ rank, attempt, value: frame.map((value) => value.hash), voters: fc.constant([FAULTY]) });
  const nilAt = fc.record({ rank, attempt });
  return {
    receiveLivenessCheck: [{ valid: faulty, sender: true }, { valid: batch }],
    receiveProposal: [{ valid: faulty, sender: true }, { valid: frame }, { valid: proposalAt }],
    receiveVote: [{ valid: faulty, sender: true }, { valid: faulty, sender: true }, { valid: ballot }, { valid: at }],
    receiveNilVote: [{ valid: faulty, sender: true }, { valid: nilBallot }, { valid: at }],
    receiveConfirmation: [{ valid: faulty, sender: true }, { valid: frame }, { valid: at }],
    receiveNilConfirmation: [{ valid: faulty, sender: true }, { valid: nilAt }],
    receiveCommitCertificate: [{ valid: frame }, { valid: signed }],
    receiveLockProof: [{ valid: lockProof }],
  };
}

export const METHODS = Object.keys(slotsAround(0, 'n0')) as Method[];

/** The faulty member's valid calls around `base`, nothing corrupted: what the hostile calls start from. */
export function validCall(base: number, cast: Cast): fc.Arbitrary<Call> {
  const slots = slotsAround(base, cast.faulty);
  return fc.oneof(
    ...METHODS.map((method) =>
      fc.tuple(...slots[method].map((slot) => slot.valid.map((value) => valid(copyOf(value))))).map((args): Call => ({ method, kind: `${method}/valid`, args })),
    ),
  );
}

/** The faulty member's calls around `base` with one argument corrupted. */
function hostileCall(base: number, cast: Cast): fc.Arbitrary<Call> {
  const slots = slotsAround(base, cast.faulty);
  const calls = METHODS.flatMap((method) =>
    slots[method].map((_, corrupted) => {
      const args = slots[method].map((slot, i) => {
        if (i !== corrupted) return slot.valid.map((value) => valid(copyOf(value)));
        const replacements = [hostileVariants(slot.valid), hostileValue()];
        if (slot.sender) replacements.push(hostileSender(cast.members));
        return fc.oneof(...replacements);
      });
      return fc.tuple(...args).map((made): Call => ({ method, kind: `${method}/${made[corrupted].kind}`, args: made }));
    }),
  );
  return fc.oneof(...calls);
}

interface FuzzTally {
  delivered: number;
  accepted: number;
  codes: Map<string, number>;
  kinds: Map<string, number>;
  untyped: string[];
  changed: string[];
}

/**
 * Sends `MESSAGES` hostile calls to `target` in batches, `pause()` between
 * them; `snapshot()` is its round machine's snapshot.
 */
export async function fuzz(target: Target, cast: Cast, snapshot: () => unknown, pause: () => Promise<void>): Promise<FuzzTally> {
  const tally: FuzzTally = { delivered: 0, accepted: 0, codes: new Map(), kinds: new Map(), untyped: [], changed: [] };
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  // Jest raises it to 100, and each refusal captures a stack; Node's default keeps that cheap.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 10;
  try {
    for (let batch = 0; batch < MESSAGES / BATCH; batch += 1) {
      const calls = fc.sample(hostileCall(target.getActiveRank(), cast), { numRuns: BATCH, seed: SEED + batch });
      for (const { method, kind, args } of calls) {
        count(tally.kinds, kind.split('/').slice(0, 3).join('/'));
        const values = args.map((arg) => arg.make());
        // The held messages live in the snapshot's context: the same snapshot holds the same ones.
        const before = snapshot();
        tally.delivered += 1;
        try {
          (target[method] as (...args: unknown[]) => unknown)(...values);
          tally.accepted += 1;
          continue;
        } catch (error) {
          if (!thrownIs(error, ConsensusInputError)) {
            tally.untyped.push(`${kind}: ${describeThrown(error)}`);
            continue;
          }
          count(tally.codes, error.code);
        }
        if (snapshot() !== before) tally.changed.push(kind);
      }
      await pause();
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  return tally;
}

/** The tally, and the slowest honest node's commits before, at the end of and after the fuzzing. */
export function report(what: string, tally: FuzzTally, before: number, during: number, after: number): string {
  const refused = [...tally.codes.values()].reduce((sum, n) => sum + n, 0);
  return [
    `${what} (seed ${SEED}): ${tally.delivered} hostile calls, ${refused} refused (${[...tally.codes].map(([code, n]) => `${code} ${n}`).join(', ')}), ${tally.accepted} accepted`,
    `  other throws: ${tally.untyped.length}, refusals that changed something: ${tally.changed.length}`,
    `  commits at the slowest honest node: ${before} before, ${during} when the fuzzing ended, ${after} after`,
  ].join('\n');
}

/** The checks both targets share. */
export function expectHeld(tally: FuzzTally): void {
  expect(tally.delivered).toBe(MESSAGES);
  expect(tally.untyped.slice(0, 10)).toEqual([]);
  expect(tally.changed.slice(0, 10)).toEqual([]);
  // Mostly refusals: an accepted call is a corrupted copy the engine rebuilt through the codec into a valid message.
  const refused = [...tally.codes.values()].reduce((sum, n) => sum + n, 0);
  expect(refused).toBeGreaterThan(MESSAGES * 0.8);
  // Every method and every kind of corruption was tried, in numbers.
  const byPrefix = (prefix: string) => [...tally.kinds].filter(([kind]) => kind.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);
  expect(METHODS.filter((method) => byPrefix(`${method}/`) < 2_000)).toEqual([]);
  const seen = (group: string) => [...tally.kinds].some(([kind]) => kind.split('/')[1] === group);
  expect(['field', 'key', 'shape', 'proxy', 'sender'].filter((group) => !seen(group))).toEqual([]);
  expect(['malformed', 'not_member', 'short_of_quorum', 'equivocation'].filter((code) => (tally.codes.get(code) ?? 0) < 50)).toEqual([]);
}

/** Every node's commits agree: on each rank two nodes committed, the same value. */
export function expectAgreement(chains: readonly (readonly string[])[]): void {
  const common = Math.min(...chains.map((chain) => chain.length));
  expect(new Set(chains.map((chain) => chain.slice(0, common).join(','))).size).toBe(1);
}
