import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import type { TraceLogger } from '../../providers/trace';
import { changeIn, disagreements, idsOf, track } from './support';

const W = DEFAULT_RANK_WINDOW;

/** A cluster whose nodes each keep what their trace logger was told about membership. */
function observed(options: { size: number; founders: number; faultTolerance?: number }) {
  const told = new Map<string, string[]>();
  const logger = (name: string): TraceLogger => {
    told.set(name, []);
    const keep = (message: string) => {
      if (message.startsWith('membership:')) told.get(name)!.push(message);
    };
    return { trace: keep, warn: keep, error: () => {} };
  };
  const cluster: PayloadCluster = payloadCluster({
    ...options,
    leaders: 'membership',
    engineConfig: (name) => ({
      membershipChangeIn: changeIn((id) => cluster.publicKey(id)),
      traceLogger: logger(name),
      ...(options.faultTolerance === undefined ? {} : { faultTolerance: options.faultTolerance }),
    }),
  });
  return { cluster, told };
}

/** Proposes `payload` through n0 and runs until it commits; its index. */
async function commit(cluster: PayloadCluster, payload: string): Promise<number> {
  const outcome = track(cluster.engine('n0').propose(payload));
  expect(await cluster.runUntil(() => outcome.done)).toBe(true);
  expect(outcome.value?.outcome).toBe('committed');
  return outcome.value!.outcome === 'committed' ? outcome.value!.index : NaN;
}

describe('invalid membership changes are ignored, the same way on every node', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('adding a member, removing a non-member, a malformed change, a missing key, f past the bound, a second change pending', async () => {
    const run = observed({ size: 5, founders: 4, faultTolerance: 1 });
    cluster = run.cluster;
    const engines = cluster.names.map((name) => cluster!.engine(name));
    for (const engine of engines) engine.start();
    const ignored = [
      await commit(cluster, 'member:add:n1'),
      await commit(cluster, 'member:remove:n9'),
      await commit(cluster, 'member:junk:n4'),
      await commit(cluster, 'member:addnokey:n4'),
      // f = 1 stays: three members tolerate none.
      await commit(cluster, 'member:remove:n3'),
    ];
    const added = await commit(cluster, 'member:add:n4');
    // Committed before the add takes effect: one change at a time.
    const second = await commit(cluster, 'member:remove:n2');
    expect(second).toBeLessThan(added + W + 1);
    expect(await cluster.runUntil(() => engines.every((engine) => engine.getActiveRank() >= added + W + 3))).toBe(true);

    const reasons = run.told.get('n0')!.filter((message) => message.includes('ignoring'));
    expect(reasons).toHaveLength(ignored.length + 1);
    expect(reasons.map((message) => Number(/committed at (\d+)/.exec(message)?.[1]))).toEqual([...ignored, second]);
    expect(reasons[0]).toMatch(/n1 is already a member/);
    expect(reasons[1]).toMatch(/n9 is not a member/);
    expect(reasons[2]).toMatch(/op/);
    expect(reasons[3]).toMatch(/n4 needs a publicKey/);
    expect(reasons[4]).toMatch(/faultTolerance 1 would be past/);
    expect(reasons[5]).toMatch(/one change at a time/);
    for (const name of cluster.names) expect({ name, told: run.told.get(name) }).toEqual({ name, told: run.told.get('n0') });
    for (const engine of engines) {
      expect(idsOf(engine.getMembershipAt(added + W))).toEqual(['n0', 'n1', 'n2', 'n3']);
      expect(idsOf(engine.getMembershipAt(added + W + 1))).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
      expect(idsOf(engine.getMembershipAt(second + W + 1))).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    }
    expect(disagreements(engines)).toEqual([]);
  });

  it('removing the last member', async () => {
    const run = observed({ size: 1, founders: 1 });
    cluster = run.cluster;
    const solo = cluster.engine('n0');
    solo.start();
    const at = await commit(cluster, 'member:remove:n0');
    expect(await cluster.runUntil(() => solo.getActiveRank() >= at + W + 3)).toBe(true);
    expect(run.told.get('n0')).toEqual([`membership: ignoring the change committed at ${at}: n0 is the last member`]);
    expect(idsOf(solo.getMembership())).toEqual(['n0']);
  });
});
