import type { PayloadBenchResult } from '../bench/payloads';
import type { FloodBenchResult } from '../bench/flood';
import type { SimulationReport } from '../simulator/runSimulation';
import type { SweepSummary } from '../simulator/sweep';
import type { TraceEvent } from '../simulator/EventTrace';
import type { LeaderWindow } from '../simulator/LeaderLiveness';
import type { SkippedCrash } from '../simulator/options';
import type { RoundsBench } from '../bench/rounds';
import type { ElectionCost, FailoverRow } from '../bench/failover';

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

/** Role: the election role of an honest node at the end (or `down`), or its Byzantine behaviour. */
export function nodeTable(report: SimulationReport): string {
  return table(
    ['node', 'role', 'term', 'leader', 'leader changes', 'finalized', 'digest', 'transitions', 'provider errors', 'crashes', 'refused messages'],
    report.perNode.map((node) => [
      node.name,
      node.election === null ? `byzantine (${node.byzantine})` : node.election.role,
      node.election?.term ?? '-',
      node.election === null ? '-' : (node.election.leader ?? 'none'),
      node.election?.leaderChanges ?? '-',
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

/** Most leaderships the summary names one by one; longer histories are elided in the middle. */
const LEADERSHIPS_SHOWN = 6;

function windowOutcome(window: LeaderWindow, boundMs: number): string {
  if (window.outcome === 'converged') {
    return `${window.leaderAfter} led after ${window.ms} ms (${window.withinBound ? 'within' : 'over'} the ${boundMs} ms bound)`;
  }
  if (!window.quorum) return 'no leader possible: no connected majority';
  if (window.outcome === 'late') return `no leader everyone followed (${window.cause})`;
  return `not measured (${window.cause})`;
}

/**
 * A crash that did not happen. The usual cause is `leader@AT` before the
 * first election ended: the first leader's time tells what AT would work.
 */
function skippedCrashLine(skip: SkippedCrash, firstLeaderMs: number | null): string {
  const spec = `${skip.node}@${skip.at}${skip.restartAt === null ? '' : `-${skip.restartAt}`}`;
  const cause =
    skip.reason === 'no_leader'
      ? `no node led at ${skip.at} ms${firstLeaderMs !== null && firstLeaderMs > skip.at ? ` (the first leader everyone followed came at ${firstLeaderMs} ms)` : ''}`
      : `${skip.node} was already down at ${skip.at} ms`;
  return `crash skipped: ${spec}: ${cause}; nothing crashed${skip.restartAt === null ? '' : ' and nothing restarted'}`;
}

/**
 * What the election did: terms and leaders, then one line per failover
 * (a leader crashed) and per heal (a partition ended) with the time until
 * every connected honest node followed one leader again.
 */
export function electionSummary(report: SimulationReport): string {
  const { elections } = report;
  const all = elections.leaderships.map((l) => `${l.leader} (term ${l.term})`);
  const shown = all.length <= LEADERSHIPS_SHOWN ? all : [...all.slice(0, 2), '…', ...all.slice(-(LEADERSHIPS_SHOWN - 3))];
  const changes = `${elections.leaderChanges} leader change${elections.leaderChanges === 1 ? '' : 's'}`;
  const first = elections.firstLeaderMs === null ? 'no leader everyone followed yet' : `first leader after ${elections.firstLeaderMs} ms`;
  const lines = [
    `elections: max term ${elections.maxTerm}; leaders ${shown.length === 0 ? 'none' : shown.join(' → ')}; ${changes}; ${first}`,
    ...elections.failovers.map((window) => `failover: ${window.leaderBefore} crashed at ${window.at} ms, ${windowOutcome(window, elections.boundMs)}`),
    ...elections.heals.map((window) => `heal: at ${window.at} ms, ${windowOutcome(window, elections.boundMs)}`),
    ...report.skippedCrashes.map((skip) => skippedCrashLine(skip, elections.firstLeaderMs)),
  ];
  return lines.join('\n') + '\n';
}

/**
 * What log matching checked of the honest commit logs, e.g. `logs match: 297
 * entries, 297 certificates verified, 1 gap (25 ranks missing), 12 filled in from peers after a sync`.
 */
export function logMatchingPhrase(report: SimulationReport): string {
  const { entries, signed, certificatesVerified, gaps, skippedRanks, filled } = report.logMatching;
  const certificates = signed
    ? `${certificatesVerified} certificate${certificatesVerified === 1 ? '' : 's'} verified`
    : 'no certificates (engines without keys)';
  const skipped = gaps === 0 ? '0 gaps' : `${gaps} gap${gaps === 1 ? '' : 's'} (${skippedRanks} rank${skippedRanks === 1 ? '' : 's'} missing)`;
  const caughtUp = filled > 0 ? `, ${filled} filled in from peers after a sync` : '';
  return `logs match: ${entries} entr${entries === 1 ? 'y' : 'ies'}, ${certificates}, ${skipped}${caughtUp}`;
}

/** The one-line verdict: what the run showed, and for a failure how to replay it. */
export function verdict(report: SimulationReport): string {
  const honest = report.perNode.filter((node) => node.byzantine === null);
  const time = `${seconds(report.simulatedMs)} simulated, ${seconds(report.wallMs)} wall`;
  const [violation] = report.violations;
  if (violation !== undefined) {
    const where = violation.term === undefined ? `at height ${violation.rank}` : `in term ${violation.term}`;
    return `UNSAFE: ${violation.kind} violated ${where} (${violation.nodes.join(', ')}) after ${violation.at} ms; seed ${report.seed}; replay: ${report.replay}`;
  }
  if (report.stalled) {
    return `STALLED (liveness, agreement held): ${report.stallReason}; ${time}; seed ${report.seed}; replay: ${report.replay}`;
  }
  if (report.rounds === 0) {
    return `SAFE: ${honest.length} honest node${honest.length === 1 ? '' : 's'} follow ${report.elections.leader} in term ${report.elections.maxTerm} (election only, no heights); ${time}`;
  }
  const digests = new Set(honest.map((node) => node.digest));
  const min = Math.min(...honest.map((node) => node.roundsFinalized));
  return `SAFE: ${honest.length} honest node${honest.length === 1 ? '' : 's'} finalized ${min}+ heights and agree${
    digests.size === 1 ? ` (digest ${[...digests][0]})` : ' on every common height'
  }, ${report.byzantine} Byzantine (${report.behaviour}); ${logMatchingPhrase(report)}${proposalsPhrase(report)}; ${time}`;
}

/** With clients: how their proposals settled, e.g. `; proposals: 58 committed, 0 aborted, 2 expired`. */
function proposalsPhrase(report: SimulationReport): string {
  if (report.proposals === undefined) return '';
  const { committed, aborted, expired } = report.proposals;
  return `; proposals: ${committed} committed, ${aborted} aborted, ${expired} expired`;
}

export function humanReport(report: SimulationReport): string {
  let text = nodeTable(report);
  const [violation] = report.violations;
  if (violation !== undefined) {
    text += `\n${violation.kind}: ${violation.detail}\nlast ${violation.trace.length} events:\n${traceLines(violation.trace)}`;
  }
  return `${text}\n${electionSummary(report)}${attemptSummary(report)}${verdict(report)}\n`;
}

/** Attempts needed per committed rank, e.g. `1×96 2×3 3×1`. */
export function attemptHistogram(perRank: Readonly<Record<string, number>>): string {
  return Object.entries(perRank)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([needed, ranks]) => `${needed}×${ranks}`)
    .join(' ');
}

/** How many ranks needed round change (SPEC §2.8), and the attempts distribution. */
export function attemptSummary(report: SimulationReport): string {
  const { attempts } = report;
  if (attempts.committed === 0) return '';
  return (
    `round change: ${attempts.roundChanges} of ${attempts.committed} committed ranks needed more than one attempt ` +
    `(attempts per rank: ${attemptHistogram(attempts.perRank)})\n`
  );
}

export function sweepReport(summary: SweepSummary): string {
  const rows = summary.results
    .filter((run) => run.violations.length > 0 || run.stalled)
    .map((run) => [run.seed, run.violations[0]?.kind ?? 'stall', run.violations[0]?.detail ?? run.stallReason ?? '', run.replay]);
  let text = `${summary.runs} runs (seeds ${summary.firstSeed}–${summary.firstSeed + summary.runs - 1}, ${summary.rounds} heights each): ` +
    `${summary.violations} safety violations, ${summary.reachedTarget} reached the target, ` +
    `${summary.stalls} stalled; fault-free ${summary.faultFreeReached}/${summary.faultFreeRuns} reached; ` +
    `attempts per rank ${attemptHistogram(summary.attemptsPerRank)}; ${seconds(summary.wallMs)} wall\n`;
  if (rows.length > 0) text += `\nfailures:\n${rows.map((row) => `  seed ${row[0]}: ${row[1]}: ${row[2]}\n    replay: ${row[3]}`).join('\n')}\n`;
  const ok = summary.violations === 0 && summary.stalls === 0;
  return `${text}${ok ? 'SWEEP PASSED' : 'SWEEP FAILED'}\n`;
}

const GC_NOTE: Record<RoundsBench['memory']['gc'], string> = {
  'expose-gc': 'heap read after forced collections',
  runtime: 'no --expose-gc: collections forced through a flag set at run time',
  none: 'no --expose-gc and no way to collect: heap deltas include garbage, an estimate',
};

/**
 * The rounds bench: per cluster size the engine's µs per round beside the
 * XState floor for the same events, then the floor and the idle memory.
 */
export function benchLines(bench: RoundsBench): string {
  const { floor, rounds, memory } = bench;
  const counted = rounds.every((row) => row.eventsCounted === 'xstate');
  const rows = table(
    ['nodes', 'messaging', 'rounds', 'wall ms', 'rounds/s', 'payloads/s', 'µs/round', 'events/round', 'invokes/round', 'floor µs/round', 'ratio', 'floor+invokes µs/round', 'messages', 'messages/round'],
    rounds.map((row) => [
      row.nodes,
      row.messaging,
      row.rounds,
      row.wallMs,
      row.roundsPerSecond,
      row.payloadsPerSecond,
      row.usPerRound,
      row.eventsPerRound,
      row.invokesPerRound,
      row.floorUsPerRound,
      row.ratio,
      row.floorWithInvokesUsPerRound,
      row.messages,
      row.messagesPerRound,
    ]),
  );
  return (
    rows +
    `\nXState floor: ${floor.usPerSend} µs per send (a transition with an assign), ${floor.usPerInvoke} µs per invoked fromPromise actor (spawn, resolve, done event)\n` +
    `floor µs/round = events/round × µs per send; ratio = µs/round ÷ floor µs/round; floor+invokes adds invokes/round × (µs per invoke − µs per send)\n` +
    (counted
      ? 'events/round: XState events delivered to state machines over the cluster (raised events not counted); invokes/round: child actors started\n'
      : "events/round: the simulator's event count (XState's could not be counted here); invokes/round: child actors started\n") +
    `memory: ${memory.idleNodeBytes} bytes per idle node, ${memory.idleEngineBytes} bytes per idle engine (${memory.count} of each; ${GC_NOTE[memory.gc]})\n`
  );
}

const ms = (value: number | null) => (value === null ? '-' : value);

export function failoverTable(rows: readonly FailoverRow[]): string {
  return table(
    ['nodes', 'seeds', 'failovers', 'no leader to crash', 'p50 ms', 'p99 ms', 'max ms', 'mean ms', 'within bound', 'wall ms'],
    rows.map((row) => [
      row.nodes,
      row.seeds,
      row.failovers,
      row.noLeaderToCrash,
      ms(row.p50),
      ms(row.p99),
      ms(row.max),
      ms(row.mean),
      `${(row.withinBound * 100).toFixed(1)} % of ${row.boundMs} ms`,
      row.wallMs,
    ]),
  );
}

export function electionCostLines(cost: ElectionCost): string {
  return (
    `heartbeat: ${cost.usPerHeartbeat} µs through a follower's election actor, ${cost.usPerHeartbeatViaNode} µs through a node (${cost.heartbeats} heartbeats, wall clock)\n` +
    `memory: ${cost.bytesPerElectionActor} bytes per idle election actor, ${cost.bytesPerNode} bytes per idle node (round + election), over ${cost.actors} of each (${cost.memory})\n`
  );
}

/** The flood bench: per phase, µs per message first and last, heap growth, and what the engine held against its bound. */
export function floodLines(result: FloodBenchResult): string {
  const lines = ['phase       first µs/msg  last µs/msg  ratio  heap growth  held (bound)  outcomes'];
  for (const phase of ['strangers', 'members'] as const) {
    const rows = result.rows.filter((row) => row.phase === phase);
    const outcomes = Object.entries(result.outcomes[phase]).map(([code, n]) => `${code} ${n}`).join(', ');
    lines.push(
      `${phase.padEnd(10)}  ${String(rows[0].usPerMessage).padStart(12)}  ${String(rows.at(-1)!.usPerMessage).padStart(11)}  ${String(result.costRatio[phase]).padStart(5)}  ${`${result.heapGrowthMB[phase]} MB`.padStart(11)}  ${`${Math.max(...rows.map((row) => row.held))} (${result.bound})`.padStart(12)}  ${outcomes}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function payloadLines(result: PayloadBenchResult): string {
  const { signing } = result;
  const r = (x: number, digits = 1) => x.toFixed(digits);
  const lines = [
    `Ed25519 (node:crypto): sign ${r(signing.usPerSign)} µs, verify ${r(signing.usPerVerify)} µs, verdict already cached ${r(signing.usPerCachedVerify, 2)} µs`,
    'certificate verified by an outsider (nothing cached):',
    ...signing.certificates.map((c) => `  n = ${String(c.n).padStart(2)}: ${c.signers} signatures, ${c.bytes} bytes of JSON, ${r(c.usPerVerify / 1000, 2)} ms`),
    '',
    'keys  batch  payloads  ranks  wall ms  payloads/s  ranks/s  latency p50/p99 ms  signs/node/rank  verifies/rank  sign+verify µs/rank',
  ];
  for (const row of result.rows) {
    const cryptoUs = row.signsPerNodePerRank * row.size * signing.usPerSign + row.verifiesPerRank * signing.usPerVerify;
    lines.push(
      `${(row.signed ? 'yes' : 'no').padEnd(4)}  ${String(row.maxBatch).padStart(5)}  ${String(row.payloads).padStart(8)}  ${String(row.ranks).padStart(5)}  ${r(row.wallMs, 0).padStart(7)}  ${r(row.payloadsPerSecond, 0).padStart(10)}  ${r(row.ranksPerSecond, 0).padStart(7)}  ${`${row.latencyMs.p50}/${row.latencyMs.p99}`.padStart(18)}  ${r(row.signsPerNodePerRank, 2).padStart(15)}  ${r(row.verifiesPerRank, 1).padStart(13)}  ${r(cryptoUs, 0).padStart(19)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
