import { startClientApi, type ClientApi } from '../../node/clientApi';
import { ClientRequestError } from '../../node/clientHttp';
import type { MembershipBackend, MembershipChangeOutcome } from '../../node/membershipRoutes';
import { cli } from '../cli/harness';
import { coordinationBackend } from '../support/fakeCoordinationPort';

/** A membership that answers as a node would, recording what was asked of it. */
class FakeMembership implements MembershipBackend {
  members = ['n1', 'n2', 'n3', 'n4'];
  readonly asked: Array<{ op: string; id: string }> = [];
  next: MembershipChangeOutcome | Error = { outcome: 'committed', index: 7, effectiveFrom: 24 };
  view() {
    return { rank: 8, current: { from: 0, members: [...this.members], quorum: 3, faulty: 1 }, scheduled: [] };
  }
  async change(op: 'add' | 'remove', id: string): Promise<MembershipChangeOutcome> {
    this.asked.push({ op, id });
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

let membership: FakeMembership;
let api: ClientApi;
let fixed: ClientApi;

beforeEach(async () => {
  membership = new FakeMembership();
  api = await startClientApi({ host: '127.0.0.1', port: 0, backend: { ...coordinationBackend(undefined), membership } });
  fixed = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(undefined) });
});
afterEach(async () => {
  await api.close();
  await fixed.close();
});

async function call(url: string, method: string, body?: unknown) {
  const response = await fetch(`${url}/v1/members`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: JSON.parse(await response.text()) as Record<string, unknown> };
}

describe('/v1/members', () => {
  it('shows the membership and answers a committed change with the rank it takes effect from', async () => {
    expect(await call(api.url, 'GET')).toEqual({ status: 200, body: membership.view() });
    expect(await call(api.url, 'POST', { op: 'add', id: 'n5', timeoutMs: 1_000 })).toEqual({ status: 200, body: { index: 7, effectiveFrom: 24 } });
    expect(membership.asked).toEqual([{ op: 'add', id: 'n5' }]);
  });

  it.each([
    [{ op: 'promote', id: 'n5' }, 'op'],
    [{ op: 'add', id: '' }, 'id'],
    [{ op: 'add', id: 'n5', extra: 1 }, 'body'],
    [{ op: 'add', id: 'n5', timeoutMs: -1 }, 'timeoutMs'],
    [{ id: 'n5' }, 'op'],
  ])('refuses %j with 400 and asks nothing of the node', async (body, field) => {
    const answer = await call(api.url, 'POST', body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'bad_request', message: expect.stringContaining(field) });
    expect(membership.asked).toEqual([]);
  });

  it('passes on the node\'s refusals, and says when a change did not commit', async () => {
    membership.next = new ClientRequestError(404, 'unknown_node', 'n9 is not in this node\'s configuration');
    expect(await call(api.url, 'POST', { op: 'add', id: 'n9' })).toMatchObject({ status: 404, body: { error: 'unknown_node' } });
    membership.next = new ClientRequestError(409, 'change_ignored', 'ignored', { index: 9 });
    expect(await call(api.url, 'POST', { op: 'remove', id: 'n1' })).toMatchObject({ status: 409, body: { error: 'change_ignored', index: 9 } });
    membership.next = { outcome: 'expired' };
    expect(await call(api.url, 'POST', { op: 'remove', id: 'n1' })).toMatchObject({ status: 504, body: { error: 'expired' } });
    membership.next = { outcome: 'aborted', reason: 'stopped' };
    expect(await call(api.url, 'POST', { op: 'remove', id: 'n1' })).toMatchObject({ status: 422, body: { error: 'aborted', reason: 'stopped' } });
  });

  it('answers 501 on a node whose membership is fixed, and 405 for other methods', async () => {
    expect(await call(fixed.url, 'GET')).toMatchObject({ status: 501, body: { error: 'not_supported' } });
    expect(await call(fixed.url, 'POST', { op: 'add', id: 'n5' })).toMatchObject({ status: 501 });
    expect((await call(api.url, 'DELETE')).status).toBe(405);
  });
});

describe('members (CLI)', () => {
  it('lists, adds and removes through the node, printing its answers as one line of JSON', async () => {
    const list = await cli('members', 'list', '--url', api.url);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(membership.view());
    const add = await cli('members', 'add', 'n5', '--url', api.url);
    expect({ code: add.code, out: JSON.parse(add.stdout) }).toEqual({ code: 0, out: { index: 7, effectiveFrom: 24 } });
    membership.next = new ClientRequestError(409, 'not_a_member', 'n7 is not a member');
    const remove = await cli('members', 'remove', 'n7', '--url', api.url);
    expect(remove.code).toBe(1);
    expect(remove.stderr).toMatch(/not_a_member: n7 is not a member/);
    expect(membership.asked).toEqual([
      { op: 'add', id: 'n5' },
      { op: 'remove', id: 'n7' },
    ]);
  });
});
