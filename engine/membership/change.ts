import { z } from 'zod';
import type { Identity, Unique } from '../../providers/unique';
import { describeError } from '../door';
import { describeIssues, MAX_IDENTITY_LENGTH, uniqueSchema } from '../schemas';
import { isCurvePoint } from '../signing/keys';

/**
 * One member in or out, as a committed value carries it (the app's
 * `membershipChangeIn` says which value does). `id` is the member's identity,
 * or the app's peer object for it: the engine then hands that object to the
 * relay when it sends the member something.
 */
export type MembershipChange<PeerIDT extends Unique = Unique> =
  | { op: 'add'; id: Identity | PeerIDT; weight?: number; publicKey?: string }
  | { op: 'remove'; id: Identity | PeerIDT };

/** A change as the engine keeps it: plain data, the identity read once, the peer object (if any) aside. */
export type CheckedChange =
  | { op: 'add'; id: Identity; weight: number; publicKey?: string }
  | { op: 'remove'; id: Identity };

const identitySchema = z.string().min(1).max(MAX_IDENTITY_LENGTH);
const changeSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('add'),
      id: identitySchema,
      weight: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
      publicKey: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters')
        .refine((key) => isCurvePoint(Buffer.from(key, 'hex')), 'is not a point of the Ed25519 curve')
        .optional(),
    })
    .strict(),
  z.object({ op: z.literal('remove'), id: identitySchema }).strict(),
]);

/** What a committed value says about the membership. */
export type ReadChange<PeerIDT extends Unique> =
  | { kind: 'none' }
  | { kind: 'invalid'; issue: string }
  | { kind: 'change'; change: CheckedChange; peer: PeerIDT | null };

/**
 * Asks the app's hook whether `value` carries a change, and checks its
 * shape. Everything here depends on the value alone, so every node reads
 * the same thing from the same committed value; a hook that throws is read
 * as a malformed change, never as a node's own fault.
 */
export function readChange<StateT, PeerIDT extends Unique>(
  value: StateT,
  hook: (state: StateT) => MembershipChange<PeerIDT> | null | undefined,
): ReadChange<PeerIDT> {
  let raw: unknown;
  try {
    raw = hook(value);
  } catch (error) {
    return { kind: 'invalid', issue: `membershipChangeIn threw: ${describeError(error)}` };
  }
  if (raw === null || raw === undefined) return { kind: 'none' };
  if (typeof raw !== 'object') return { kind: 'invalid', issue: 'membershipChangeIn must return a change or null' };
  let peer: PeerIDT | null = null;
  let plain: Record<string, unknown>;
  try {
    const { id, ...rest } = raw as Record<string, unknown>;
    plain = { ...rest };
    if (typeof id === 'object' && id !== null) {
      const checked = uniqueSchema('id').safeParse(id);
      if (!checked.success) return { kind: 'invalid', issue: describeIssues(checked.error).join('; ') };
      plain.id = checked.data.id;
      peer = (id as PeerIDT).clone();
    } else plain.id = id;
  } catch (error) {
    return { kind: 'invalid', issue: `the change could not be read: ${describeError(error)}` };
  }
  const parsed = changeSchema.safeParse(plain);
  if (!parsed.success) return { kind: 'invalid', issue: describeIssues(parsed.error).join('; ') };
  const change = parsed.data;
  if (change.op === 'remove') return { kind: 'change', change, peer };
  return {
    kind: 'change',
    change: {
      op: 'add',
      id: change.id,
      weight: change.weight ?? 1,
      ...(change.publicKey === undefined ? {} : { publicKey: change.publicKey.toLowerCase() }),
    },
    peer,
  };
}
