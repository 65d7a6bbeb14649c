import { randomBytes } from 'node:crypto';
import { memberEntry } from '../examples/ledger/membership';
import type { Membership } from '../guards/quorum';
import { ClientRequestError } from '../node/clientHttp';
import type { MembershipBackend, MembershipChangeOutcome, MembershipView } from '../node/membershipRoutes';
import type { ServerNode } from './ledgerServer';

export interface LedgerMembershipParts {
  node: ServerNode;
  /** The cluster's address book: who may be added, with the key its change carries. */
  nodes: ReadonlyArray<{ id: string; publicKey: string }>;
  rankWindow: number;
}

function viewOf(from: number, membership: Membership): MembershipView {
  return { from, members: [...membership.ids], quorum: membership.quorum, faulty: membership.faulty };
}

const sameMembers = (a: Membership, b: Membership) => a.ids.length === b.ids.length && a.ids.every((id, i) => id === b.ids[i]);

/**
 * `/v1/members` over a ledger node whose membership changes through its log:
 * a change is an `m:<tag>:add:<id>:<key>` or `m:<tag>:remove:<id>` entry, proposed like
 * any other, and answered once it committed, with the rank it decides from,
 * or refused when the engine ignored it (another change still pending, say).
 */
export function ledgerMembership({ node, nodes, rankWindow }: LedgerMembershipParts): MembershipBackend {
  /** The membership deciding `rank` and those scheduled after it: a change decides at most rankWindow + 1 ranks ahead. */
  function view() {
    const rank = node.getActiveRank() + 1;
    const current = node.getMembershipAt(rank) ?? node.getMembership();
    const scheduled: MembershipView[] = [];
    let last = current;
    for (let ahead = rank + 1; ahead <= rank + rankWindow + 1; ahead += 1) {
      const next = node.getMembershipAt(ahead);
      if (next !== null && !sameMembers(next, last)) scheduled.push(viewOf(ahead, (last = next)));
    }
    return { rank, current: viewOf(rank, current), scheduled };
  }

  async function change(op: 'add' | 'remove', id: string, options: { deadline?: number }): Promise<MembershipChangeOutcome> {
    const known = nodes.find((candidate) => candidate.id === id);
    if (op === 'add' && known === undefined) throw new ClientRequestError(404, 'unknown_node', `${id} is not in this node's configuration: it has no address or key for it`);
    const latest = node.getMembershipAt(Number.MAX_SAFE_INTEGER) ?? node.getMembership();
    const member = latest.ids.includes(id);
    if (op === 'add' && member) throw new ClientRequestError(409, 'already_member', `${id} is a member already`);
    if (op === 'remove' && !member) throw new ClientRequestError(409, 'not_a_member', `${id} is not a member`);
    const outcome = await node.propose(memberEntry(op, id, randomBytes(9).toString('base64url'), known?.publicKey), options);
    if (outcome.outcome !== 'committed') return outcome;
    const effectiveFrom = outcome.index + rankWindow + 1;
    // The engine judges a change when it reads it, the same way on every node: one it ignored changed nothing.
    const after = node.getMembershipAt(effectiveFrom);
    if (after === null || after.ids.includes(id) !== (op === 'add')) {
      throw new ClientRequestError(409, 'change_ignored', `the change committed at ${outcome.index} but was ignored (another change was pending, or the membership cannot take it)`, {
        index: outcome.index,
      });
    }
    return { outcome: 'committed', index: outcome.index, effectiveFrom };
  }

  return { view, change };
}
