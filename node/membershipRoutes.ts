import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ClientRequestError, engineRefusal, MAX_TIMEOUT_MS, readJsonBody, sendJson } from './clientHttp';

/** The membership deciding some rank, as `/v1/members` shows it. */
export interface MembershipView {
  /** The rank it decides from (0: the founders). */
  from: number;
  members: string[];
  quorum: number;
  faulty: number;
}

export type MembershipChangeOutcome =
  | { outcome: 'committed'; index: number; effectiveFrom: number }
  | { outcome: 'aborted'; reason: string }
  | { outcome: 'expired' };

/** What `/v1/members` needs of a node whose membership changes through its log. */
export interface MembershipBackend {
  /** The membership deciding the rank being decided, and any scheduled after it. */
  view(): { rank: number; current: MembershipView; scheduled: MembershipView[] };
  /**
   * Proposes adding or removing `id`; resolves once it committed (or did not).
   * Throws `ClientRequestError` for a change this node cannot propose (an id it has no address or key for).
   */
  change(op: 'add' | 'remove', id: string, options: { deadline?: number }): Promise<MembershipChangeOutcome>;
}

const changeSchema = z.strictObject({
  op: z.enum(['add', 'remove']),
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a member id is 1-32 letters, digits, _ or -'),
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).optional(),
});

/**
 * `GET /v1/members`: the membership now and the changes scheduled.
 * `POST /v1/members` `{ op: 'add' | 'remove', id, timeoutMs? }`: proposes a
 * change through the log and answers once it committed, with the rank it
 * takes effect from. Without a backend (a cluster whose membership is fixed), 501.
 */
export function membershipRoute(
  backend: MembershipBackend | undefined,
  maxBodyBytes: number,
): Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void> {
  const need = (): MembershipBackend => {
    if (backend === undefined) throw new ClientRequestError(501, 'not_supported', "this node's membership is fixed: start it with founders to change it through the log");
    return backend;
  };
  return {
    GET: (_req, res) => sendJson(res, 200, need().view()),
    POST: async (req, res) => {
      const members = need();
      const parsed = changeSchema.safeParse(await readJsonBody(req, maxBodyBytes));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ClientRequestError(400, 'bad_request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
      }
      const { op, id, timeoutMs } = parsed.data;
      let outcome: MembershipChangeOutcome;
      try {
        outcome = await members.change(op, id, timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs });
      } catch (error) {
        throw engineRefusal(error) ?? error;
      }
      if (outcome.outcome === 'committed') return sendJson(res, 200, { index: outcome.index, effectiveFrom: outcome.effectiveFrom });
      if (outcome.outcome === 'aborted') throw new ClientRequestError(422, 'aborted', `the change was aborted: ${outcome.reason}`, { reason: outcome.reason });
      throw new ClientRequestError(504, 'expired', 'the change did not commit by its deadline');
    },
  };
}
