import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { ProposalError } from '../../engine/errors';
import { DEFAULT_MAX_BODY_BYTES, startClientApi, type ClientApi } from '../../node/clientApi';
import { commands, createCoordinationClients, MAX_KEY_LENGTH, MAX_KEY_SPACES } from '../../services';
import { coordinationBackend, FakeCoordinationPort } from '../support/fakeCoordinationPort';

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  json: any;
}

/**
 * One request on its own connection, bounded in time. The path is sent as
 * written (no URL normalization), `body` as given (a string) or as JSON.
 */
function call(base: string, method: string, path: string, body?: unknown, headers: OutgoingHttpHeaders = {}): Promise<Reply> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const { hostname, port } = new URL(base);
  return new Promise<Reply>((resolve, reject) => {
    // Node sends a DELETE's body without a length unless told one; a client of the API always gives one.
    const framing = text === undefined || headers['transfer-encoding'] !== undefined ? {} : { 'content-length': Buffer.byteLength(text) };
    const req = httpRequest({
      hostname,
      port,
      path,
      method,
      agent: false,
      timeout: 3000,
      headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...framing, ...headers },
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 3000 ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          json = raw;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.end(text);
  });
}

let port: FakeCoordinationPort;
let api: ClientApi;
const send = (method: string, path: string, body?: unknown, headers?: OutgoingHttpHeaders) => call(api.url, method, path, body, headers);

beforeEach(async () => {
  port = new FakeCoordinationPort();
  api = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(port) });
});
afterEach(async () => {
  await api.close();
});

describe('kv routes', () => {
  it('PUT, GET, GET ?prefix listing and DELETE a key', async () => {
    const put = await send('PUT', '/v1/kv/config', { value: { v: 1 }, writer: 'a' });
    expect(put).toMatchObject({ status: 200, json: { key: 'config', clock: { a: 1 }, resolution: 'none', siblings: 1, index: 1 } });
    const read = await send('GET', '/v1/kv/config');
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ key: 'config', found: true, values: [{ v: 1 }], clock: { a: 1 }, index: 2 });
    await send('PUT', '/v1/kv/config', { value: { v: 2 }, writer: 'a', context: read.json.clock });
    await send('PUT', '/v1/kv/other', { value: null, writer: 'b' });
    expect((await send('GET', '/v1/kv?prefix=con&limit=5')).json).toEqual({ keys: ['config'], more: false, index: 5 });
    expect((await send('GET', '/v1/kv?after=config')).json).toMatchObject({ keys: ['other'] });
    expect((await send('DELETE', '/v1/kv/config')).json).toEqual({ key: 'config', removed: 1, remaining: 0, index: 7 });
    expect((await send('GET', '/v1/kv/config?consistency=stale')).json).toMatchObject({ found: false, values: [] });
  });

  it('passes the consistency asked for, linearizable by default, and timeoutMs as a deadline', async () => {
    await send('GET', '/v1/kv/k');
    await send('GET', '/v1/kv/k?consistency=stale');
    await send('GET', '/v1/kv?consistency=linearizable');
    await send('GET', '/v1/kv/k?consistency=read-index');
    const before = Date.now();
    await send('PUT', '/v1/kv/k?timeoutMs=2000', { value: 1, writer: 'w' });
    expect(port.queried.map((q) => q.options?.consistency)).toEqual(['linearizable', 'stale', 'linearizable', 'read-index']);
    const deadline = port.submitted[0].options?.deadline ?? 0;
    expect(deadline).toBeGreaterThanOrEqual(before + 2000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 2000);
  });

  it('reads a key with slashes from the path, raw or as %2F, and percent-decodes it', async () => {
    await send('PUT', '/v1/kv/app/config', { value: 1, writer: 'w' });
    expect((await send('GET', '/v1/kv/app%2Fconfig')).json).toMatchObject({ key: 'app/config', found: true });
    await send('PUT', '/v1/kv/caf%C3%A9%20menu', { value: 2, writer: 'w' });
    expect((await send('GET', '/v1/kv')).json.keys).toEqual(['app/config', 'café menu']);
  });

  it('DELETE takes a body with a context or a fence', async () => {
    await send('POST', '/v1/locks/L/acquire', { owner: 'a' });
    await send('PUT', '/v1/kv/k', { value: 1, writer: 'a', fence: { lock: 'L', token: 1 } });
    expect((await send('DELETE', '/v1/kv/k', { fence: { lock: 'L', token: 2 } })).json).toMatchObject({ error: 'unknown_fence_token' });
    expect((await send('DELETE', '/v1/kv/k', { fence: { lock: 'L', token: 1 } })).json).toMatchObject({ removed: 1 });
  });

  it('answers a fencing refusal 409 with its code, the value unchanged', async () => {
    await send('POST', '/v1/locks/L/acquire', { owner: 'a', leaseMs: 1000 });
    await send('PUT', '/v1/kv/k', { value: 'by a', writer: 'a', fence: { lock: 'L', token: 1 } });
    port.time = 5_000;
    expect((await send('POST', '/v1/locks/L/acquire', { owner: 'b' })).json).toMatchObject({ status: 'granted', token: 2 });
    const late = await send('PUT', '/v1/kv/k', { value: 'late', writer: 'a', fence: { lock: 'L', token: 1 } });
    expect(late.status).toBe(409);
    // The refusal was committed: it names its entry, as a 200 does.
    expect(late.json).toEqual({ error: 'stale_fence_token', message: expect.stringMatching(/older than the token 2/), index: port.index });
    expect((await send('GET', '/v1/kv/k')).json.values).toEqual(['by a']);
  });
});

