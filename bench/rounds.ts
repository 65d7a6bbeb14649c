import { runSimulation } from '../simulator/runSimulation';

/** Rounds per cluster size: enough for a steady rate, few enough to finish in seconds. */
export const BENCH_SIZES: readonly { nodes: number; rounds: number }[] = [
  { nodes: 4, rounds: 400 },
  { nodes: 7, rounds: 200 },
  { nodes: 16, rounds: 60 },
  { nodes: 64, rounds: 6 },
];

export interface RoundsBenchRow {
  nodes: number;
  rounds: number;
  wallMs: number;
  roundsPerSecond: number;
  wallMsPerRound: number;
  simulatedMs: number;
  messages: number;
  events: number;
}

/**
 * Finalized rounds per wall-clock second: honest clusters, zero network
 * latency and instant proofs, so what is measured is the engine, the ledger
 * providers, the simulated network and the online checker, not waiting.
 */
export async function runRoundsBench(
  sizes: readonly { nodes: number; rounds: number }[] = BENCH_SIZES,
  onRow?: (row: RoundsBenchRow) => void,
): Promise<RoundsBenchRow[]> {
  const rows: RoundsBenchRow[] = [];
  for (const { nodes, rounds } of sizes) {
    const report = await runSimulation({
      nodes,
      byzantine: 0,
      rounds,
      seed: 1,
      latency: { min: 0, max: 0 },
      proofMs: { min: 0, max: 0 },
    });
    if (!report.reachedTarget || report.violations.length > 0) {
      throw new Error(`bench run for ${nodes} nodes did not finish cleanly: ${report.stallReason ?? report.violations[0]?.detail}`);
    }
    const finalized = Math.min(...Object.values(report.roundsFinalized));
    const row: RoundsBenchRow = {
      nodes,
      rounds: finalized,
      wallMs: report.wallMs,
      roundsPerSecond: Math.round((finalized / report.wallMs) * 1000 * 10) / 10,
      wallMsPerRound: Math.round((report.wallMs / finalized) * 100) / 100,
      simulatedMs: report.simulatedMs,
      messages: report.messages.sent,
      events: report.events,
    };
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}
