import { NodeCluster } from './nodeCluster';
import { BATCH_GAP_MS, expectAgreement, expectHeld, fuzz, FUZZ_TIMEOUT_MS, MESSAGES, report } from '../support/roundFuzz';

/**
 * 100,000 hostile round messages at a running node, round and election
 * (test/support/roundFuzz.ts): n1 of four nodes, n4 the member that talks to
 * n1 alone (its node crashed once the cluster ran). Every refusal is typed
 * and changes nothing, and the three others go on committing the same frames
 * afterwards.
 */

const HONEST = ['n1', 'n2', 'n3'];

const NODE_CONFIG = {
  // n4 is Byzantine here, not only crashed: the cluster must count quorums for one faulty member.
  faultTolerance: 1,
  // As in the engine fuzz: a smaller bound refuses the kit's huge strings without copying a mebibyte each.
  maxValueSize: 64 * 1024,
  // The cluster's own (starting, proving), and attempts of simulated-network length rather than production's seconds.
  timeouts: { starting: 10, proving: 25, attempt: 100, attemptMax: 1_000 },
};

describe('node fuzz: hostile round messages at a running node', () => {
  test(`${MESSAGES.toLocaleString('en')} hostile calls at a node of a running cluster: typed refusals that change nothing, and commits go on`, async () => {
    const cluster = new NodeCluster({ seed: 7, size: 4, nodeConfig: NODE_CONFIG });
    const slowest = () => Math.min(...HONEST.map((name) => cluster.commits.get(name)!.length));
    cluster.bootAll();
    await cluster.advanceUntil(() => slowest() >= 2, 5_000);
    // n4 leaves before the fuzzing, and the others get past the leader change it may cause: provers fed by
    // each node's own view of the election differ between nodes around one, which this app cannot ride out.
    cluster.crash('n4');
    const crashedAt = slowest();
    await cluster.advanceUntil(() => slowest() >= crashedAt + 2, 10_000);
    const before = slowest();
    const node = cluster.node('n1');

    const cast = { members: cluster.names, faulty: 'n4' };
    const tally = await fuzz(node, cast, () => node.roundActor.getSnapshot(), () => cluster.advance(BATCH_GAP_MS));
    const during = slowest();
    const reached = await cluster
      .advanceUntil(() => slowest() >= during + 20, 20_000)
      .then(() => true)
      .catch(() => false);
    console.log(report('node fuzz', tally, before, during, slowest()));

    expectHeld(tally);
    expect(reached).toBe(true);
    expectAgreement(HONEST.map((name) => cluster.commits.get(name)!.map((commit) => commit.hash)));
    await cluster.stopAll();
  }, FUZZ_TIMEOUT_MS);
});
