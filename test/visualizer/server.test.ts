import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createActor } from 'xstate';
import { roundMachine } from '../../machines/round.machine';
import type { Unique } from '../../providers/unique';
import { toStatelyInspectionEvent } from '../../visualizer/inspector';
import type { StatelyActorEvent } from '../../visualizer/inspector';
import { startVisualizerServer, type VisualizerServer } from '../../visualizer/server';
import { parseControl } from '../../visualizer/protocol';
import { PageClient } from './support/pageClient';
import { createMembership } from '../../guards/quorum';

/** An app's peer id that carries a credential. */
class AppPeer implements Unique {
  constructor(
    readonly name: string,
    readonly apiToken: string,
  ) {}
  identity() {
    return this.name;
  }
  clone() {
    return this;
  }
  rank() {
    return 0;
  }
}

const wsUrl = (server: VisualizerServer, path: string) => `${server.url.replace(/^http/, 'ws')}${path.replace(/^\//, '')}`;

/** Through node:http, which (unlike fetch) lets a test send another Host header. */
function get(server: VisualizerServer, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
    const request = httpGet(new URL(path, server.url), { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, type: response.headers['content-type'], body }));
    });
    request.on('error', reject);
  });
}

describe("the live view server, playing a 4-node run (one Byzantine) with the services' client", () => {
  let server: VisualizerServer;
  let page: PageClient;
  /** The honest nodes, which run machines, and the last of them, which the page faults by hand. */
  let honest: string[];
  let victim: string;

  beforeAll(async () => {
    server = await startVisualizerServer({ simulation: { options: { nodes: 4, byzantine: 1, seed: 42, rounds: 1_000, services: true } }, speed: 2 });
    honest = server.simulation!.names.filter((name) => !server.simulation!.byzantineNames.includes(name));
    victim = honest.at(-1)!;
    page = await PageClient.connect(wsUrl(server, '/live'));
  });
  afterAll(async () => {
    page.close();
    await server.close();
  });

  test('listens on 127.0.0.1 and serves the page, its scripts and style, and the round overview', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const [html, script, services, style, overview] = await Promise.all(
      ['/', '/app.js', '/services.js', '/style.css', '/round-overview.svg'].map((path) => get(server, path)),
    );
    expect([html.status, html.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(html.body).toContain('<template id="panel-template">');
    expect([script.status, script.type]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect([services.status, services.type, services.body.includes('window.liveViewServices')]).toEqual([200, 'text/javascript; charset=utf-8', true]);
    expect([style.status, style.type]).toEqual([200, 'text/css; charset=utf-8']);
    expect([overview.status, overview.type]).toEqual([200, 'image/svg+xml']);
    expect(overview.body).toContain('state&#45;voting');
    const full = await get(server, '/diagrams/round.svg');
    expect([full.status, full.body]).toEqual([200, readFileSync(join(__dirname, '..', '..', 'docs', 'diagrams', 'round.svg'), 'utf8')]);
    expect((await get(server, '/nope')).status).toBe(404);
  });

  test('refuses requests for another host name and sockets from another origin', async () => {
    expect((await get(server, '/', { host: 'evil.example' })).status).toBe(403);
    await expect(PageClient.connect(wsUrl(server, '/live'), { origin: 'https://evil.example' })).rejects.toThrow('403');
    await expect(PageClient.connect(wsUrl(server, '/elsewhere'))).rejects.toThrow('403');
  });

  test('greets a page with the cluster, then streams Stately inspection events of every node and the cluster status', async () => {
    expect(page.hello).toEqual({
      type: '@visualizer.hello',
      mode: 'cluster',
      cluster: {
        nodes: ['n0', 'n1', 'n2', 'n3'],
        byzantine: server.simulation!.byzantineNames,
        seed: 42,
        manualFaults: true,
        services: true,
        behaviour: 'invalid',
        command: server.simulation!.command,
      },
      overview: '/round-overview.svg',
      speeds: [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4],
    });
    await page.until('a finalized height on every honest node', () =>
      (page.lastBatch?.status ?? []).length === 4 && page.lastBatch!.status!.every((node) => node.byzantine || node.activeRank >= 1),
    );
    // The simulator's Byzantine nodes run no machines: only the honest ones stream.
    const roots = page.events.filter((e): e is StatelyActorEvent => e.type === '@xstate.actor' && e.sessionId === e.rootId);
    expect(roots.map((e) => [e.name, (e.snapshot.context as { id: string }).id])).toEqual(honest.map((name) => ['node', name]));
    expect(page.lastBatch!.status!.filter((node) => !node.byzantine).map((node) => node.rootId)).toEqual(roots.map((e) => e.sessionId));
    const types = new Set(page.events.map((e) => e.type));
    expect([...types].sort()).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
  });

  test('pause stops the simulated clock, step moves it to the next state change, resume and speed take effect', async () => {
    await server.control({ type: 'control', action: 'pause' });
    const paused = server.clock()!.now;
    await page.until('two batches after pausing', () => page.batches.filter((b) => b.clock?.paused).length >= 2);
    expect(server.clock()).toMatchObject({ now: paused, paused: true });
    // A step goes on until some round changes state: it returns once the run waits again.
    await server.control({ type: 'control', action: 'step' });
    expect(server.clock()!.now).toBeGreaterThanOrEqual(paused);
    expect(server.clock()!.now).toBeLessThan(paused + 1_000);
    page.send({ type: 'control', action: 'speed', speed: 4 });
    page.send({ type: 'control', action: 'resume' });
    await page.until('playback at 4x', () => page.lastBatch?.clock?.paused === false && page.lastBatch.clock.speed === 4);
  });

  test('partition, heal, crash and restart from the page change the run; a restart shows up as a new actor system', async () => {
    const at = Number(victim.slice(1));
    const shown = () => page.lastBatch?.status?.[at];
    page.send({ type: 'control', action: 'partition', node: victim });
    await page.until(`${victim} partitioned`, () => shown()?.partitioned === true);
    expect(page.lastBatch!.links!.cut).toHaveLength(3);
    page.send({ type: 'control', action: 'heal', node: victim });
    await page.until(`${victim} healed`, () => shown()?.partitioned === false);
    const before = shown()!.rootId;
    page.send({ type: 'control', action: 'crash', node: victim });
    await page.until(`${victim} down`, () => shown()?.down === true);
    page.send({ type: 'control', action: 'restart', node: victim });
    await page.until(`${victim} back`, () => shown()?.incarnation === 2 && shown()?.rootId !== null);
    const after = shown()!.rootId!;
    expect(after).not.toBe(before);
    await page.until('the new actor system announced', () => page.events.some((e) => e.type === '@xstate.actor' && e.sessionId === after));
    expect(server.live!.faults().map(({ kind, node }) => `${kind} ${node}`)).toEqual(['partition', 'heal', 'crash', 'restart'].map((kind) => `${kind} ${victim}`));
  });

  test('ignores controls that are not controls', async () => {
    page.send({ type: 'control', action: 'speed', speed: 1000 });
    page.send({ type: 'control', action: 'crash', node: 'n99' });
    page.send('junk');
    const count = page.batches.length;
    await page.until('two more batches', () => page.batches.length >= count + 2);
    expect(page.lastBatch!.clock!.speed).toBe(4);
    expect(server.live!.faults()).toHaveLength(4);
  });

  test('a page that connects later starts from the current picture', async () => {
    const late = await PageClient.connect(wsUrl(server, '/live'));
    try {
      await late.until('the first batch', () => late.batches.length >= 1);
      const first = late.batches[0]!;
      const live = new Set(server.live!.status().flatMap((node) => (node.rootId === null ? [] : [node.rootId])));
      const roots = first.events.filter((e) => e.type === '@xstate.actor' && e.sessionId === e.rootId).map((e) => e.sessionId);
      expect(roots.sort()).toEqual([...live].sort());
      expect(first.events.filter((e) => e.type === '@xstate.actor' && (e as StatelyActorEvent).name === 'round')).toHaveLength(3);
    } finally {
      late.close();
    }
  });
});

describe("the live view server, playing the simulator's run", () => {
  let server: VisualizerServer;
  let page: PageClient;
  const crashes = [{ node: 'n0', at: 600, restartAt: 1_200 }];

  beforeAll(async () => {
    server = await startVisualizerServer({ simulation: { options: { nodes: 4, byzantine: 1, seed: 3, rounds: 10, crashes } }, speed: 2 });
    page = await PageClient.connect(wsUrl(server, '/live'));
  });
  afterAll(async () => {
    page.close();
    await server.close();
  });

  test('greets the page with the run: its command', () => {
    expect(page.hello).toMatchObject({
      mode: 'cluster',
      cluster: { nodes: ['n0', 'n1', 'n2', 'n3'], seed: 3, manualFaults: true, services: false, behaviour: 'invalid' },
    });
    expect((page.hello as { cluster: { command: string } }).cluster.command).toContain("--crash 'n0@600-1200'");
  });

  test('the planned crash shows as n0 down, then back in a new actor system', async () => {
    await page.until('n0 down', () => page.lastBatch?.status?.[0]?.down === true);
    expect(page.lastBatch!.faults).toEqual([{ kind: 'crash', node: 'n0', at: 600 }]);
    await page.until('n0 back', () => page.lastBatch?.status?.[0]?.incarnation === 2 && page.lastBatch.status[0].rootId !== null);
  });

  test('pause holds the run, a step moves it to the next state change, and a Byzantine node is not crashed by hand', async () => {
    await server.control({ type: 'control', action: 'pause' });
    const paused = server.clock()!.now;
    await page.until('two batches after pausing', () => page.batches.filter((b) => b.clock?.paused).length >= 2);
    expect(server.clock()!.now).toBe(paused);
    await server.control({ type: 'control', action: 'step' });
    expect(server.clock()!.now).toBeGreaterThanOrEqual(paused);
    const [byzantine] = server.simulation!.byzantineNames;
    await expect(server.control({ type: 'control', action: 'crash', node: byzantine! })).rejects.toThrow(`${byzantine} is Byzantine: it runs no node to crash`);
    await server.control({ type: 'control', action: 'resume' });
  });

  test('a seek pauses, plays until an honest node has finalized the height, and leaves the run paused there', async () => {
    page.send({ type: 'control', action: 'seek', height: 6 });
    await page.until('height 6, paused', () => page.lastBatch?.clock?.paused === true && Math.max(...page.lastBatch.status!.map((node) => node.height)) >= 6);
    const at = server.clock()!.now;
    await page.until('two more batches', () => page.batches.filter((b) => b.clock?.now === at).length >= 2);
    expect(server.clock()).toMatchObject({ now: at, paused: true });
    expect(parseControl({ type: 'control', action: 'seek', height: -1 })).toBeNull();
    await server.control({ type: 'control', action: 'resume' });
  });

  test('the run ends with its outcome in the batches', async () => {
    await server.control({ type: 'control', action: 'speed', speed: 16 });
    await page.until('the outcome', () => page.lastBatch?.outcome != null, 20_000);
    expect(page.lastBatch!.outcome).toMatchObject({ verdict: 'reached', seed: 3, rounds: 10 });
  }, 30_000);
});

describe('the live view server, relaying an app', () => {
  test("forwards what an app streams to /inspect to the page, sanitized, and offers no cluster controls", async () => {
    const server = await startVisualizerServer({ simulation: null });
    const page = await PageClient.connect(wsUrl(server, '/live'));
    const app = new WebSocket(wsUrl(server, '/inspect'));
    try {
      await new Promise((resolve, reject) => app.once('open', resolve).once('error', reject));
      expect(page.hello).toMatchObject({ mode: 'relay', cluster: null });
      // What @statelyai/inspect's WebSocket inspector sends: one JSON event per message.
      const actor = createActor(roundMachine, {
        input: {
          self: new AppPeer('solo', 't0ken'),
          initialState: new AppPeer('genesis', ''),
          thresholds: { provers: 1, liveness: 1, proposals: 1 },
          timeouts: { starting: 1, loading: 1, syncRetry: 1, collecting: 1, livenessCheck: 1, proving: 1, publishing: 1, voting: 1, finalizing: 1, verifying: 1, stopping: 1, attempt: 1, attemptGrowth: 1, attemptMax: 1 },
          rankWindow: 16,
          membership: createMembership([{ id: 'solo', weight: 1 }]),
          shouldEmitReceiveEventsOnSends: true,
          attemptWindow: 4,
        },
        // As @statelyai/inspect does: converted on a zero-delay timer, once the
        // actor announced by @xstate.actor has its first snapshot. Unsanitized
        // here, so the server's own sanitizing is what the page relies on.
        inspect: (event) =>
          setTimeout(() => {
            const wire = toStatelyInspectionEvent(event, { secretKeys: /^$/ });
            if (wire !== null) app.send(JSON.stringify(wire));
          }, 0),
      }).start();
      await page.until('the app’s round actor and its snapshot', () =>
        page.events.some((e) => e.type === '@xstate.actor' && e.sessionId === actor.sessionId) &&
        page.events.some((e) => e.type === '@xstate.snapshot' && e.sessionId === actor.sessionId),
      );
      const relayed = page.events.find((e) => e.type === '@xstate.actor' && e.sessionId === actor.sessionId) as StatelyActorEvent;
      expect(relayed.name).toBe('round');
      expect((relayed.snapshot.context as { self: unknown }).self).toEqual({ name: 'solo', apiToken: '[redacted]' });
      expect(page.lastBatch).toMatchObject({ status: null, clock: null, faults: null });
      await expect(server.control({ type: 'control', action: 'crash', node: 'n0' })).rejects.toThrow('relay mode');
      actor.stop();
    } finally {
      app.terminate();
      page.close();
      await server.close();
    }
  });
});
