import { defaultProversPerRank, leaderSchedule } from '../../examples/ledger/rules';
import { VisualCluster } from '../../visualizer/cluster/VisualCluster';

/**
 * The live view's cluster: createNode nodes (round machine + election) with
 * the ledger example's providers, on one discrete-event clock, with the
 * faults the page's buttons apply.
 */

const chainOf = (cluster: VisualCluster, name: string) => cluster.frames(name).map((frame) => frame.hash);

/** Every two nodes' finalized chains agree where both have a frame (SPEC §6 agreement). */
function disagreements(cluster: VisualCluster): string[] {
  const problems: string[] = [];
  const chains = cluster.names.map((name) => [name, chainOf(cluster, name)] as const);
  for (const [a, chainA] of chains) {
    for (const [b, chainB] of chains) {
      for (let height = 0; height < Math.min(chainA.length, chainB.length); height += 1) {
        if (chainA[height] !== chainB[height]) problems.push(`${a} and ${b} differ at ${height}`);
      }
    }
  }
  return problems;
}

async function started(options: ConstructorParameters<typeof VisualCluster>[0]): Promise<VisualCluster> {
  const cluster = new VisualCluster(options);
  cluster.start();
  await cluster.runUntil(() => cluster.leaders().length === 1 && cluster.slowestHonestHeight() >= 3, 5_000);
  return cluster;
}

