import fc from 'fast-check';
import { ConsensusInputError } from '../../index';
import { TestCluster } from '../support/cluster';
import { BATCH_GAP_MS, expectAgreement, expectHeld, fuzz, FUZZ_TIMEOUT_MS, MESSAGES, report, SEED, validCall } from '../support/roundFuzz';
import { advance, advanceUntil } from '../support/time';

/**
 * 100,000 hostile round messages at a running engine (test/support/roundFuzz.ts):
 * n0 of four engines, n3 the Byzantine member that talks to n0 alone (its
 * engine is never started). Every refusal is typed and changes nothing, and
 * the three honest engines go on committing the same frames afterwards.
 */

const HONEST = ['n0', 'n1', 'n2'];

/** Four members, three provers a rank in turn; two live provers suffice, as n3 never proves. */
function engineCluster(): TestCluster {
  const cluster = new TestCluster({
    nodes: 4,
    provers: (height) => ['n0', 'n1', 'n2', 'n3'].map((_, i, all) => all[(i + height) % 4]).slice(0, 3),
    minimumProvers: 2,
    // A value of up to a mebibyte is copied in full before it is refused (JSON's cost, per byte): a smaller
    // bound keeps the kit's huge strings from making this a benchmark of JSON. Attempts of simulated-network
    // length rather than production's seconds, so the round changes n3's forgeries cause pass quickly.
    engineConfig: { maxValueSize: 64 * 1024, timeouts: { starting: 10, attempt: 100, attemptMax: 1_000 } },
  });
  for (const name of HONEST) cluster.engine(name).start();
  return cluster;
}

const slowest = (cluster: TestCluster) => Math.min(...HONEST.map((name) => cluster.commits.get(name)!.length));

describe('engine fuzz: hostile round messages at a running engine', () => {
  test(`${MESSAGES.toLocaleString('en')} hostile calls at an engine of a running cluster: typed refusals that change nothing, and commits go on`, async () => {
    const cluster = engineCluster();
    await advanceUntil(cluster.clock, () => slowest(cluster) >= 2, 5_000);
    const before = slowest(cluster);
    const engine = cluster.engine('n0');

    const cast = { members: cluster.names, faulty: 'n3' };
    const tally = await fuzz(engine, cast, () => engine.actor.getSnapshot(), () => advance(cluster.clock, BATCH_GAP_MS));
    const during = slowest(cluster);
    const reached = await advanceUntil(cluster.clock, () => slowest(cluster) >= during + 20, 20_000)
      .then(() => true)
      .catch(() => false);
    console.log(report('engine fuzz', tally, before, during, slowest(cluster)));

    expectHeld(tally);
    expect(reached).toBe(true);
    expectAgreement(HONEST.map((name) => cluster.commits.get(name)!.map((frame) => frame.hash)));
    await cluster.stopAll();
  }, FUZZ_TIMEOUT_MS);

  test('the calls the hostile ones start from are valid: a running engine refuses them only for where they stand, never as malformed or from a stranger', async () => {
    const cluster = engineCluster();
    await advanceUntil(cluster.clock, () => slowest(cluster) >= 2, 5_000);
    const engine = cluster.engine('n0');
    const codes = new Map<string, number>();
    let accepted = 0;
    const calls = fc.sample(validCall(engine.getActiveRank(), { members: cluster.names, faulty: 'n3' }), { numRuns: 2_000, seed: SEED });
    for (const { method, args } of calls) {
      try {
        (engine[method] as (...args: unknown[]) => unknown)(...args.map((arg) => arg.make()));
        accepted += 1;
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    expect(codes.get('malformed') ?? 0).toBe(0);
    expect(codes.get('not_member') ?? 0).toBe(0);
    expect(accepted).toBeGreaterThan(200);
    // The faulty member signs alone: a certificate or a lock proof of its own is always short of a quorum.
    expect(codes.get('short_of_quorum') ?? 0).toBeGreaterThan(100);
    await cluster.stopAll();
  });
});
