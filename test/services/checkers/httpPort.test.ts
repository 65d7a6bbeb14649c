import { createServer, type Server, type Socket } from 'node:net';
import { startClientApi, type ClientApi } from '../../../node/clientApi';
import { freePorts } from '../../../server/localCluster';
import { commands, queries } from '../../../services';
import type { QueryOutcome, SubmitOutcome } from '../../../services/port';
import { coordinationBackend, FakeCoordinationPort } from '../../support/fakeCoordinationPort';
import { failoverPort, httpPort } from '../../support/services/httpPort';

let behind: FakeCoordinationPort;
let api: ClientApi;

beforeEach(async () => {
  behind = new FakeCoordinationPort();
  api = await startClientApi({ host: '127.0.0.1', port: 0, backend: coordinationBackend(behind) });
});
afterEach(async () => {
  await api.close();
});

/** The in-process answer as the HTTP port gives it: a taken command's events stay on the node. */
function withoutEvents<T extends SubmitOutcome | QueryOutcome>(outcome: T): T {
  if (!('index' in outcome)) return outcome;
  const key = outcome.outcome === 'committed' ? 'result' : 'answer';
  const result = (outcome as Record<string, unknown>)[key] as { ok: boolean; value?: unknown; error?: unknown };
  return { ...outcome, [key]: result.ok ? { ok: true, value: result.value } : result };
}