describe('VisualCluster', () => {
  test('4 nodes, one of them Byzantine (forged proposals): one leader, 10 heights, agreement, no forged frame final', async () => {
    const cluster = await started({ nodes: 4, byzantine: 1, seed: 42 });
    await cluster.runUntil(() => cluster.slowestHonestHeight() >= 10, 10_000);
    expect(cluster.byzantineNames).toHaveLength(1);
    const [byzantine] = cluster.byzantineNames;
    expect(disagreements(cluster)).toEqual([]);
    const frames = cluster.frames(cluster.names.find((name) => name !== byzantine)!);
    expect(frames.slice(1).filter((frame) => !frame.isWellFormed())).toEqual([]);
    // Heights the Byzantine node was scheduled to prove first were finalized with another prover's frame.
    const schedule = leaderSchedule(cluster.names, defaultProversPerRank(4));
    const led = frames.slice(1).filter((frame) => schedule(frame.height)[0] === byzantine);
    expect(led.length).toBeGreaterThanOrEqual(2);
    expect(frames.slice(1).filter((frame) => frame.prover === byzantine)).toEqual([]);
    expect(cluster.failures).toEqual([]);
    const leader = cluster.leaders()[0];
    expect(cluster.status().filter((node) => !node.down).map((node) => node.leader)).toEqual(cluster.names.map(() => leader));
    cluster.stop();
  });

  test('partitioning the leader: the others elect another one; healing: it follows the new leader and catches up', async () => {
    const cluster = await started({ nodes: 4, byzantine: 0, seed: 3 });
    const [old] = cluster.leaders();
    cluster.partition(old!);
    expect(cluster.isPartitioned(old!)).toBe(true);
    await cluster.runUntil(() => cluster.leaders().some((name) => name !== old), 3_000);
    const [next] = cluster.leaders().filter((name) => name !== old);
    const heightAtHeal = cluster.slowestHonestHeight();
    cluster.heal(old!);
    await cluster.runUntil(() => {
      const status = cluster.status().find((node) => node.name === old)!;
      return status.role === 'follower' && status.leader === next && cluster.frames(old!).length - 1 >= heightAtHeal + 2;
    }, 10_000);
    expect(disagreements(cluster)).toEqual([]);
    expect(cluster.faults.map(({ kind, node }) => `${kind} ${node}`)).toEqual([`partition ${old}`, `heal ${old}`]);
    cluster.stop();
  });

  test('a crashed node restarts as a new actor system over the same ledger and election storage, and catches up', async () => {
    const cluster = await started({ nodes: 4, byzantine: 0, seed: 8 });
    const victim = cluster.names.find((name) => !cluster.leaders().includes(name))!;
    const before = cluster.status().find((node) => node.name === victim)!;
    cluster.crash(victim);
    expect(cluster.isDown(victim)).toBe(true);
    expect(cluster.node(victim)).toBeNull();
    const height = cluster.frames(victim).length - 1;
    await cluster.runUntil(() => cluster.slowestHonestHeight() >= height + 3, 5_000);
    expect(cluster.frames(victim).length - 1).toBe(height);
    cluster.restart(victim);
    const after = cluster.status().find((node) => node.name === victim)!;
    expect([after.incarnation, after.down, after.rootId === before.rootId]).toEqual([2, false, false]);
    const leader = cluster.leaders()[0];
    await cluster.runUntil(() => {
      const status = cluster.status().find((node) => node.name === victim)!;
      return status.leader === leader && status.activeRank >= cluster.slowestHonestHeight() && status.term >= before.term;
    }, 10_000);
    expect(disagreements(cluster)).toEqual([]);
    expect(cluster.failures).toEqual([]);
    cluster.stop();
  });

  test('one seed and the same faults at the same simulated times replay the same run', async () => {
    const replay = async (seed: number) => {
      const cluster = new VisualCluster({ nodes: 4, byzantine: 1, seed });
      cluster.start();
      await cluster.advanceTo(600);
      cluster.partition(cluster.leaders()[0] ?? 'n0');
      await cluster.advanceTo(1_200);
      cluster.crash('n3');
      await cluster.advanceTo(1_500);
      cluster.restart('n3');
      await cluster.advanceTo(2_500);
      const result = {
        fired: cluster.clock.firedCount,
        network: cluster.networkStats,
        status: cluster.status().map(({ rootId: _, ...status }) => status),
        chains: cluster.names.map((name) => chainOf(cluster, name)),
        faults: cluster.faults,
      };
      cluster.stop();
      return result;
    };
    const first = await replay(11);
    expect(await replay(11)).toEqual(first);
    expect((await replay(12)).fired).not.toBe(first.fired);
  });

  test('honest nodes host the services: lock holders and barrier progress, the same on every node at the same applied index', async () => {
    const cluster = new VisualCluster({ nodes: 4, byzantine: 1, seed: 42 });
    cluster.start();
    const honest = () => cluster.status().filter((node) => !node.byzantine && !node.down);
    const services = () => honest().map((node) => node.services!);
    const agreed = () => new Set(services().map((view) => view.applied)).size === 1;
    // Something to show: a lock held and a barrier generation with arrivals, or one already ended.
    const showing = () =>
      services().every((view) => view.locks.some((lock) => lock.holder !== null)) &&
      services().every((view) => view.barriers.some((barrier) => barrier.arrived > 0 || barrier.last !== null));
    await cluster.runUntil(() => showing() && agreed(), 10_000);
    expect(cluster.status().find((node) => node.byzantine)!.services).toBeNull();
    const [first, ...others] = services();
    for (const view of others) expect(view).toEqual(first);
    const held = first!.locks.find((lock) => lock.holder !== null)!;
    expect(cluster.names).toContain(held.holder);
    expect(held.token).toBeGreaterThan(0);
    expect(held.expiresAt).toBeGreaterThan(first!.time!);
    expect(first!.time).toBe(cluster.frames(honest()[0]!.name)[first!.applied]!.time);
    const checkpoint = first!.barriers.find((barrier) => barrier.barrier === 'checkpoint')!;
    expect(checkpoint.participants).toBe(3);
    expect(checkpoint.participantNames).toEqual(cluster.names.filter((name) => !cluster.byzantineNames.includes(name)));
    expect(checkpoint.arrived).toBe(checkpoint.arrivedNames.length);
    expect(checkpoint.required).toBe(3);

    // Past a few generations: the barriers went on, the locks changed hands, leases were renewed.
    const at = cluster.clock.now();
    await cluster.runUntil(() => cluster.clock.now() >= at + 15_000 && agreed(), 20_000);
    const later = services();
    for (const view of later.slice(1)) expect(view).toEqual(later[0]);
    expect(later[0]!.barriers.find((barrier) => barrier.barrier === 'checkpoint')!.generation).toBeGreaterThan(1);
    expect(later[0]!.barriers.find((barrier) => barrier.barrier === 'publish')!.after).toBe('checkpoint');
    expect(later[0]!.lockCount).toBeLessThanOrEqual(16);
    expect(cluster.failures).toEqual([]);
    cluster.stop();
  });

  test('a restarted node rebuilds its services from the frames it kept, catches up and shows what the others show', async () => {
    const cluster = new VisualCluster({ nodes: 4, byzantine: 0, seed: 5 });
    cluster.start();
    const view = (name: string) => cluster.status().find((node) => node.name === name)!.services;
    await cluster.advanceTo(3_000);
    const beforeCrash = view('n2')!.applied;
    cluster.crash('n2');
    expect(view('n2')).toBeNull();
    await cluster.advanceTo(4_000);
    const othersAtRestart = view('n0')!.applied;
    expect(othersAtRestart).toBeGreaterThan(beforeCrash);
    cluster.restart('n2');
    // Rebuilt from its own frames before its engine starts: where it was when it crashed.
    expect(view('n2')!.applied).toBe(beforeCrash);
    await cluster.runUntil(() => {
      const all = cluster.names.map((name) => view(name)!);
      return all[0]!.applied > othersAtRestart && all.every((services) => services.applied === all[0]!.applied) && all[0]!.locks.length > 0;
    }, 10_000);
    for (const name of cluster.names) expect(view(name)).toEqual(view('n0'));
    expect(cluster.failures).toEqual([]);
    cluster.stop();
  });

  test('without the workload the services are hosted and stay empty', async () => {
    const cluster = await started({ nodes: 4, seed: 1, workload: false });
    for (const node of cluster.status()) expect([node.services!.locks, node.services!.barriers]).toEqual([[], []]);
    expect(cluster.status()[0]!.services!.applied).toBeGreaterThan(0);
    cluster.stop();
  });

  test('step runs until some round changes state', async () => {
    const cluster = await started({ nodes: 4, seed: 1 });
    const transitions = cluster.transitions;
    const at = cluster.clock.now();
    await cluster.step(1_000);
    expect(cluster.transitions).toBeGreaterThan(transitions);
    expect(cluster.clock.now() - at).toBeLessThan(1_000);
    cluster.stop();
  });

  test('refuses more Byzantine nodes than f = ⌊(n − 1)/3⌋, and unknown node names', () => {
    expect(() => new VisualCluster({ nodes: 4, byzantine: 2 })).toThrow('byzantine must be an integer in [0, 1] for 4 nodes');
    expect(() => new VisualCluster({ nodes: 0 })).toThrow('nodes must be an integer in [1, 32]');
    expect(() => new VisualCluster({ nodes: 4 }).partition('n9')).toThrow('no node named "n9" (nodes: n0, n1, n2, n3)');
  });
});
