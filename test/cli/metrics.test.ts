import { EXIT } from '../../cli/program';
import { cli } from './harness';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

function total(all: Sample[], name: string, labels: Record<string, string>): number {
  return all
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

interface NodeRow {
  name: string;
  byzantine: string | null;
  transitions: number;
  crashes: number;
  election: { term: number } | null;
}

describe('simulate --metrics', () => {
  it('prints every honest node’s metrics after the report, in one exposition told apart by a node label', async () => {
    const { code, stdout } = await cli('simulate', '--rounds', '4', '--seed', '3', '--metrics');
    expect(code).toBe(EXIT.ok);
    const at = stdout.indexOf('\n# HELP ');
    expect(at).toBeGreaterThan(0);
    const [report, exposition] = [stdout.slice(0, at), stdout.slice(at + 1)];
    expect(report).toMatch(/^SAFE: 3 honest nodes finalized 4\+ heights/m);
    for (const name of ['consensus_rounds_total', 'consensus_commit_latency_seconds', 'consensus_term', 'consensus_role_transitions_total']) {
      expect(exposition.match(new RegExp(`^# TYPE ${name} `, 'gm'))).toHaveLength(1);
    }
    const nodes = new Set(samples(exposition).map((sample) => sample.labels.node));
    // n2 is the Byzantine node: it runs no engine of ours.
    expect([...nodes].sort()).toEqual(['n0', 'n1', 'n3']);
  });

  it('--json carries them as the report’s metrics field; they agree with the report, across a crash and restart', async () => {
    const argv = ['simulate', '--byzantine', '0', '--rounds', '8', '--seed', '4', '--latency', '2-10', '--crash', 'n1@300-900', '--json'];
    const { code, stdout } = await cli(...argv, '--metrics');
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout) as { metrics: string; perNode: NodeRow[]; elections: { leaderships: unknown[] }; attempts: { committed: number } };
    const all = samples(report.metrics);
    const n1 = report.perNode.find((node) => node.name === 'n1')!;
    expect(n1.crashes).toBe(1);
    for (const node of report.perNode) {
      // Every incarnation's transitions, as the report counts them.
      expect(total(all, 'consensus_state_transitions_total', { node: node.name })).toBe(node.transitions);
      expect(total(all, 'consensus_term', { node: node.name })).toBe(node.election!.term);
      expect(total(all, 'consensus_rounds_total', { node: node.name })).toBe(total(all, 'consensus_attempts_per_rank_count', { node: node.name }));
      expect(total(all, 'consensus_rounds_total', { node: node.name })).toBeGreaterThan(0);
    }
    // A restarted node starts its election again from stopped.
    expect(total(all, 'consensus_role_transitions_total', { node: 'n1', from_role: 'stopped' })).toBe(2);
    // At most one leader a term: every leadership is one node's move to leader.
    expect(total(all, 'consensus_role_transitions_total', { to_role: 'leader' })).toBe(report.elections.leaderships.length);

    // Metering changes nothing of the run.
    const without = JSON.parse((await cli(...argv)).stdout) as Record<string, unknown>;
    expect(without).not.toHaveProperty('metrics');
    expect(without.traceDigest).toBe((report as unknown as Record<string, unknown>).traceDigest);
  });

  it('is refused with --sweep, where it would have no effect', async () => {
    expect(await cli('simulate', '--sweep', '2', '--metrics')).toEqual({
      code: EXIT.usage,
      stdout: '',
      stderr:
        'error: --metrics has no effect with --sweep: each run draws its cluster, Byzantine nodes and faults from its seed (only --seed, --rounds, --json and --messaging apply)\n',
    });
  });
});
