import type { SimulationReport } from '../simulator/runSimulation';
import type { SweepSummary } from '../simulator/sweep';
import type { TraceEvent } from '../simulator/EventTrace';
import type { RoundsBenchRow } from '../bench/rounds';

/** Left-aligned text columns, numbers right-aligned; no dependency, no colour. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n') + '\n';
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function refusedSummary(refused: Record<string, number>): string {
  const entries = Object.entries(refused);
  return entries.length === 0 ? '-' : entries.map(([code, count]) => `${code} ${count}`).join(', ');
}

export function nodeTable(report: SimulationReport): string {
  return table(
    ['node', 'role', 'finalized', 'digest', 'transitions', 'provider errors', 'crashes', 'refused messages'],
    report.perNode.map((node) => [
      node.name,
      node.byzantine === null ? 'honest' : `byzantine (${node.byzantine})`,
      node.roundsFinalized,
      node.digest ?? '-',
      node.transitions,
      node.providerErrors,
      node.crashes,
      refusedSummary(node.refused),
    ]),
  );
}

export function traceLines(events: readonly TraceEvent[]): string {
  return events.map((event) => `  #${event.seq} ${String(event.at).padStart(7)} ms  ${event.type.padEnd(10)} ${event.detail}`).join('\n') + '\n';
}

/** The one-line verdict: what the run showed, and for a failure how to replay it. */
export function verdict(report: SimulationReport): string {
  const honest = report.perNode.filter((node) => node.byzantine === null);
  const time = `${seconds(report.simulatedMs)} simulated, ${seconds(report.wallMs)} wall`;
  const [violation] = report.violations;
  if (violation !== undefined) {
    return `UNSAFE: ${violation.kind} violated at height ${violation.rank} (${violation.nodes.join(', ')}) after ${violation.at} ms; seed ${report.seed}; replay: ${report.replay}`;
  }
  if (report.stalled) {
    return `STALLED (liveness, agreement held): ${report.stallReason}; ${time}; seed ${report.seed}; replay: ${report.replay}`;
  }
  const digests = new Set(honest.map((node) => node.digest));
  const min = Math.min(...honest.map((node) => node.roundsFinalized));
  return `SAFE: ${honest.length} honest node${honest.length === 1 ? '' : 's'} finalized ${min}+ heights and agree${
    digests.size === 1 ? ` (digest ${[...digests][0]})` : ' on every common height'
  }, ${report.byzantine} Byzantine (${report.behaviour}); ${time}`;
}

export function humanReport(report: SimulationReport): string {
  let text = nodeTable(report);
  const [violation] = report.violations;
  if (violation !== undefined) {
    text += `\n${violation.kind}: ${violation.detail}\nlast ${violation.trace.length} events:\n${traceLines(violation.trace)}`;
  }
  return `${text}\n${verdict(report)}\n`;
}

export function sweepReport(summary: SweepSummary): string {
  const rows = summary.results
    .filter((run) => run.violations.length > 0 || (run.stalled && !run.mayStall))
    .map((run) => [run.seed, run.violations[0]?.kind ?? 'stall', run.violations[0]?.detail ?? run.stallReason ?? '', run.replay]);
  let text = `${summary.runs} runs (seeds ${summary.firstSeed}–${summary.firstSeed + summary.runs - 1}, ${summary.rounds} heights each): ` +
    `${summary.violations} safety violations, ${summary.reachedTarget} reached the target, ` +
    `${summary.expectedStalls} stalled under an equivocating node (round change is SPEC §2.8), ` +
    `${summary.unexpectedStalls} stalled otherwise; fault-free ${summary.faultFreeReached}/${summary.faultFreeRuns} reached; ${seconds(summary.wallMs)} wall\n`;
  if (rows.length > 0) text += `\nfailures:\n${rows.map((row) => `  seed ${row[0]}: ${row[1]}: ${row[2]}\n    replay: ${row[3]}`).join('\n')}\n`;
  const ok = summary.violations === 0 && summary.unexpectedStalls === 0;
  return `${text}${ok ? 'SWEEP PASSED' : 'SWEEP FAILED'}\n`;
}

export function benchTable(rows: readonly RoundsBenchRow[]): string {
  return table(
    ['nodes', 'rounds', 'wall ms', 'rounds/s', 'wall ms/round', 'messages', 'events'],
    rows.map((row) => [row.nodes, row.rounds, row.wallMs, row.roundsPerSecond, row.wallMsPerRound, row.messages, row.events]),
  );
}
