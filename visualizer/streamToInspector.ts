import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { SimulationOptions } from '../simulator/options';
import { runSimulation } from '../simulator/runSimulation';
import { loadStatelyInspect, withSanitizedInspection } from './inspector';

/**
 * `simulate --inspect ws://…`: the simulator's run (every option of
 * `simulate`, faults included), its honest nodes' machines (round and
 * election each) streamed through `@statelyai/inspect`'s
 * `createWebSocketInspector`, sanitized, to whatever listens there: the
 * Stately inspector's relay (`createInspectorServer()` from
 * `@statelyai/inspect/server`, ws://localhost:8080) or this project's live
 * view (`statechart-consensus visualize --relay`, ws://127.0.0.1:PORT/inspect).
 * Byzantine nodes run no machines, so there is nothing of theirs to stream.
 */

export interface InspectStreamOptions {
  /** The inspector's WebSocket, e.g. `ws://localhost:8080`. */
  url: string;
  /** The run, as `simulate` takes it; `simulate`'s defaults otherwise, but 10 rounds. */
  simulation?: Partial<SimulationOptions>;
  /** Shorthands for `simulation.nodes`, `.byzantine`, `.seed` and `.rounds`. */
  nodes?: number;
  byzantine?: number;
  seed?: number;
  rounds?: number;
  /**
   * Simulated ms per wall-clock ms, so a person can follow the inspector;
   * 0 runs as fast as the machine can. Default 1.
   */
  speed?: number;
  /** How long to wait for the inspector's socket to open. Default 5 000 ms. */
  connectTimeoutMs?: number;
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
  /** The run's trace digest and the command that replays it, as in `simulate`'s report. */
  traceDigest: string;
  replay: string;
}

export class InspectorConnectionError extends Error {
  override readonly name = 'InspectorConnectionError';
}

/** Wall-clock ms a run may run ahead of its pace before it waits. */
const PLAYBACK_SLACK_MS = 20;

export async function streamClusterToInspector(options: InspectStreamOptions): Promise<InspectStreamReport> {
  const speed = options.speed ?? 1;
  if (!(speed >= 0)) throw new RangeError(`speed must be >= 0, got ${speed}`);
  const simulation: Partial<SimulationOptions> = {
    rounds: 10,
    ...options.simulation,
    ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
    ...(options.byzantine === undefined ? {} : { byzantine: options.byzantine }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.rounds === undefined ? {} : { rounds: options.rounds }),
  };
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
    const wallStart = performance.now();
    // Before each instant, the run waits until the wall clock has caught up with it: waiting changes nothing in it.
    const pace = (next: number): Promise<void> | void => {
      if (speed === 0) return;
      const wait = wallStart + next / speed - performance.now();
      if (wait > PLAYBACK_SLACK_MS) return new Promise((resolve) => setTimeout(resolve, wait));
    };
    const report = await runSimulation(simulation, { inspect: () => observer, pace });
    // The inspector converts and sends each event on a zero-delay timer: let them all go out.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return {
      url: options.url,
      nodes: Object.keys(report.roundsFinalized),
      byzantine: report.byzantineNodes,
      seed: report.seed,
      roundsFinalized: report.roundsFinalized,
      reachedTarget: report.reachedTarget,
      simulatedMs: report.simulatedMs,
      eventsStreamed,
      traceDigest: report.traceDigest,
      replay: report.replay,
    };
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