describe('kv-spaces routes', () => {
  it('PUT sets a prefix\'s strategy, GET lists the spaces, DELETE clears one', async () => {
    expect((await send('PUT', '/v1/kv-spaces/jobs%2F', { strategy: 'reject' })).json).toEqual({ keySpaces: 1, index: 1 });
    expect(port.submitted[0].command).toEqual(commands.setKeySpace('jobs/', 'reject'));
    await send('PUT', '/v1/kv-spaces/counters/', { strategy: 'merge:max' });
    // Setting a prefix again replaces its strategy.
    expect((await send('PUT', '/v1/kv-spaces/jobs/', { strategy: 'siblings' })).json).toMatchObject({ keySpaces: 2 });
    expect((await send('GET', '/v1/kv-spaces')).json).toEqual({
      keySpaces: [
        { prefix: 'counters/', strategy: 'merge:max' },
        { prefix: 'jobs/', strategy: 'siblings' },
      ],
      defaultStrategy: 'last-writer-wins',
      maxKeys: 10_000,
      index: 4,
    });
    expect((await send('DELETE', '/v1/kv-spaces/jobs/')).json).toEqual({ keySpaces: 1, index: 5 });
    // Clearing a prefix that has no space is no refusal: the state is what was asked for.
    expect((await send('DELETE', '/v1/kv-spaces/none', {})).json).toMatchObject({ keySpaces: 1 });
    expect((await send('GET', '/v1/kv-spaces?consistency=stale')).json.keySpaces).toEqual([{ prefix: 'counters/', strategy: 'merge:max' }]);
  });

  it('a reject space refuses a concurrent write 409 and keeps the value; a merge space combines them', async () => {
    await send('PUT', '/v1/kv-spaces/strict/', { strategy: 'reject' });
    await send('PUT', '/v1/kv/strict/x', { value: 'a', writer: 'a' });
    const before = port.snapshotText();
    const refused = await send('PUT', '/v1/kv/strict/x', { value: 'b', writer: 'b' });
    expect(refused).toMatchObject({ status: 409, json: { error: 'concurrent_write', index: port.index } });
    expect(port.snapshotText()).toBe(before);
    expect((await send('GET', '/v1/kv/strict/x')).json.values).toEqual(['a']);
    // Outside the space the default, last-writer-wins, takes the same write.
    await send('PUT', '/v1/kv/loose/x', { value: 'a', writer: 'a' });
    expect((await send('PUT', '/v1/kv/loose/x', { value: 'b', writer: 'b' })).json).toMatchObject({ resolution: 'last-writer-wins' });

    await send('PUT', '/v1/kv-spaces/max/', { strategy: 'merge:max' });
    await send('PUT', '/v1/kv/max/n', { value: 7, writer: 'a' });
    expect((await send('PUT', '/v1/kv/max/n', { value: 3, writer: 'b' })).json).toMatchObject({ resolution: 'merged' });
    expect((await send('GET', '/v1/kv/max/n')).json.values).toEqual([7]);
  });

  it('the empty prefix is a space every key is in', async () => {
    expect((await send('PUT', '/v1/kv-spaces/', { strategy: 'reject' })).json).toMatchObject({ keySpaces: 1 });
    expect(port.submitted[0].command).toEqual(commands.setKeySpace('', 'reject'));
    await send('PUT', '/v1/kv/any', { value: 1, writer: 'a' });
    expect(await send('PUT', '/v1/kv/any', { value: 2, writer: 'b' })).toMatchObject({ status: 409, json: { error: 'concurrent_write' } });
  });

  it('takes merge:app:<name>: a node with the merge registered merges with it, one without refuses the space 409 unknown_merge', async () => {
    const merging = new FakeCoordinationPort({ kv: { merges: { longest: (values) => [...values].sort((a, b) => String(b).length - String(a).length)[0]! } } });
    const withMerge = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(merging) });
    try {
      expect((await call(withMerge.url, 'PUT', '/v1/kv-spaces/names/', { strategy: 'merge:app:longest' })).json).toEqual({ keySpaces: 1, index: 1 });
      await call(withMerge.url, 'PUT', '/v1/kv/names/x', { value: 'ann', writer: 'a' });
      expect((await call(withMerge.url, 'PUT', '/v1/kv/names/x', { value: 'annabel', writer: 'b' })).json).toMatchObject({ resolution: 'merged' });
      expect((await call(withMerge.url, 'GET', '/v1/kv/names/x')).json.values).toEqual(['annabel']);
      expect((await call(withMerge.url, 'GET', '/v1/kv-spaces')).json.keySpaces).toEqual([{ prefix: 'names/', strategy: 'merge:app:longest' }]);
    } finally {
      await withMerge.close();
    }
    const before = port.snapshotText();
    expect(await send('PUT', '/v1/kv-spaces/names/', { strategy: 'merge:app:longest' })).toMatchObject({ status: 409, json: { error: 'unknown_merge' } });
    expect(port.snapshotText()).toBe(before);
    // A name outside the syntax never reaches the services.
    expect(await send('PUT', '/v1/kv-spaces/names/', { strategy: 'merge:app:Longest!' })).toMatchObject({ status: 400, json: { error: 'bad_request' } });
    expect(port.submitted).toHaveLength(1);
  });

  it(`refuses a space past ${MAX_KEY_SPACES} 409, changing nothing`, async () => {
    for (let i = 0; i < MAX_KEY_SPACES; i += 1) port.apply(commands.setKeySpace(`p${i}/`, 'siblings'));
    const before = port.snapshotText();
    expect(await send('PUT', '/v1/kv-spaces/one-more/', { strategy: 'reject' })).toMatchObject({ status: 409, json: { error: 'too_many_key_spaces' } });
    expect(port.snapshotText()).toBe(before);
  });

  it('serves the same from a backend that gives the clients (a node\'s kv, locks, barriers) in place of a port', async () => {
    const fromClients = await startClientApi({ host: '127.0.0.1', port: 0, backend: { ...coordinationBackend(undefined), coordination: createCoordinationClients(port) } });
    try {
      expect((await call(fromClients.url, 'PUT', '/v1/kv-spaces/a/', { strategy: 'siblings' })).json).toMatchObject({ keySpaces: 1 });
      expect((await call(fromClients.url, 'GET', '/v1/kv-spaces')).json.keySpaces).toEqual([{ prefix: 'a/', strategy: 'siblings' }]);
    } finally {
      await fromClients.close();
    }
  });
});

