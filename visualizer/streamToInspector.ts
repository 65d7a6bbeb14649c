import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { VisualCluster, type VisualClusterOptions } from './cluster/VisualCluster';
import { loadStatelyInspect, withSanitizedInspection } from './inspector';

/**
 * `simulate --inspect ws://…`: a simulated cluster of nodes (round machine
 * and election each) streamed through `@statelyai/inspect`'s
 * `createWebSocketInspector`, sanitized, to whatever listens there: the
 * Stately inspector's relay (`createInspectorServer()` from
 * `@statelyai/inspect/server`, ws://localhost:8080) or this project's live
 * view (`statechart-consensus visualize --relay`, ws://127.0.0.1:PORT/inspect).
 */

export interface InspectStreamOptions extends Pick<VisualClusterOptions, 'nodes' | 'byzantine' | 'seed' | 'latency' | 'proofMs'> {
  /** The inspector's WebSocket, e.g. `ws://localhost:8080`. */
  url: string;
  /** Heights every running honest node finalizes before the stream ends. Default 10. */
  rounds?: number;
  /**
   * Simulated ms per wall-clock ms, so a person can follow the inspector;
   * 0 runs as fast as the machine can. Default 1.
   */
  speed?: number;
  /** How long to wait for the inspector's socket to open. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Simulated ms after which the run ends even if `rounds` were not reached. Default 2 000 per round + 5 000. */
  limitMs?: number;
}

export interface InspectStreamReport {
  url: string;
  nodes: readonly string[];
  byzantine: readonly string[];
  seed: number;
  /** Heights each node finalized. */
  roundsFinalized: Record<string, number>;
  reachedTarget: boolean;
  simulatedMs: number;
  /** Inspection events handed to the inspector (after sanitizing). */
  eventsStreamed: number;
}

export class InspectorConnectionError extends Error {
  override readonly name = 'InspectorConnectionError';
}

/** Wall-clock ms between playback steps when `speed` > 0. */
const PLAYBACK_TICK_MS = 20;

export async function streamClusterToInspector(options: InspectStreamOptions): Promise<InspectStreamReport> {
  const rounds = options.rounds ?? 10;
  const speed = options.speed ?? 1;
  if (!(speed >= 0)) throw new RangeError(`speed must be >= 0, got ${speed}`);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  // The Stately adapter retries a failed socket every 5 s for as long as the
  // process lives, so it is only created once something is known to listen.
  await probe(options.url, connectTimeoutMs);
  const { createWebSocketInspector } = await loadStatelyInspect();
  // Nothing may be dropped before the socket opens (the default keeps 200 events).
  const inspector = createWebSocketInspector({ url: options.url, maxDeferredEvents: Number.MAX_SAFE_INTEGER });
  try {
    await waitForOpen(inspector.adapter, options.url, connectTimeoutMs);

    let eventsStreamed = 0;
    const observer = withSanitizedInspection((event) => {
      eventsStreamed += 1;
      inspector.inspect.next?.(event);
    });
    const cluster = new VisualCluster({
      nodes: options.nodes,
      byzantine: options.byzantine,
      seed: options.seed,
      latency: options.latency,
      proofMs: options.proofMs,
      inspect: () => observer,
    });
    const limitMs = options.limitMs ?? 2_000 * rounds + 5_000;
    const done = () => cluster.slowestHonestHeight() >= rounds;
    cluster.start();
    if (speed === 0) {
      await cluster.clock.runUntil(done, limitMs);
    } else {
      const wallStart = performance.now();
      while (!done() && cluster.clock.now() < limitMs) {
        await cluster.advanceTo(Math.min(limitMs, speed * (performance.now() - wallStart)), done);
        await new Promise((resolve) => setTimeout(resolve, PLAYBACK_TICK_MS));
      }
    }
    const reachedTarget = done();
    cluster.stop();
    const report: InspectStreamReport = {
      url: options.url,
      nodes: cluster.names,
      byzantine: cluster.byzantineNames,
      seed: cluster.seed,
      roundsFinalized: Object.fromEntries(cluster.names.map((name) => [name, cluster.frames(name).length - 1])),
      reachedTarget,
      simulatedMs: cluster.clock.now(),
      eventsStreamed,
    };
    // The inspector converts and sends each event on a zero-delay timer: let them all go out.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return report;
  } finally {
    // The socket sends what it was given before its close frame.
    inspector.stop();
  }
}

/**
 * `createWebSocketInspector` connects in the background and holds events
 * until then; its adapter's `status` (not part of its typed API) says when
 * the socket is open.
 */
async function waitForOpen(adapter: unknown, url: string, timeoutMs: number): Promise<void> {
  const status = () => (adapter as { status?: unknown }).status;
  const deadline = performance.now() + timeoutMs;
  while (status() !== 'open') {
    if (performance.now() >= deadline) {
      throw new InspectorConnectionError(`could not connect to the inspector at ${url} within ${timeoutMs} ms; is it listening?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function probe(url: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      reject(new InspectorConnectionError(`bad inspector URL ${url}: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new InspectorConnectionError(`could not connect to the inspector at ${url}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      socket.close();
      resolve();
    });
    socket.once('error', (error) => fail(error.message));
  });
}
