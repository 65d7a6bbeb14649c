// Linear messaging in the simulator: an aggregator that crashes or lies
// costs its attempt, never safety or liveness, and the messages really fall.
import { resolveOptions, SimulationOptionsError } from '../../simulator/options';
import { replayCommand } from '../../simulator/replay';
import { runSimulation } from '../../simulator/runSimulation';
import type { EventTrace, TraceEvent } from '../../simulator/EventTrace';
import type { SimulationOptions } from '../../simulator/options';
import type { SimulationReport } from '../../simulator/runSimulation';

async function traced(options: Partial<SimulationOptions>): Promise<{ report: SimulationReport; events: readonly TraceEvent[] }> {
  let trace: EventTrace | null = null;
  const report = await runSimulation({ messaging: 'linear', keepTrace: true, ...options }, { onTrace: (kept) => (trace = kept) });
  return { report, events: (trace as unknown as EventTrace).all() };
}

/** Ranks some honest node left attempt 0 of. */
function ranksPastAttemptZero(events: readonly TraceEvent[]): Set<number> {
  const ranks = new Set<number>();
  for (const { type, detail } of events) {
    const moved = /rank (\d+) attempt 0 -> 1/.exec(detail);
    if (type === 'attempt' && moved !== null) ranks.add(Number(moved[1]));
  }
  return ranks;
}

/** Ranks whose attempt-0 proposal from `prover` an honest node accepted. */
function proposedBy(events: readonly TraceEvent[], prover: string): Set<number> {
  const ranks = new Set<number>();
  for (const { type, detail } of events) {
    const proposal = new RegExp(`^${prover}→n\\d+ proposal r(\\d+) \\S+ accepted$`).exec(detail);
    if (type === 'deliver' && proposal !== null) ranks.add(Number(proposal[1]));
  }
  return ranks;
}

describe('linear messaging in the simulator', () => {
  it('rides out an aggregator that crashes once the votes for its proposal are on their way', async () => {
    // n1 alone proves height 1; it proposes, then crashes at 150 ms, before a quorum of votes reaches it.
    const { report, events } = await traced({
      nodes: 4,
      byzantine: 0,
      rounds: 8,
      seed: 3,
      proversPerRank: 1,
      crashes: [{ node: 'n1', at: 150, restartAt: 2_150 }],
    });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(proposedBy(events, 'n1').has(1)).toBe(true);
    const lostVotes = events.filter(({ type, detail }) => type === 'drop' && /^n\d→n1 vote r1 .*\(detached\)$/.test(detail));
    expect(lostVotes.length).toBeGreaterThan(0);
    expect(events.some(({ detail }) => /^n1→n\d lock_proof r1 /.test(detail))).toBe(false);
    // The attempt timed out and the next proposer aggregated rank 1.
    expect(ranksPastAttemptZero(events).has(1)).toBe(true);
    expect(events.some(({ type, detail }) => type === 'deliver' && /^n0→n\d lock_proof r1 3 voters accepted$/.test(detail))).toBe(true);
  });

  it.each(['partial', 'split-commit', 'equivocate'] as const)('rides out a Byzantine aggregator (%s) that never assembles the votes it is sent', async (behaviour) => {
    const { report, events } = await traced({ nodes: 4, byzantine: 1, behaviour, rounds: 8, seed: 2, proversPerRank: 1 });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const [byzantine] = report.byzantineNodes;
    // Heights whose only prover was the Byzantine node, whose proposal honest nodes took, and which a later attempt committed.
    const taken = [...proposedBy(events, byzantine)].filter((rank) => ranksPastAttemptZero(events).has(rank));
    expect(taken.length).toBeGreaterThan(0);
    expect(events.some(({ detail }) => new RegExp(`^${byzantine}→n\\d+ (lock_proof|certificate) `).test(detail))).toBe(false);
  });

  it('rides out aggregators that send their proofs to some members only, or to nobody', async () => {
    // n1 and n2 (f = 2 of 7) keep every lock proof and certificate they assemble from n4, n5 and n6; n3 withholds them from all.
    const favoured = new Set(['n0', 'n1', 'n2', 'n3']);
    const omitted: string[] = [];
    const report = await runSimulation(
      { nodes: 7, byzantine: 0, rounds: 12, seed: 11, messaging: 'linear', dropRate: 0.02 },
      {
        omitRound: (from, to, message) => {
          if (message.kind !== 'lock_proof' && message.kind !== 'certificate') return false;
          const omits = from === 'n3' || ((from === 'n1' || from === 'n2') && !favoured.has(to));
          if (omits) omitted.push(`${from}→${to} ${message.kind}`);
          return omits;
        },
      },
    );
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(omitted.some((what) => what.startsWith('n3→'))).toBe(true);
    expect(omitted.some((what) => /^n[12]→n[456] lock_proof$/.test(what))).toBe(true);
  });

  it('sends fewer messages than all-to-all for the same run, and commits the same heights safely', async () => {
    const run = (messaging: 'all-to-all' | 'linear') =>
      runSimulation({ nodes: 7, byzantine: 0, rounds: 10, seed: 5, latency: { min: 5, max: 20 }, trace: false, messaging });
    const all = await run('all-to-all');
    const linear = await run('linear');
    for (const report of [all, linear]) {
      expect(report.violations).toEqual([]);
      expect(report.reachedTarget).toBe(true);
    }
    // Liveness announcements and proposals still go to everyone: about half the messages of a round are saved at n = 7.
    expect(linear.messages.sent).toBeLessThan(0.75 * all.messages.sent);
  });

  it('is an option the replay command carries, and refused with a broken round-change rule (no keys there)', () => {
    const options = resolveOptions({ nodes: 4, messaging: 'linear' });
    expect(replayCommand(options)).toContain('--messaging linear');
    expect(replayCommand(resolveOptions({ nodes: 4 }))).not.toContain('--messaging');
    expect(() => resolveOptions({ messaging: 'linear', unsafeRule: 'ignore-locks' })).toThrow(SimulationOptionsError);
    expect(() => resolveOptions({ messaging: 'linear', unsafeRule: 'ignore-locks' })).toThrow('linear messaging needs signed engines');
    expect(() => resolveOptions({ messaging: 'gossip' as never })).toThrow('--messaging must be all-to-all or linear, got "gossip"');
  });
});