describe('lock routes', () => {
  it('acquire, queue, renew, cancel, release, GET one and GET all', async () => {
    expect((await send('POST', '/v1/locks/L/acquire', { owner: 'a', leaseMs: 2000 })).json).toEqual({ status: 'granted', token: 1, count: 1, expiresAt: 2000, index: 1 });
    expect((await send('POST', '/v1/locks/L/acquire', { owner: 'b' })).json).toMatchObject({ status: 'queued', position: 1 });
    expect((await send('POST', '/v1/locks/L/acquire', { owner: 'c' })).json).toMatchObject({ status: 'queued', position: 2 });
    expect((await send('POST', '/v1/locks/L/renew', { owner: 'a', token: 1, leaseMs: 500 })).json).toMatchObject({ token: 1, expiresAt: 500 });
    expect((await send('POST', '/v1/locks/L/cancel', { owner: 'c' })).json).toMatchObject({ status: 'cancelled' });
    expect((await send('POST', '/v1/locks/L/release', { owner: 'a', token: 1 })).json).toMatchObject({ status: 'released' });
    expect((await send('GET', '/v1/locks/L')).json).toMatchObject({ lock: 'L', holder: { owner: 'b', token: 2 }, waiters: [] });
    expect((await send('GET', '/v1/locks?consistency=stale')).json.locks.map((lock: { lock: string }) => lock.lock)).toEqual(['L']);
  });

  it('takes a lock name with slashes: the action is the last part', async () => {
    expect((await send('POST', '/v1/locks/jobs/2024/acquire', { owner: 'a' })).json).toMatchObject({ status: 'granted' });
    expect((await send('GET', '/v1/locks/jobs%2F2024')).json).toMatchObject({ lock: 'jobs/2024', holder: { owner: 'a' } });
    // GET has no actions: the whole rest is the name.
    expect((await send('GET', '/v1/locks/jobs/2024/acquire')).json).toMatchObject({ lock: 'jobs/2024/acquire', holder: null });
  });

  it('answers refusals 409 with the service\'s code, and changes nothing', async () => {
    await send('POST', '/v1/locks/L/acquire', { owner: 'a' });
    const before = port.snapshotText();
    expect(await send('POST', '/v1/locks/L/release', { owner: 'b', token: 1 })).toMatchObject({ status: 409, json: { error: 'not_holder' } });
    expect(await send('POST', '/v1/locks/L/renew', { owner: 'a', token: 5 })).toMatchObject({ status: 409, json: { error: 'token_mismatch' } });
    expect(await send('POST', '/v1/locks/L/cancel', { owner: 'z' })).toMatchObject({ status: 409, json: { error: 'not_waiting' } });
    expect(port.snapshotText()).toBe(before);
  });
});

