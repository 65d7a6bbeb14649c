import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { roundMachine } from '../machines/round.machine';
import type { SimulationOptions } from '../simulator/options';
import type { SimulationHooks } from '../simulator/hooks';
import type { LiveCluster } from './live/LiveCluster';
import { SimulationPlayer } from './live/SimulationPlayer';
import { toSvg } from './diagram';
import { InspectionHub, type HubLimits } from './inspectionHub';
import { overviewSvg, ROUND_EVERYWHERE_EVENTS } from './overviewDiagram';
import {
  MAX_SPEED,
  parseControl,
  SPEEDS,
  type BatchMessage,
  type ClockState,
  type ControlCommand,
  type HelloMessage,
} from './protocol';

/**
 * The offline live view: a local HTTP server that serves the page
 * (`visualizer/page/`) and streams inspection events to it over a WebSocket
 * (`/live`). It either plays the simulator's run (every option of
 * `simulate`, faults included, and the same report) in real time at an
 * adjustable speed, or relays what apps stream to `/inspect`
 * (`createWebSocketInspector({ url: 'ws://127.0.0.1:PORT/inspect' })`); it
 * does both when asked to play a run.
 */

export interface VisualizerServerOptions {
  /** Default 127.0.0.1: the view is for this machine only. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /**
   * The simulator's run to play, as `simulate` takes it (its defaults
   * otherwise), or null to only relay apps' streams. The page may add faults
   * by hand, which its options then no longer replay.
   */
  simulation?: { options?: Partial<SimulationOptions>; workload?: SimulationHooks['workload'] } | null;
  /** Simulated ms per wall-clock ms. Default 0.1. */
  speed?: number;
  /** Start paused. Default false. */
  paused?: boolean;
  /** Wall-clock ms between playback steps. Default 50. */
  tickMs?: number;
  /** Wall-clock ms between batches to the page: at most this many redraws per second follow. Default 100. */
  flushMs?: number;
  /** Wall-clock ms of simulation per playback step at most, so the server keeps answering. Default 35. */
  workBudgetMs?: number;
  hubLimits?: Partial<HubLimits>;
  /** Where the page's files are, if not next to this module. */
  pageDirectory?: string;
  /**
   * A simulation step threw (a bug: nodes turn their errors into refusals).
   * Playback pauses; by default the error goes to stderr.
   */
  onError?: (error: unknown) => void;
}

export interface VisualizerServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  /** The simulator's run, or null in relay mode. */
  readonly simulation: SimulationPlayer | null;
  /** The same, as the server plays it. */
  readonly live: LiveCluster | null;
  readonly hub: InspectionHub;
  clock(): ClockState | null;
  /** What the page's buttons do. */
  control(command: ControlCommand): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_SPEED = 0.1;
/** A page that cannot read this much queued data is skipped until it catches up. */
const MAX_CLIENT_BACKLOG = 8 * 1024 * 1024;
/** Wall-clock ms one playback step may ask to catch up on (after a stall of the process, say). */
const MAX_TICK_MS = 1_000;
/** Largest message an app may stream to `/inspect`. */
const MAX_INSPECTION_MESSAGE = 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/services.js': 'services.js',
  '/topology.js': 'topology.js',
  '/run.js': 'run.js',
  '/describe.js': 'describe.js',
  '/toolbar.js': 'toolbar.js',
  '/style.css': 'style.css',
};

/**
 * The page's files: next to this module in the sources, copied to `dist/page`
 * in a build (found from the bundle's directory, or through the installed
 * package when an ES module bundle has no `__dirname`).
 */
export function findPageDirectory(): string {
  const candidates: string[] = [];
  if (typeof __dirname === 'string') candidates.push(join(__dirname, 'page'), join(__dirname, '..', 'visualizer', 'page'));
  candidates.push(join(process.cwd(), 'visualizer', 'page'));
  try {
    const manifest = createRequire(join(process.cwd(), 'index.js')).resolve('statechart-consensus/package.json');
    candidates.push(join(dirname(manifest), 'dist', 'page'));
  } catch {
    // Not installed as a package: the sources' own directory is the one.
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`the live view's page was not found (looked in ${candidates.join(', ')})`);
  return found;
}

let overview: Promise<string> | undefined;
let fullRoundDiagram: Promise<string> | undefined;

