import type { ClusterFault, ClusterNodeStatus } from './clusterStatus';
import type { RunOutcome } from './live/runOutcome';
import type { StatelyInspectionEvent } from './inspector';

/**
 * What the live view's server and page say to each other over `/live`. The
 * inspection events are exactly the Stately inspector's; the rest is the
 * simulated cluster's status and controls, absent when the server only
 * relays an app's stream. `visualizer/page/app.js` mirrors these shapes.
 */

/** Largest cluster the live view plays: 16 nodes stay readable; a round's cost grows with n². */
export const MAX_VISUAL_NODES = 32;

/** Playback speeds the page offers: simulated ms per wall-clock ms. */
export const SPEEDS = [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4] as const;
export const MAX_SPEED = 16;
/** Highest height a seek goes to (`seek` plays as fast as it can, the server answering meanwhile). */
export const MAX_SEEK_HEIGHT = 1_000_000;

export interface ClockState {
  /** Simulated ms. */
  now: number;
  speed: number;
  paused: boolean;
  /**
   * Simulated time achieved over simulated time asked for, over the last
   * second of playback: below 1 when the machine cannot keep up with `speed`.
   */
  pace: number;
}

export interface HelloMessage {
  type: '@visualizer.hello';
  /** `cluster`: the server runs a simulated cluster and takes controls; `relay`: it only forwards apps' streams. */
  mode: 'cluster' | 'relay';
  cluster: {
    nodes: readonly string[];
    byzantine: readonly string[];
    seed: number;
    /** Whether the page's partition and crash buttons apply; a simulator run's faults come from its options. */
    manualFaults: boolean;
    /** What Byzantine nodes that run no machines do (a simulator run's `--behaviour`), or null. */
    behaviour: string | null;
    /** Whether honest nodes host the coordination services: the services panel shows only then. */
    services: boolean;
    /** The command that replays the run shown (`simulate` with its options), when there is one. */
    command: string | null;
  } | null;
  /** Where the round machine's overview diagram is served. */
  overview: string;
  speeds: readonly number[];
}

export interface BatchMessage {
  type: '@visualizer.batch';
  events: StatelyInspectionEvent[];
  status: ClusterNodeStatus[] | null;
  clock: ClockState | null;
  faults: ClusterFault[] | null;
  /** The links a partition cuts now (each pair once, in node order). */
  links: { cut: Array<[string, string]> } | null;
  /** How the run ended, once it has: what identifies it beside `simulate --json`. */
  outcome: RunOutcome | null;
  /** The server's wall clock when it built the batch, so a page can tell the server's cadence from its own delivery bursts. */
  sentAt: number;
}

export type ServerMessage = HelloMessage | BatchMessage;

export type ControlCommand =
  | { type: 'control'; action: 'pause' | 'resume' | 'step' }
  | { type: 'control'; action: 'speed'; speed: number }
  /** Pauses, then plays as fast as it can until an honest node has finalized `height`. */
  | { type: 'control'; action: 'seek'; height: number }
  | { type: 'control'; action: 'partition' | 'heal' | 'crash' | 'restart'; node: string };

const NODE_ACTIONS = ['partition', 'heal', 'crash', 'restart'] as const;
const PLAIN_ACTIONS = ['pause', 'resume', 'step'] as const;

/** A control the page sent, checked; null for anything else. */
export function parseControl(raw: unknown): ControlCommand | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const message = raw as Record<string, unknown>;
  if (message.type !== 'control' || typeof message.action !== 'string') return null;
  const action = message.action;
  if ((PLAIN_ACTIONS as readonly string[]).includes(action)) {
    return { type: 'control', action: action as (typeof PLAIN_ACTIONS)[number] };
  }
  if (action === 'seek') {
    const height = message.height;
    return typeof height === 'number' && Number.isSafeInteger(height) && height >= 0 && height <= MAX_SEEK_HEIGHT ? { type: 'control', action, height } : null;
  }
  if (action === 'speed') {
    const speed = message.speed;
    return typeof speed === 'number' && speed > 0 && speed <= MAX_SPEED ? { type: 'control', action, speed } : null;
  }
  if ((NODE_ACTIONS as readonly string[]).includes(action)) {
    const node = message.node;
    return typeof node === 'string' && node.length <= 64 ? { type: 'control', action: action as (typeof NODE_ACTIONS)[number], node } : null;
  }
  return null;
}

/** `--speed` as typed on the command line: simulated ms per wall-clock ms, in (0, MAX_SPEED]. Throws RangeError. */
export function parseSpeed(text: string): number {
  const speed = Number(text.trim());
  if (text.trim() === '' || !(speed > 0 && speed <= MAX_SPEED)) {
    throw new RangeError(`--speed must be a number above 0 and at most ${MAX_SPEED}, got ${JSON.stringify(text)}`);
  }
  return speed;
}