describe('barrier routes', () => {
  it('create, join, leave, arrive, GET one, GET all and DELETE', async () => {
    expect((await send('POST', '/v1/barriers/B', { participants: ['a', 'b'], timeoutMs: null })).json).toEqual({ barrier: 'B', generation: 1, open: true, required: 2, index: 1 });
    expect((await send('POST', '/v1/barriers/B/join', { participant: 'c' })).json).toMatchObject({ status: 'waiting', required: 3 });
    expect((await send('POST', '/v1/barriers/B/leave', { participant: 'c' })).json).toMatchObject({ required: 2 });
    expect((await send('POST', '/v1/barriers/B/arrive', { participant: 'a' })).json).toMatchObject({ status: 'waiting', arrived: 1 });
    expect((await send('GET', '/v1/barriers/B')).json).toMatchObject({ barrier: 'B', arrived: ['a'], timeoutMs: null });
    expect((await send('POST', '/v1/barriers/B/arrive', { participant: 'b', generation: 1 })).json).toMatchObject({ status: 'released', generation: 1 });
    expect((await send('GET', '/v1/barriers')).json.barriers).toMatchObject([{ barrier: 'B', generation: 2, last: { outcome: 'released' } }]);
    expect((await send('DELETE', '/v1/barriers/B')).json).toMatchObject({ status: 'deleted' });
    expect(await send('GET', '/v1/barriers/B')).toMatchObject({ status: 404, json: { error: 'unknown_barrier' } });
  });

  it('creates a barrier whose name ends in an action word when its slash is %2F', async () => {
    expect((await send('POST', '/v1/barriers/stage%2Fjoin', { participants: ['a'] })).status).toBe(200);
    expect((await send('POST', '/v1/barriers/stage%2Fjoin/arrive', { participant: 'a' })).json).toMatchObject({ status: 'released' });
    expect((await send('POST', '/v1/barriers/join', { participants: ['a'] })).json).toMatchObject({ barrier: 'join' });
  });

  it('answers refusals: 404 for an unknown barrier, 409 for the rest', async () => {
    expect(await send('POST', '/v1/barriers/nope/arrive', { participant: 'a' })).toMatchObject({ status: 404, json: { error: 'unknown_barrier', index: 1 } });
    await send('POST', '/v1/barriers/B', { participants: ['a'] });
    expect(await send('POST', '/v1/barriers/B', { participants: ['a'] })).toMatchObject({ status: 409, json: { error: 'barrier_exists' } });
    expect(await send('POST', '/v1/barriers/B/arrive', { participant: 'z' })).toMatchObject({ status: 409, json: { error: 'not_participant' } });
    expect(await send('POST', '/v1/barriers/B/leave', { participant: 'a' })).toMatchObject({ status: 409, json: { error: 'last_participant' } });
  });
});