export async function startVisualizerServer(options: VisualizerServerOptions = {}): Promise<VisualizerServer> {
  const host = options.host ?? '127.0.0.1';
  const tickMs = options.tickMs ?? 50;
  const flushMs = options.flushMs ?? 100;
  const workBudgetMs = options.workBudgetMs ?? 35;
  const pageDirectory = options.pageDirectory ?? findPageDirectory();
  let speed = checkSpeed(options.speed ?? DEFAULT_SPEED);
  const onError =
    options.onError ??
    ((error: unknown) => process.stderr.write(`live view: the simulation failed and is paused: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`));
  let paused = options.paused ?? false;

  const hub = new InspectionHub(options.hubLimits);
  const run = options.simulation === undefined ? {} : options.simulation;
  let simulation: SimulationPlayer | null = null;
  if (run !== null) {
    const player: SimulationPlayer = new SimulationPlayer({
      simulation: run.options ?? {},
      ...(run.workload === undefined ? {} : { workload: run.workload }),
      inspect: () => (event) => hub.pushInspection(event, player.now()),
      onError,
    });
    simulation = player;
  }
  const playing: LiveCluster | null = simulation;
  overview ??= overviewSvg(roundMachine, ROUND_EVERYWHERE_EVENTS);
  const overviewText = await overview;

  // ---- playback: the only wall-clock timers, pacing the simulated clock ----
  let work: Promise<void> = Promise.resolve();
  let pending = 0;
  const exclusive = (fn: () => Promise<void>): Promise<void> => {
    pending += 1;
    const run = work.then(fn).finally(() => {
      pending -= 1;
    });
    work = run.catch(() => undefined);
    return run;
  };
  let lastTick = performance.now();
  // Requested and achieved simulated ms over the last second, for `pace`.
  const paceWindow: { at: number; asked: number; got: number }[] = [];
  // What the previous step asked for and from where: a simulator run plays in the background, so what a step
  // achieved is known at the next tick.
  let previous: { from: number; asked: number } | null = null;
  const measure = (active: LiveCluster) => {
    if (previous !== null) paceWindow.push({ at: performance.now(), asked: previous.asked, got: active.now() - previous.from });
    previous = null;
    while (paceWindow.length > 0 && paceWindow[0]!.at < performance.now() - 1_000) paceWindow.shift();
  };
  const tick = () => {
    const now = performance.now();
    // While a step still runs, wall time keeps accruing to the next one, so
    // `pace` shows a machine that cannot keep up.
    if (playing === null || pending > 0) return;
    const elapsed = Math.min(now - lastTick, MAX_TICK_MS);
    lastTick = now;
    const active = playing;
    measure(active);
    if (paused) return;
    const from = active.now();
    const asked = speed * elapsed;
    const deadline = now + workBudgetMs;
    // A step that ran out of budget is not made up later: playback slows
    // down instead of piling up work it can never finish.
    exclusive(async () => {
      await active.play(asked, deadline);
      previous = { from, asked };
    }).catch((error: unknown) => {
      paused = true;
      onError(error);
    });
  };
  const clockState = (): ClockState | null => {
    if (playing === null) return null;
    const asked = paceWindow.reduce((sum, entry) => sum + entry.asked, 0);
    const got = paceWindow.reduce((sum, entry) => sum + entry.got, 0);
    return { now: playing.now(), speed, paused, pace: asked === 0 ? 1 : Math.min(1, got / asked) };
  };

  // ---- the page's WebSocket, and apps' inspection streams ----
  const pages = new Set<WebSocket>();
  const live = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const inspect = new WebSocketServer({ noServer: true, maxPayload: MAX_INSPECTION_MESSAGE });
  const send = (socket: WebSocket, message: HelloMessage | BatchMessage) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  const batch = (events: BatchMessage['events']): BatchMessage => ({
    type: '@visualizer.batch',
    events,
    status: playing?.status() ?? null,
    clock: clockState(),
    faults: playing?.faults() ?? null,
    links: playing === null ? null : { cut: playing.cutLinks() },
    outcome: playing?.outcome() ?? null,
    sentAt: Date.now(),
  });
  const lagging = new Set<WebSocket>();
  const flush = () => {
    const events = hub.drain();
    if (pages.size === 0) return;
    const message = JSON.stringify(batch(events));
    for (const socket of pages) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (socket.bufferedAmount > MAX_CLIENT_BACKLOG) {
        lagging.add(socket);
        continue;
      }
      // A page that missed batches starts over from the current picture.
      if (lagging.delete(socket)) send(socket, batch(hub.current()));
      socket.send(message);
    }
  };

  live.on('connection', (socket) => {
    pages.add(socket);
    socket.on('close', () => {
      pages.delete(socket);
      lagging.delete(socket);
    });
    socket.on('message', (data) => {
      let command: ControlCommand | null = null;
      try {
        command = parseControl(JSON.parse(String(data)));
      } catch {
        command = null;
      }
      if (command !== null) void server.control(command).catch(() => undefined);
    });
    send(socket, {
      type: '@visualizer.hello',
      mode: playing === null ? 'relay' : 'cluster',
      cluster:
        playing === null
          ? null
          : {
              nodes: playing.names,
              byzantine: playing.byzantineNames,
              seed: playing.seed,
              manualFaults: playing.manualFaults,
              services: playing.services,
              behaviour: playing.behaviour,
              command: playing.command,
            },
      overview: '/round-overview.svg',
      speeds: SPEEDS,
    });
    send(socket, batch(hub.current()));
  });
  inspect.on('connection', (socket) => {
    socket.on('message', (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return;
      }
      for (const event of Array.isArray(parsed) ? parsed : [parsed]) hub.pushStately(event);
    });
  });

  // ---- HTTP ----
  const http = createServer((request, response) => {
    void respond(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(error instanceof Error ? error.message : String(error));
    });
  });
  const respond = async (request: IncomingMessage, response: ServerResponse) => {
    if (!isLocalHost(request.headers.host, port)) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host');
      return;
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = PAGE_FILES[path];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (file !== undefined) {
      const body = await readFile(join(pageDirectory, file));
      response.writeHead(200, { 'content-type': CONTENT_TYPES[file.slice(file.lastIndexOf('.'))]!, 'cache-control': 'no-store' });
      response.end(body);
    } else if (path === '/round-overview.svg') {
      response.writeHead(200, { 'content-type': CONTENT_TYPES['.svg']! }).end(overviewText);
    } else if (path === '/diagrams/round.svg') {
      fullRoundDiagram ??= toSvg(roundMachine);
      response.writeHead(200, { 'content-type': CONTENT_TYPES['.svg']! }).end(await fullRoundDiagram);
    } else if (path === '/api/status') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ clock: clockState(), status: playing?.status() ?? null, faults: playing?.faults() ?? null, outcome: playing?.outcome() ?? null }));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  };
  http.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const target = path === '/live' ? live : path === '/inspect' ? inspect : null;
    // Another web page in the same browser must not drive the cluster or read the stream.
    if (target === null || !isLocalHost(request.headers.host, port) || !isOwnOrigin(request.headers.origin, port)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    target.handleUpgrade(request, socket, head, (client) => target.emit('connection', client, request));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;

  playing?.start();
  const ticker = setInterval(tick, tickMs);
  const flusher = setInterval(flush, flushMs);

  const server: VisualizerServer = {
    url,
    port,
    simulation,
    live: playing,
    hub,
    clock: clockState,
    async control(command) {
      if (command.action === 'speed') {
        speed = checkSpeed(command.speed);
        return;
      }
      if (command.action === 'pause') {
        paused = true;
        // Once paused, the clock stands still: the run goes no further than it was shown.
        await exclusive(async () => playing?.hold());
        return;
      }
      if (command.action === 'resume') {
        paused = false;
        lastTick = performance.now();
        return;
      }
      if (playing === null) throw new Error('relay mode: there is no cluster to control');
      const active = playing;
      if (command.action === 'step') {
        if (paused) await exclusive(() => active.step());
        return;
      }
      if (command.action === 'seek') {
        paused = true;
        await exclusive(() => active.seek(command.height));
        return;
      }
      if (!('node' in command)) return;
      if (!active.manualFaults) throw new Error('this run takes its faults from its options (--partition, --crash), not from the page');
      const { action, node } = command;
      // Faults land between two events of the simulation, never inside one step.
      await exclusive(async () => {
        const ended = active.fault(action, node);
        if (ended !== undefined) hub.forgetRoot(ended);
      });
    },
    async close() {
      clearInterval(ticker);
      clearInterval(flusher);
      await work;
      await playing?.stop();
      for (const socket of [...pages, ...inspect.clients]) socket.terminate();
      live.close();
      inspect.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return server;
}

function checkSpeed(speed: number): number {
  if (!(speed > 0 && speed <= MAX_SPEED)) throw new RangeError(`speed must be in (0, ${MAX_SPEED}], got ${speed}`);
  return speed;
}

/** The Host header names this server on loopback (a guard against DNS rebinding). */
function isLocalHost(header: string | undefined, port: number): boolean {
  if (header === undefined) return true;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(header.toLowerCase());
}

/** Browsers send an Origin; Node clients (an app's inspector) do not. */
function isOwnOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`].includes(origin.toLowerCase());
}
