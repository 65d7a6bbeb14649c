import { z } from 'zod';
import type { Identity, Unique } from '../providers/unique';

/** Longer identities are refused: a peer must not make us store megabyte keys. */
export const MAX_IDENTITY_LENGTH = 512;

export interface CheckedUnique<T extends Unique = Unique> {
  value: T;
  id: Identity;
}

export interface RankedUnique<T extends Unique = Unique> extends CheckedUnique<T> {
  rank: number;
}

function isUniqueLike(value: unknown): value is Unique {
  if (typeof value !== 'object' || value === null) return false;
  // A getter or proxy may throw on the lookup itself, not only on the call.
  const methods = attempt(() => {
    const candidate = value as Record<string, unknown>;
    return [candidate.identity, candidate.clone, candidate.rank];
  });
  return methods.ok && methods.value.every((method) => typeof method === 'function');
}

/** Calls a peer-supplied method without letting it throw past the parser. */
function attempt<T>(read: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    return { ok: false, error };
  }
}

function readIdentity(label: string, value: unknown, ctx: z.RefinementCtx): CheckedUnique | typeof z.NEVER {
  if (!isUniqueLike(value)) {
    ctx.addIssue({ code: 'custom', message: `${label} must implement identity(), clone() and rank()` });
    return z.NEVER;
  }
  const id = attempt(() => value.identity());
  if (!id.ok) {
    ctx.addIssue({ code: 'custom', message: `${label}.identity() threw: ${String(id.error)}` });
    return z.NEVER;
  }
  if (typeof id.value !== 'string' || id.value.length === 0 || id.value.length > MAX_IDENTITY_LENGTH) {
    ctx.addIssue({
      code: 'custom',
      message: `${label}.identity() must be a non-empty string of at most ${MAX_IDENTITY_LENGTH} characters`,
    });
    return z.NEVER;
  }
  return { value, id: id.value };
}

/**
 * Schemas are built once per label and reused: building one costs more than
 * checking a value with it, and provider results are checked on every call.
 * Labels are the engine's own (a few names, and `leader i` per member), but
 * the cache is capped all the same.
 */
function builtOnce<S>(build: (label: string) => S): (label: string) => S {
  const built = new Map<string, S>();
  return (label) => {
    let schema = built.get(label);
    if (schema === undefined) {
      schema = build(label);
      if (built.size < 1024) built.set(label, schema);
    }
    return schema;
  };
}

/** Any `Unique` whose identity is usable as a key. */
export const uniqueSchema = builtOnce((label: string) =>
  z.unknown().transform((value, ctx): CheckedUnique => readIdentity(label, value, ctx)),
);

/** A `Unique` that also carries a usable rank (a non-negative safe integer). */
export const rankedSchema = builtOnce((label: string) =>
  z.unknown().transform((value, ctx): RankedUnique => {
    const checked = readIdentity(label, value, ctx);
    if (checked === z.NEVER) return z.NEVER;
    const raw = attempt(() => (checked as CheckedUnique).value.rank());
    if (!raw.ok) {
      ctx.addIssue({ code: 'custom', message: `${label}.rank() threw: ${String(raw.error)}` });
      return z.NEVER;
    }
    const rank = typeof raw.value === 'bigint' ? Number(raw.value) : raw.value;
    const exact = typeof raw.value !== 'bigint' || BigInt(rank) === raw.value;
    if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 0 || !exact) {
      ctx.addIssue({ code: 'custom', message: `${label}.rank() must be a non-negative safe integer` });
      return z.NEVER;
    }
    return { ...(checked as CheckedUnique), rank };
  }),
);

/** Attempts are counted in a safe integer; no cluster gets near this. */
export const MAX_ATTEMPT = 1_000_000;
const attemptNumber = z.number().int().min(0).max(MAX_ATTEMPT);
const rankNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const identity = z.string().min(1).max(MAX_IDENTITY_LENGTH);

/**
 * Positions as peers pass them. Each accepts what the engine hands the
 * provider that sends the message (`rank` included, checked against the
 * value's), so a transport can forward it as it is.
 */
export const proposalPositionSchema = z
  .object({ rank: rankNumber.optional(), attempt: attemptNumber.optional(), validAttempt: attemptNumber.nullable().optional() })
  .strict()
  .refine((p) => p.validAttempt == null || p.validAttempt < (p.attempt ?? 0), {
    message: "validAttempt must be an earlier attempt than the proposal's own",
  });
/** A signature as the engine hands it out (base64 Ed25519); checked for what it signs later. */
const signature = z.string().max(128);
const digest = z.string().regex(/^[0-9a-f]{64}$/);
// `proposal: null` is how the engine hands out a nil vote's position.
// `to`: the audience linear messaging named for the sender, passed back as it was handed out; read by nobody.
export const votePositionSchema = z
  .object({ rank: rankNumber.optional(), attempt: attemptNumber.optional(), proposal: identity.nullable().optional(), signature: signature.optional(), to: identity.optional() })
  .strict();
export const attemptPositionSchema = z
  .object({ rank: rankNumber.optional(), attempt: attemptNumber.optional(), signature: signature.optional(), to: identity.optional() })
  .strict();
export const nilVotePositionSchema = attemptPositionSchema.extend({ proposal: z.null().optional() }).strict();
export const nilConfirmationPositionSchema = z.object({ rank: rankNumber, attempt: attemptNumber, signature: signature.optional() }).strict();
export const certificatePositionSchema = z.object({ rank: rankNumber.optional(), attempt: attemptNumber, valueDigest: digest.optional() }).strict();
export const lockProofPositionSchema = z
  .object({ rank: rankNumber, attempt: attemptNumber, value: identity, valueDigest: digest.optional() })
  .strict();
/** A certificate's or proof's signatures, parallel to its signers. */
export const signatureListSchema = z.array(signature).max(65_536);

const keptValue = z
  .object({ contentId: identity, proposerId: identity.nullable(), attempt: attemptNumber, value: z.unknown().optional() })
  .strict();

/** What a storage gives back is checked like a message: a corrupt record must not unlock a node. */
export const safetyRecordSchema = z
  .object({
    rank: z.number().int().min(0),
    votedAttempt: z.number().int().min(-1).max(MAX_ATTEMPT),
    confirmedAttempt: z.number().int().min(-1).max(MAX_ATTEMPT),
    lock: keptValue.nullable(),
    valid: keptValue.nullable().optional(),
    proposal: z
      .object({ attempt: attemptNumber, contentId: identity, validAttempt: attemptNumber.nullable(), value: z.unknown() })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

/** One line per issue, with the field it concerns. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
}