describe('bad input', () => {
  const bad: Array<[string, string, string, unknown, number, string, OutgoingHttpHeaders]> = [
    ['a body that is not JSON', 'PUT', '/v1/kv/k', '{"value":', 400, 'not_json', {}],
    ['a body that is not an object', 'PUT', '/v1/kv/k', [1, {}], 400, 'bad_request', {}],
    ['a body of another type', 'PUT', '/v1/kv/k', '{}', 415, 'unsupported_media_type', { 'content-type': 'text/plain' }],
    ['a put without a value', 'PUT', '/v1/kv/k', { writer: 'w' }, 400, 'bad_request', {}],
    ['a put without a writer', 'PUT', '/v1/kv/k', { value: 1 }, 400, 'bad_request', {}],
    ['an unknown field', 'PUT', '/v1/kv/k', { value: 1, writer: 'w', ttl: 5 }, 400, 'bad_request', {}],
    ['a bad context', 'PUT', '/v1/kv/k', { value: 1, writer: 'w', context: { a: -1 } }, 400, 'bad_request', {}],
    ['a bad fence', 'PUT', '/v1/kv/k', { value: 1, writer: 'w', fence: 'L:1' }, 400, 'bad_request', {}],
    ['a key longer than the store takes', 'PUT', `/v1/kv/${'k'.repeat(MAX_KEY_LENGTH + 1)}`, { value: 1, writer: 'w' }, 400, 'bad_key', {}],
    ['an empty key', 'GET', '/v1/kv/', undefined, 400, 'bad_key', {}],
    ['a key that is not percent-encoded UTF-8', 'GET', '/v1/kv/%E0%A4%A', undefined, 400, 'bad_key', {}],
    ['a lock name longer than 128', 'POST', `/v1/locks/${'n'.repeat(129)}/acquire`, { owner: 'a' }, 400, 'bad_name', {}],
    ['a lock name with a control character', 'GET', '/v1/locks/a%01b', undefined, 400, 'bad_name', {}],
    ['a lease of 0', 'POST', '/v1/locks/L/acquire', { owner: 'a', leaseMs: 0 }, 400, 'bad_request', {}],
    ['a token that is not a number', 'POST', '/v1/locks/L/release', { owner: 'a', token: '1' }, 400, 'bad_request', {}],
    ['repeated participants', 'POST', '/v1/barriers/B', { participants: ['a', 'a'] }, 400, 'bad_request', {}],
    ['a threshold over 1', 'POST', '/v1/barriers/B', { participants: ['a', {}], threshold: 2 }, 400, 'bad_request', {}],
    ['an arrival without a participant', 'POST', '/v1/barriers/B/arrive', {}, 400, 'bad_request', {}],
    ['a body on a barrier delete', 'DELETE', '/v1/barriers/B', { force: true }, 400, 'bad_request', {}],
    ['an unknown consistency', 'GET', '/v1/kv/k?consistency=eventual', undefined, 400, 'bad_query', {}],
    ['a repeated parameter', 'GET', '/v1/kv?limit=1&limit=2', undefined, 400, 'bad_query', {}],
    ['a limit of 0', 'GET', '/v1/kv?limit=0', undefined, 400, 'bad_query', {}],
    ['an unknown parameter', 'GET', '/v1/locks?owner=a', undefined, 400, 'bad_query', {}],
    ['a timeout of 0', 'POST', '/v1/locks/L/acquire?timeoutMs=0', { owner: 'a' }, 400, 'bad_query', {}],
    ['a consistency on a write', 'PUT', '/v1/kv/k?consistency=stale', { value: 1, writer: 'w' }, 400, 'bad_query', {}],
    ['an unknown strategy', 'PUT', '/v1/kv-spaces/p/', { strategy: 'newest' }, 400, 'bad_request', {}],
    ['a merge that is not built in', 'PUT', '/v1/kv-spaces/p/', { strategy: 'merge:sum' }, 400, 'bad_request', {}],
    ['a key space without a strategy', 'PUT', '/v1/kv-spaces/p/', {}, 400, 'bad_request', {}],
    ['a key space with another field', 'PUT', '/v1/kv-spaces/p/', { strategy: 'reject', prefix: 'q/' }, 400, 'bad_request', {}],
    ['a prefix longer than a key', 'PUT', `/v1/kv-spaces/${'p'.repeat(MAX_KEY_LENGTH + 1)}`, { strategy: 'reject' }, 400, 'bad_prefix', {}],
    ['a prefix that is not percent-encoded UTF-8', 'DELETE', '/v1/kv-spaces/%E0%A4%A', undefined, 400, 'bad_prefix', {}],
    ['a body on a key space delete', 'DELETE', '/v1/kv-spaces/p/', { strategy: 'reject' }, 400, 'bad_request', {}],
    ['a listing of key spaces with a prefix', 'GET', '/v1/kv-spaces?prefix=a', undefined, 400, 'bad_query', {}],
  ];

  it.each(bad)('refuses %s with a clear typed error, sending nothing', async (_what, method, path, body, status, code, headers) => {
    const before = port.snapshotText();
    const reply = await send(method, path, body, headers);
    expect(reply.status).toBe(status);
    expect(reply.json).toEqual({ error: code, message: expect.any(String) });
    expect(reply.json.message.length).toBeGreaterThan(10);
    expect(port.submitted).toEqual([]);
    expect(port.queried).toEqual([]);
    expect(port.snapshotText()).toBe(before);
  });

  it('names the field a body got wrong', async () => {
    expect((await send('POST', '/v1/locks/L/acquire', { owner: 'a', leaseMs: 0 })).json.message).toMatch(/^leaseMs: /);
    expect((await send('PUT', '/v1/kv/k', { writer: 'w' })).json.message).toBe('value: the body has no "value"');
  });

  it('refuses a body over the client API\'s limit, declared or not, sending nothing', async () => {
    const value = 'x'.repeat(DEFAULT_MAX_BODY_BYTES);
    const declared = await send('PUT', '/v1/kv/k', { value, writer: 'w' });
    expect(declared).toMatchObject({ status: 413, json: { error: 'body_too_large' } });
    const chunked = await send('PUT', '/v1/kv/k', JSON.stringify({ value, writer: 'w' }), { 'transfer-encoding': 'chunked' });
    expect(chunked).toMatchObject({ status: 413, json: { error: 'body_too_large' } });
    expect(port.submitted).toEqual([]);
  });

  it('refuses a value the store would refuse before it reaches the log', async () => {
    const limited = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(port), maxBodyBytes: 256 * 1024 });
    try {
      const reply = await call(limited.url, 'PUT', '/v1/kv/k', { value: 'x'.repeat(100_000), writer: 'w' });
      expect(reply).toMatchObject({ status: 400, json: { error: 'value_too_large' } });
      expect(port.submitted).toEqual([]);
    } finally {
      await limited.close();
    }
  });

  it.each([
    ['POST', '/v1/kv', 'GET'],
    ['PATCH', '/v1/kv/k', 'GET, PUT, DELETE'],
    ['DELETE', '/v1/locks', 'GET'],
    ['POST', '/v1/locks/L', 'GET'],
    ['PUT', '/v1/barriers/B', 'GET, POST, DELETE'],
    ['POST', '/v1/barriers', 'GET'],
    ['PUT', '/v1/kv-spaces', 'GET'],
    ['GET', '/v1/kv-spaces/p/', 'PUT, DELETE'],
  ])('answers %s %s 405 with what it takes', async (method, path, allow) => {
    const reply = await send(method, path, method === 'GET' ? undefined : {});
    expect(reply).toMatchObject({ status: 405, json: { error: 'method_not_allowed' } });
    expect(reply.headers.allow).toBe(allow);
    expect(port.submitted).toEqual([]);
  });
});

