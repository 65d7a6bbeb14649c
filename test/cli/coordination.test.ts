import { barrierWaitCommand } from '../../cli/coordinationCommands';
import { startClientApi, type ClientApi } from '../../node/clientApi';
import { commands } from '../../services';
import { coordinationBackend, FakeCoordinationPort } from '../support/fakeCoordinationPort';
import { cli } from './harness';

let port: FakeCoordinationPort;
let api: ClientApi;

beforeEach(async () => {
  port = new FakeCoordinationPort();
  api = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(port) });
});
afterEach(async () => {
  await api.close();
});

/** Runs the CLI against the node and reads its stdout as the one line of JSON it must be. */
async function json(...argv: string[]): Promise<any> {
  const result = await cli(...argv, '--url', api.url);
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  expect(result.stderr).toBe('');
  expect(result.stdout.endsWith('\n')).toBe(true);
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout);
}

describe('kv', () => {
  it('put, get, keys and delete print the node\'s answers as JSON', async () => {
    expect(await json('kv', 'put', 'app/config', '{"replicas":3}', '--writer', 'ops')).toEqual({ key: 'app/config', clock: { ops: 1 }, resolution: 'none', siblings: 1, index: 1 });
    const read = await json('kv', 'get', 'app/config');
    expect(read).toMatchObject({ key: 'app/config', found: true, values: [{ replicas: 3 }], clock: { ops: 1 } });
    await json('kv', 'put', 'app/config', '{"replicas":4}', '--writer', 'ops', '--context', JSON.stringify(read.clock));
    await json('kv', 'put', 'app/name', '"web"', '--writer', 'ops');
    expect(await json('kv', 'keys', '--prefix', 'app/', '--limit', '1')).toMatchObject({ keys: ['app/config'], more: true });
    expect(await json('kv', 'keys', '--after', 'app/config', '--stale')).toMatchObject({ keys: ['app/name'], more: false });
    expect(await json('kv', 'delete', 'app/name')).toMatchObject({ key: 'app/name', removed: 1 });
    expect(await json('kv', 'get', 'app/config', '--stale')).toMatchObject({ values: [{ replicas: 4 }] });
    expect(await json('kv', 'get', 'app/config', '--read-index')).toMatchObject({ values: [{ replicas: 4 }] });
    expect(port.queried.map((q) => q.options?.consistency)).toEqual(['linearizable', 'linearizable', 'stale', 'stale', 'read-index']);
    expect(port.submitted[1].command).toMatchObject({ context: { ops: 1 } });
  });

  it('writes under a fence, and prints a stale token\'s refusal on stderr with exit 1', async () => {
    const first = await json('lock', 'acquire', 'db:5432', '--owner', 'a', '--lease', '1000');
    expect(await json('kv', 'put', 'k', '1', '--writer', 'a', '--fence', `db:5432:${first.token}`)).toMatchObject({ siblings: 1 });
    port.time = 5_000;
    await json('lock', 'acquire', 'db:5432', '--owner', 'b');
    const late = await cli('kv', 'put', 'k', '2', '--writer', 'a', '--fence', `db:5432:${first.token}`, '--url', api.url);
    expect(late.code).toBe(1);
    expect(late.stdout).toBe('');
    expect(late.stderr).toMatch(/^error: stale_fence_token: token 1 is older than the token 2 .* \(HTTP 409\)\n$/);
    const gone = await cli('kv', 'delete', 'k', '--fence', 'db:5432:1', '--url', api.url);
    expect(gone).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: stale_fence_token/) });
  });

  it.each([
    [['kv', 'put', 'k', '{not json', '--writer', 'w'], /^error: the value must be JSON: /],
    [['kv', 'put', 'k', '1', '--writer', 'w', '--context', 'a=1'], /^error: --context must be JSON: /],
    [['kv', 'put', 'k', '1', '--writer', 'w', '--fence', 'L'], /^error: --fence must be LOCK:TOKEN, got L/],
    [['kv', 'put', 'k', '1', '--writer', 'w', '--fence', 'L:x'], /--fence token/],
    [['kv', 'keys', '--limit', '0'], /--limit/],
    [['lock', 'release', 'L', '--owner', 'a', '--token', '-1'], /--token/],
    [['barrier', 'create', 'B', '--participants', 'a,,b'], /^error: --participants must be names separated by commas/],
    [['barrier', 'create', 'B', '--participants', 'a', '--threshold', 'half'], /^error: --threshold must be a fraction/],
  ])('refuses bad flags before sending anything: %j', async (argv, message) => {
    const result = await cli(...argv, '--url', api.url);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(port.submitted).toEqual([]);
    expect(port.queried).toEqual([]);
  });

  it('prints the node\'s refusal of bad input with exit 1, nothing sent to the services', async () => {
    const result = await cli('kv', 'put', 'k', '1', '--writer', 'w', '--context', '{"a":-1}', '--url', api.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: bad_request: context\.a: .* \(HTTP 400\)\n$/);
    expect(port.submitted).toEqual([]);
  });
});

