import type { SimulationReport } from '../../simulator/report';

/**
 * What the live view says of a finished run: the parts of `simulate`'s
 * report that identify it, so a viewer can set it beside `simulate --json`
 * with the same options.
 */
export interface RunOutcome {
  verdict: 'reached' | 'violation' | 'stalled';
  seed: number;
  rounds: number;
  roundsFinalized: Record<string, number>;
  /** Per honest node, the hash of its last finalized frame. */
  digests: Record<string, string | null>;
  traceDigest: string;
  events: number;
  simulatedMs: number;
  violations: string[];
  stallReason: string | null;
  replay: string;
  /** Faults set by hand from the page, e.g. `partition n3 at 1204 ms`: with any, `replay` does not replay this run. */
  changedByHand: string[];
}

export function runOutcome(report: SimulationReport, changedByHand: readonly string[] = []): RunOutcome {
  return {
    verdict: report.violations.length > 0 ? 'violation' : report.reachedTarget ? 'reached' : 'stalled',
    seed: report.seed,
    rounds: report.rounds,
    roundsFinalized: report.roundsFinalized,
    digests: Object.fromEntries(report.perNode.filter((node) => node.byzantine === null).map((node) => [node.name, node.digest])),
    traceDigest: report.traceDigest,
    events: report.events,
    simulatedMs: report.simulatedMs,
    violations: report.violations.map((violation) => `${violation.kind} at ${violation.rank}: ${violation.detail}`),
    stallReason: report.stallReason,
    replay: report.replay,
    changedByHand: [...changedByHand],
  };
}