describe('unanswered commands and failing ports', () => {
  it('answers an aborted command 422 with its reason, as /v1/propose does', async () => {
    port.unanswered.push({ outcome: 'aborted', reason: 'not the leader' });
    expect(await send('POST', '/v1/locks/L/acquire', { owner: 'a' })).toMatchObject({
      status: 422,
      json: { error: 'aborted', reason: 'not the leader', message: 'the command was aborted: not the leader' },
    });
  });

  it('answers an expired command 504', async () => {
    port.unanswered.push({ outcome: 'expired' });
    expect(await send('PUT', '/v1/kv/k?timeoutMs=50', { value: 1, writer: 'w' })).toMatchObject({ status: 504, json: { error: 'expired' } });
  });

  it('maps the engine\'s refusals as /v1/propose does, and hides anything else as a 500', async () => {
    const failing = new FakeCoordinationPort();
    const queue: unknown[] = [new ProposalError('too_many_pending', '128 proposals are pending'), new Error('secret at /srv/port.ts:3')];
    failing.submit = async () => {
      throw queue.shift();
    };
    failing.query = async () => ({ outcome: 'answered', index: 1, answer: 'not an answer' });
    const other = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(failing) });
    try {
      const busy = await call(other.url, 'POST', '/v1/locks/L/acquire', { owner: 'a' });
      expect(busy).toMatchObject({ status: 429, json: { error: 'too_many_pending' } });
      expect(busy.headers['retry-after']).toBe('1');
      const hidden = await call(other.url, 'POST', '/v1/locks/L/acquire', { owner: 'a' });
      expect(hidden).toEqual(expect.objectContaining({ status: 500, json: { error: 'internal', message: 'the node could not answer this request' } }));
      expect(await call(other.url, 'GET', '/v1/locks/L')).toMatchObject({ status: 500, json: { error: 'internal' } });
    } finally {
      await other.close();
    }
  });
});