describe('kv space', () => {
  it('set, list and clear print the node\'s answers; a reject space then refuses a concurrent write', async () => {
    expect(await json('kv', 'space', 'set', 'jobs/', 'reject')).toEqual({ keySpaces: 1, index: 1 });
    expect(port.submitted[0].command).toEqual(commands.setKeySpace('jobs/', 'reject'));
    expect(await json('kv', 'space', 'set', 'counters/', 'merge:max')).toMatchObject({ keySpaces: 2 });
    expect(await json('kv', 'space', 'list')).toEqual({
      keySpaces: [
        { prefix: 'jobs/', strategy: 'reject' },
        { prefix: 'counters/', strategy: 'merge:max' },
      ],
      defaultStrategy: 'last-writer-wins',
      maxKeys: 10_000,
      index: 3,
    });
    await json('kv', 'put', 'jobs/1', '"a"', '--writer', 'a');
    const refused = await cli('kv', 'put', 'jobs/1', '"b"', '--writer', 'b', '--url', api.url);
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^error: concurrent_write: .* \(HTTP 409\)\n$/) });
    expect(await json('kv', 'get', 'jobs/1')).toMatchObject({ values: ['a'] });
    expect(await json('kv', 'space', 'clear', 'jobs/')).toEqual({ keySpaces: 1, index: 7 });
    expect(await json('kv', 'put', 'jobs/1', '"b"', '--writer', 'b')).toMatchObject({ resolution: 'last-writer-wins' });
    expect((await json('kv', 'space', 'list', '--stale')).keySpaces).toEqual([{ prefix: 'counters/', strategy: 'merge:max' }]);
    expect(port.queried.at(-1)?.options?.consistency).toBe('stale');
  });

  it('takes the empty prefix and a prefix with slashes as one path segment', async () => {
    expect(await json('kv', 'space', 'set', '', 'siblings')).toMatchObject({ keySpaces: 1 });
    expect(await json('kv', 'space', 'set', 'a/b c/', 'merge:union')).toMatchObject({ keySpaces: 2 });
    expect(port.submitted.map((s) => s.command)).toEqual([commands.setKeySpace('', 'siblings'), commands.setKeySpace('a/b c/', 'merge:union')]);
    expect(await json('kv', 'space', 'clear', '')).toMatchObject({ keySpaces: 1 });
    expect((await json('kv', 'space', 'list')).keySpaces).toEqual([{ prefix: 'a/b c/', strategy: 'merge:union' }]);
  });

  it('refuses an unknown strategy before sending anything, naming the ones there are', async () => {
    for (const strategy of ['newest', 'merge:app:Bad']) {
      const result = await cli('kv', 'space', 'set', 'p/', strategy, '--url', api.url);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(strategy);
      expect(result.stderr).toMatch(/merge:max.*merge:app:<name>/);
    }
    expect(port.submitted).toEqual([]);
  });

  it('sends merge:app:<name> to the node, which says whether it has that merge registered', async () => {
    const result = await cli('kv', 'space', 'set', 'names/', 'merge:app:longest', '--url', api.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: unknown_merge: no merge is registered as longest.* \(HTTP 409\)\n$/);
    expect(port.submitted.map((s) => s.command)).toEqual([commands.setKeySpace('names/', 'merge:app:longest')]);
  });
});

describe('lock', () => {
  it('acquire, release, renew, cancel, get and list', async () => {
    expect(await json('lock', 'acquire', 'jobs/2024', '--owner', 'a', '--lease', '2000')).toEqual({ status: 'granted', token: 1, count: 1, expiresAt: 2000, index: 1 });
    expect(await json('lock', 'acquire', 'jobs/2024', '--owner', 'b')).toMatchObject({ status: 'queued', position: 1 });
    expect(await json('lock', 'acquire', 'jobs/2024', '--owner', 'c')).toMatchObject({ status: 'queued', position: 2 });
    expect(await json('lock', 'renew', 'jobs/2024', '--owner', 'a', '--token', '1', '--lease', '500')).toMatchObject({ token: 1, expiresAt: 500 });
    expect(await json('lock', 'cancel', 'jobs/2024', '--owner', 'c')).toMatchObject({ status: 'cancelled' });
    expect(await json('lock', 'release', 'jobs/2024', '--owner', 'a', '--token', '1')).toMatchObject({ status: 'released' });
    expect(await json('lock', 'get', 'jobs/2024')).toMatchObject({ lock: 'jobs/2024', holder: { owner: 'b', token: 2 } });
    expect((await json('lock', 'list', '--stale')).locks).toHaveLength(1);
  });

  it('prints a refused release on stderr with exit 1', async () => {
    await json('lock', 'acquire', 'L', '--owner', 'a');
    const result = await cli('lock', 'release', 'L', '--owner', 'b', '--token', '1', '--url', api.url);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: not_holder: "b" does not hold "L" (HTTP 409)\n' });
  });
});