describe('the HTTP port', () => {
  it('answers every command and query with the index and result the in-process port gives', async () => {
    const port = httpPort(api.url);
    const twin = new FakeCoordinationPort();
    const steps: Array<{ command: unknown } | { query: unknown; stale?: boolean } | { time: number }> = [
      { command: commands.put('app/config', { replicas: 3 }, { writer: 'a' }) },
      { query: queries.get('app/config') },
      { command: commands.put('app/config', 'v2', { writer: 'b', context: { a: 1 } }) },
      { command: commands.setKeySpace('app/', 'reject') },
      { command: commands.setKeySpace('', 'siblings') },
      { command: commands.put('app/config', 'v3', { writer: 'c' }) },
      { query: queries.kvConfig() },
      { command: commands.clearKeySpace('app/') },
      { command: commands.clearKeySpace('') },
      { command: commands.acquire('jobs/acquire', 'a', { leaseMs: 1_000 }) },
      { command: commands.acquire('jobs/acquire', 'b') },
      { command: commands.put('L/data', 'fenced', { writer: 'a', fence: { lock: 'jobs/acquire', token: 1 } }) },
      { command: commands.release('jobs/acquire', 'b', 1) },
      { command: commands.renew('jobs/acquire', 'a', 1, { leaseMs: 500 }) },
      { time: 5_000 },
      { command: commands.put('L/data', 'late', { writer: 'a', fence: { lock: 'jobs/acquire', token: 1 } }) },
      { query: queries.lock('jobs/acquire') },
      { command: commands.cancel('jobs/acquire', 'z') },
      { command: commands.release('jobs/acquire', 'b', 2) },
      { query: queries.locks(), stale: true },
      { command: commands.delete('app/config') },
      { query: queries.keys({ prefix: 'L/', limit: 5 }) },
      { query: queries.get('app/config'), stale: true },
      { command: commands.createBarrier('stage/join', ['a', 'b'], { timeoutMs: null }) },
      { command: commands.join('stage/join', 'c') },
      { command: commands.leave('stage/join', 'c') },
      { command: commands.arrive('stage/join', 'a', 1) },
      { command: commands.arrive('nope', 'a') },
      { query: queries.barrier('stage/join') },
      { query: queries.barriers() },
      { command: commands.deleteBarrier('stage/join') },
    ];
    const codes: string[] = [];
    for (const step of steps) {
      if ('time' in step) {
        behind.time = twin.time = step.time;
      } else if ('command' in step) {
        const outcome = await port.submit(step.command);
        expect([step.command, outcome]).toEqual([step.command, withoutEvents(await twin.submit(step.command))]);
        if (outcome.outcome === 'committed') codes.push((outcome.result as { error?: { code: string } }).error?.code ?? 'ok');
      } else {
        const options = { consistency: step.stale ? ('stale' as const) : ('linearizable' as const) };
        expect([step.query, await port.query(step.query, options)]).toEqual([step.query, withoutEvents(await twin.query(step.query, options))]);
      }
    }
    expect(behind.snapshotText()).toBe(twin.snapshotText());
    // Refusals came back as committed answers at their indices, not as failures.
    expect(codes.filter((code) => code !== 'ok')).toEqual(['concurrent_write', 'not_holder', 'stale_fence_token', 'not_waiting', 'unknown_barrier']);
  });

  it('hands the node the time left to the deadline, and gives up a past one without sending it', async () => {
    const port = httpPort(api.url);
    const before = Date.now();
    await port.submit(commands.put('k', 1, { writer: 'w' }), { deadline: before + 5_000 });
    const deadline = behind.submitted[0].options?.deadline ?? 0;
    expect(deadline).toBeGreaterThanOrEqual(before + 4_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(await port.submit(commands.put('k', 2, { writer: 'w' }), { deadline: Date.now() - 1 })).toEqual({ outcome: 'expired' });
    expect(behind.submitted).toHaveLength(1);
  });

  it('reads the node\'s expired as expired and its aborted as aborted, with the reason', async () => {
    const port = httpPort(api.url);
    behind.unanswered.push({ outcome: 'expired' }, { outcome: 'aborted', reason: 'not the leader' });
    expect(await port.submit(commands.acquire('L', 'a'))).toEqual({ outcome: 'expired' });
    expect(await port.submit(commands.acquire('L', 'a'))).toEqual({ outcome: 'aborted', reason: 'not the leader' });
  });

  it('aborts what has no route or is refused as bad input, with nothing committed', async () => {
    const port = httpPort(api.url);
    for (const command of [commands.tick(), commands.setKeySpace('s/', 'newest' as never), commands.put('k', 1, { writer: '' })]) {
      expect(await port.submit(command)).toMatchObject({ outcome: 'aborted' });
    }
    expect(await port.query(queries.checkFence('L', 1))).toMatchObject({ outcome: 'aborted' });
    expect(behind.index).toBe(0);
  });

  it('aborts a request whose connection is refused: nothing was sent', async () => {
    const [closed] = await freePorts(1);
    const port = httpPort(`http://127.0.0.1:${closed}`);
    expect(await port.submit(commands.acquire('L', 'a'))).toEqual({ outcome: 'aborted', reason: expect.stringMatching(/^connection refused/) });
  });

  it('fails over to the next node when one refuses the connection, and stays there', async () => {
    const closed = (await freePorts(2)).map((free) => `http://127.0.0.1:${free}`);
    const port = failoverPort([closed[0], api.url], 0);
    expect(await port.submit(commands.acquire('L', 'a'))).toMatchObject({ outcome: 'committed', index: 1 });
    expect(await port.query(queries.lock('L'))).toMatchObject({ outcome: 'answered', index: 2 });
    // With every node down, the call ends aborted after one try of each.
    expect(await failoverPort(closed, 1).submit(commands.acquire('L', 'b'))).toMatchObject({ outcome: 'aborted' });
  });

  describe('a node that took the request and did not answer', () => {
    let server: Server;
    const sockets = new Set<Socket>();
    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const listen = async (onData: (socket: Socket) => void) => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.once('data', () => onData(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    };

    it('expires a command when the node stays silent past the deadline', async () => {
      const port = httpPort(await listen(() => undefined), { graceMs: 100 });
      const started = Date.now();
      expect(await port.submit(commands.acquire('L', 'a'), { deadline: Date.now() + 200 })).toEqual({ outcome: 'expired' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('expires a command whose connection is reset after it was sent', async () => {
      const port = httpPort(await listen((socket) => socket.resetAndDestroy()));
      expect(await port.submit(commands.acquire('L', 'a'), { deadline: Date.now() + 2_000 })).toEqual({ outcome: 'expired' });
      expect(await port.query(queries.get('k'), { deadline: Date.now() + 2_000 })).toEqual({ outcome: 'expired' });
    });
  });
});
