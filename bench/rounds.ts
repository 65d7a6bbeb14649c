import { runSimulation } from '../simulator/runSimulation';
import type { MessagingMode } from '../engine/config';
import { countDuring } from './counters';
import { measureXStateFloor, type FloorOptions, type XStateFloor } from './floor';
import { measureIdleMemory, type IdleMemory } from './memory';

/** Rounds per cluster size: enough for a steady rate, few enough to finish in seconds. */
export const BENCH_SIZES: readonly { nodes: number; rounds: number }[] = [
  { nodes: 4, rounds: 400 },
  { nodes: 7, rounds: 200 },
  { nodes: 16, rounds: 60 },
  { nodes: 64, rounds: 6 },
];

/** Rounds for a cluster size that is not one of `BENCH_SIZES`: about as long a run. */
export function defaultRounds(nodes: number): number {
  return BENCH_SIZES.find((size) => size.nodes === nodes)?.rounds ?? Math.max(4, Math.round(3_000 / (nodes * nodes)));
}

/** One run of the rounds bench: a cluster size, its heights, and how its votes and confirmations travel. */
export interface RoundsBenchSize {
  nodes: number;
  rounds: number;
  /** Default all-to-all. */
  messaging?: MessagingMode;
}

export interface RoundsBenchRow {
  nodes: number;
  messaging: MessagingMode;
  /** Heights every node finalized (the slowest node's count). */
  rounds: number;
  wallMs: number;
  roundsPerSecond: number;
  /**
   * Ledger entries committed per wall-clock second. The demo ledger commits
   * one frame a round, and a frame carries the 1–3 entries its prover
   * collected (`entriesPerFrame`, a function of prover and height). The
   * simulator does not report them, so the bench counts them: the entries of
   * the frame appended at each height up to `rounds` (`LedgerStore.append`,
   * see `counters.ts`), over `wallMs`. Equal to roundsPerSecond ×
   * payloadsPerRound.
   */
  payloadsPerSecond: number;
  payloadsPerRound: number;
  /** Wall-clock µs per round: the whole cluster's work on this one process (n engines, the ledger, the simulated network, the checker). */
  usPerRound: number;
  wallMsPerRound: number;
  simulatedMs: number;
  messages: number;
  /** Messages sent by every node of the cluster per finalized round (`messages` / rounds). */
  messagesPerRound: number;
  /** The simulator's event count (`report.events`: deliveries, state changes, commits, elections). */
  events: number;
  /**
   * XState events per round over the cluster: events delivered to an actor
   * (`eventsCounted: 'xstate'`, see `counters.ts`), or, if they could not be
   * counted, the simulator's `events` per round (`'trace'`).
   */
  eventsPerRound: number;
  eventsCounted: 'xstate' | 'trace';
  /** Invoked (and spawned) child actors started per round over the cluster. */
  invokesPerRound: number;
  /** `events` / rounds. */
  traceEventsPerRound: number;
  /** eventsPerRound × the floor's usPerSend: what XState alone would take for this round's events. */
  floorUsPerRound: number;
  /** usPerRound / floorUsPerRound. */
  ratio: number;
  /**
   * The floor with the invokes too: floorUsPerRound plus invokesPerRound ×
   * (usPerInvoke − usPerSend) (an invoke's done event is already one of the
   * events).
   */
  floorWithInvokesUsPerRound: number;
}

export interface RoundsBench {
  floor: XStateFloor;
  rounds: RoundsBenchRow[];
  memory: IdleMemory;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Finalized rounds per wall-clock second: honest clusters, zero network
 * latency and instant proofs, so what is measured is the engine, the ledger
 * providers, the simulated network and the online checker, not waiting. The
 * trace is off (events are counted, not described or hashed): the run is the
 * same, minus the simulator's bookkeeping.
 */
export async function runRoundsBench(
  sizes: readonly RoundsBenchSize[],
  floor: XStateFloor,
  onRow?: (row: RoundsBenchRow) => void,
): Promise<RoundsBenchRow[]> {
  const rows: RoundsBenchRow[] = [];
  for (const { nodes, rounds, messaging = 'all-to-all' } of sizes) {
    const { result: report, counts } = await countDuring(() =>
      runSimulation({
        nodes,
        byzantine: 0,
        rounds,
        seed: 1,
        latency: { min: 0, max: 0 },
        proofMs: { min: 0, max: 0 },
        trace: false,
        messaging,
      }),
    );
    if (!report.reachedTarget || report.violations.length > 0) {
      throw new Error(`bench run for ${nodes} nodes did not finish cleanly: ${report.stallReason ?? report.violations[0]?.detail}`);
    }
    const finalized = Math.min(...Object.values(report.roundsFinalized));
    let payloads = 0;
    for (const [height, entries] of counts.payloadsByHeight) if (height <= finalized) payloads += entries;
    const usPerRound = (report.wallMs * 1_000) / finalized;
    const traceEventsPerRound = report.events / finalized;
    const eventsPerRound = counts.events === null ? traceEventsPerRound : counts.events / finalized;
    const invokesPerRound = counts.childActors / finalized;
    const floorUsPerRound = eventsPerRound * floor.usPerSend;
    const row: RoundsBenchRow = {
      nodes,
      messaging,
      rounds: finalized,
      wallMs: report.wallMs,
      roundsPerSecond: round((finalized / report.wallMs) * 1000, 1),
      payloadsPerSecond: round((payloads / report.wallMs) * 1000, 1),
      payloadsPerRound: round(payloads / finalized, 2),
      usPerRound: Math.round(usPerRound),
      wallMsPerRound: round(report.wallMs / finalized, 2),
      simulatedMs: report.simulatedMs,
      messages: report.messages.sent,
      messagesPerRound: Math.round(report.messages.sent / finalized),
      events: report.events,
      eventsPerRound: round(eventsPerRound, 1),
      eventsCounted: counts.events === null ? 'trace' : 'xstate',
      invokesPerRound: round(invokesPerRound, 1),
      traceEventsPerRound: round(traceEventsPerRound, 1),
      floorUsPerRound: Math.round(floorUsPerRound),
      ratio: round(usPerRound / floorUsPerRound, 2),
      floorWithInvokesUsPerRound: Math.round(floorUsPerRound + invokesPerRound * Math.max(0, floor.usPerInvoke - floor.usPerSend)),
    };
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

export interface RoundsBenchOptions {
  sizes?: readonly RoundsBenchSize[];
  floor?: FloorOptions;
  /** Idle engines and nodes created for the memory figures (default 200 of each). */
  idle?: number;
  onFloor?: (floor: XStateFloor) => void;
  onRow?: (row: RoundsBenchRow) => void;
}

/**
 * The rounds bench in one process: the XState floor first (before the
 * engine's runs, so XState's paths are compiled for the floor's machine
 * alone), then each cluster size, then the idle memory.
 */
export async function runBench(options: RoundsBenchOptions = {}): Promise<RoundsBench> {
  const floor = await measureXStateFloor(options.floor);
  options.onFloor?.(floor);
  const rounds = await runRoundsBench(options.sizes ?? BENCH_SIZES, floor, options.onRow);
  const memory = await measureIdleMemory(options.idle);
  return { floor, rounds, memory };
}