describe('without coordination services', () => {
  it.each([
    ['GET', '/v1/kv/k'],
    ['PUT', '/v1/kv/k'],
    ['GET', '/v1/kv'],
    ['POST', '/v1/locks/L/acquire'],
    ['GET', '/v1/barriers'],
    ['DELETE', '/v1/barriers/B'],
    ['PUT', '/v1/kv-spaces/p/'],
    ['GET', '/v1/kv-spaces'],
  ])('%s %s answers 501 coordination_unavailable', async (method, path) => {
    const bare = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(undefined) });
    try {
      const reply = await call(bare.url, method, path, method === 'GET' || method === 'DELETE' ? undefined : { value: 1, writer: 'w' });
      expect(reply).toMatchObject({ status: 501, json: { error: 'coordination_unavailable', message: 'this node does not serve the coordination services' } });
      expect(await call(bare.url, 'GET', '/v1/kvx')).toMatchObject({ status: 404, json: { error: 'not_found' } });
    } finally {
      await bare.close();
    }
  });
});

test('a command applied by someone else shows in the next read', async () => {
  port.apply(commands.put('seen', 1, { writer: 'other' }));
  expect((await send('GET', '/v1/kv/seen?consistency=stale')).json).toMatchObject({ found: true, values: [1], index: 1 });
});