describe('barrier', () => {
  it('create, join, leave, arrive, get, list and delete', async () => {
    const created = await json('barrier', 'create', 'B', '--participants', 'a, b', '--threshold', '1', '--timeout', 'none', '--on-timeout', 'release');
    expect(created).toEqual({ barrier: 'B', generation: 1, open: true, required: 2, index: 1 });
    expect(port.submitted[0].command).toEqual({ service: 'barriers', op: 'create', barrier: 'B', participants: ['a', 'b'], threshold: 1, timeoutMs: null, onTimeout: 'release' });
    expect(await json('barrier', 'join', 'B', '--participant', 'c')).toMatchObject({ required: 3 });
    expect(await json('barrier', 'leave', 'B', '--participant', 'c')).toMatchObject({ required: 2 });
    expect(await json('barrier', 'arrive', 'B', '--participant', 'a')).toMatchObject({ status: 'waiting', arrived: 1 });
    expect(await json('barrier', 'get', 'B')).toMatchObject({ barrier: 'B', arrived: ['a'], timeoutMs: null, onTimeout: 'release' });
    expect((await json('barrier', 'list')).barriers).toHaveLength(1);
    expect(await json('barrier', 'delete', 'B')).toMatchObject({ status: 'deleted' });
    const gone = await cli('barrier', 'get', 'B', '--url', api.url);
    expect(gone).toMatchObject({ code: 1, stderr: 'error: unknown_barrier: barrier "B" does not exist (HTTP 404)\n' });
  });

  it('create passes a stage\'s options, and a name with a slash as one name', async () => {
    await json('barrier', 'create', 'build', '--participants', 'a');
    await json('barrier', 'create', 'stage/join', '--participants', 'a,b', '--threshold', '0.5', '--timeout', '500', '--after', 'build');
    expect(port.submitted[1].command).toMatchObject({ barrier: 'stage/join', threshold: 0.5, timeoutMs: 500, after: 'build' });
  });

  it('wait prints the release when its own arrival completes the generation', async () => {
    await json('barrier', 'create', 'B', '--participants', 'a,b');
    await json('barrier', 'arrive', 'B', '--participant', 'b');
    expect(await json('barrier', 'wait', 'B', '--participant', 'a')).toEqual({ barrier: 'B', generation: 1, outcome: 'released', reason: 'arrivals', index: 3 });
  });

  it('wait gives up at its timeout with exit 1, its arrival standing', async () => {
    await json('barrier', 'create', 'B', '--participants', 'a,b');
    const started = Date.now();
    const result = await cli('barrier', 'wait', 'B', '--participant', 'a', '--timeout', '120', '--poll', '30', '--url', api.url);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: wait_timeout: generation 1 of "B" had not ended by the deadline/);
    expect(port.queried.length).toBeGreaterThanOrEqual(1);
    expect(port.queried.length).toBeLessThanOrEqual(5);
    expect(port.queried.every((q) => q.options?.consistency === 'stale')).toBe(true);
    expect((await json('barrier', 'get', 'B')).arrived).toEqual(['a']);
  });

  it('wait reads until another participant arrives, on a clock the test moves', async () => {
    await json('barrier', 'create', 'B', '--participants', 'a,b');
    let now = 0;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        if (now === 300) port.apply(commands.arrive('B', 'b'));
      },
    };
    const result = await barrierWaitCommand(api.url, 'B', 'a', { timeoutMs: 10_000, pollMs: 100, clock });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout!)).toMatchObject({ generation: 1, outcome: 'released', reason: 'arrivals' });
    expect(port.queried).toHaveLength(3);
  });

  it('wait exits 1 when the generation fails', async () => {
    await json('barrier', 'create', 'B', '--participants', 'a,b', '--timeout', '500');
    let now = 0;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        port.time = 1_000;
        port.apply(commands.tick());
      },
    };
    const result = await barrierWaitCommand(api.url, 'B', 'a', { timeoutMs: 10_000, clock });
    expect(result).toEqual({ exitCode: 1, stderr: 'error: barrier_failed: generation 1 of "B" failed: timeout' });
  });
});

describe('reaching the node', () => {
  it('says when the node serves no coordination services', async () => {
    const bare = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(undefined) });
    try {
      const result = await cli('kv', 'get', 'k', '--url', bare.url);
      expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: coordination_unavailable: this node does not serve the coordination services (HTTP 501)\n' });
    } finally {
      await bare.close();
    }
  });

  it('says when nothing listens at the URL', async () => {
    const url = api.url;
    await api.close();
    const result = await cli('lock', 'get', 'L', '--url', url);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot reach .*\/v1\/locks\/L\?consistency=linearizable&timeoutMs=30000: .*ECONNREFUSED/);
    api = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(port) });
  });

  it('requires --url', async () => {
    const result = await cli('kv', 'get', 'k');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--url/);
  });
});
