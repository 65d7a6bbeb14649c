import { runSimulation } from '../../simulator/runSimulation';
import type { SimulationOptions } from '../../simulator/options';
import { SimulationPlayer } from '../../visualizer/live/SimulationPlayer';

/**
 * The live view plays the simulator's own run: paced by the viewer's clock
 * (here moved by hand, never by the wall clock), with the run's faults, and
 * ending in the report `simulate` gives for the same options.
 */
const RUN: Partial<SimulationOptions> = {
  nodes: 7,
  byzantine: 2,
  behaviour: 'split-commit',
  partitions: [{ from: 1000, to: 3000, groups: [['n0', 'n1'], ['n2', 'n3', 'n4', 'n5', 'n6']] }],
  seed: 7,
  rounds: 15,
};

function player(options: Partial<SimulationOptions> = RUN): { player: SimulationPlayer; errors: unknown[]; events: number[] } {
  const errors: unknown[] = [];
  const events: number[] = [];
  const created: SimulationPlayer = new SimulationPlayer({
    simulation: options,
    inspect: () => () => events.push(created.now()),
    onError: (error) => errors.push(error),
  });
  return { player: created, errors, events };
}

describe('SimulationPlayer', () => {
  test('waits for the viewer: simulated time goes no further than it was played', async () => {
    const { player: run, errors } = player();
    run.start();
    await run.idle();
    expect(run.now()).toBe(0);
    await run.play(400);
    await run.idle();
    expect(run.now()).toBeLessThanOrEqual(400);
    expect(run.status().filter((node) => !node.byzantine).every((node) => node.role !== 'stopped')).toBe(true);
    expect(run.outcome()).toBeNull();
    await run.stop();
    expect(errors).toEqual([]);
  });

  test('shows the partition while it lasts: the links between the two sides are cut, no others', async () => {
    const { player: run } = player();
    run.start();
    await run.play(1_500);
    await run.idle();
    const cut = run.cutLinks();
    expect(cut).toHaveLength(2 * 5);
    for (const [a, b] of cut) expect(['n0', 'n1'].includes(a) !== ['n0', 'n1'].includes(b)).toBe(true);
    expect(run.status().filter((node) => node.partitioned).map((node) => node.name)).toEqual(run.names);
    expect(run.faults()).toEqual([{ kind: 'partition', node: 'n0,n1 | n2,n3,n4,n5,n6', at: 1000 }]);
    await run.play(2_000);
    await run.idle();
    expect(run.cutLinks()).toEqual([]);
    await run.stop();
  });

  test('a step runs until some round changes state, then waits again', async () => {
    const { player: run } = player();
    run.start();
    await run.play(300);
    await run.idle();
    const before = run.now();
    await run.step();
    await run.idle();
    expect(run.now()).toBeGreaterThanOrEqual(before);
    expect(run.now()).toBeLessThan(before + 1_000);
    await run.stop();
  });

  test('played to the end, its outcome is the report simulate gives with the same options', async () => {
    const { player: run, errors, events } = player();
    run.start();
    await run.play(Number.MAX_SAFE_INTEGER);
    await run.idle();
    const outcome = run.outcome()!;
    const report = await runSimulation(RUN);
    expect(errors).toEqual([]);
    expect(events.length).toBeGreaterThan(0);
    expect(outcome.verdict).toBe('reached');
    expect(outcome.traceDigest).toBe(report.traceDigest);
    expect(outcome.roundsFinalized).toEqual(report.roundsFinalized);
    expect([outcome.events, outcome.simulatedMs]).toEqual([report.events, report.simulatedMs]);
    expect(outcome.digests).toEqual(Object.fromEntries(report.perNode.filter((node) => node.byzantine === null).map((node) => [node.name, node.digest])));
    expect(run.byzantineNames).toEqual(report.byzantineNodes);
    expect(run.command).toBe(report.replay);
  }, 30_000);

  test('with --services, the nodes show the lock holders and barrier generations the seeded client made', async () => {
    const { player: run, errors } = player({ nodes: 4, byzantine: 1, seed: 42, rounds: 40, services: true });
    expect(run.services).toBe(true);
    expect(run.command).toContain('--services');
    run.start();
    const honest = run.names.filter((name) => !run.byzantineNames.includes(name));
    let held: string | null = null;
    let arrived = 0;
    // A simulated quarter second at a time, at most a minute of it.
    for (let played = 0; played < 60_000 && (held === null || arrived === 0) && run.outcome() === null; played += 250) {
      await run.play(250);
      await run.idle();
      const services = run.status().flatMap((node) => (node.services === null ? [] : [node.services]));
      held = services.flatMap((view) => view.locks).find((lock) => lock.holder !== null)?.holder ?? held;
      arrived = Math.max(arrived, ...services.flatMap((view) => view.barriers.map((barrier) => barrier.arrived)));
    }
    expect(honest).toContain(held);
    expect(arrived).toBeGreaterThan(0);
    await run.stop();
    expect(errors).toEqual([]);
  });

  test('faults set by hand land between two instants, show as they would planned, and the outcome says the command no longer replays the run', async () => {
    const { player: run, errors } = player({ nodes: 4, byzantine: 0, seed: 9, rounds: 12 });
    run.start();
    await run.play(500);
    await run.idle();
    run.fault('partition', 'n2');
    expect(run.cutLinks()).toEqual([['n0', 'n2'], ['n1', 'n2'], ['n2', 'n3']]);
    await run.play(500);
    await run.idle();
    run.fault('heal', 'n2');
    const root = run.status()[3]!.rootId;
    expect(run.fault('crash', 'n3')).toBe(root);
    expect(run.status()[3]).toMatchObject({ down: true, rootId: null });
    expect(run.cutLinks()).toEqual([]);
    expect(() => run.fault('crash', 'n9')).toThrow('no node named "n9"');
    await run.play(500);
    await run.idle();
    run.fault('restart', 'n3');
    expect(run.status()[3]).toMatchObject({ down: false, incarnation: 2 });
    expect(run.faults().map(({ kind, node, byHand }) => [kind, node, byHand])).toEqual([
      ['partition', 'n2', true],
      ['heal', 'n2', true],
      ['crash', 'n3', true],
      ['restart', 'n3', true],
    ]);
    await run.play(Number.MAX_SAFE_INTEGER);
    await run.idle();
    const outcome = run.outcome()!;
    expect(outcome.verdict).toBe('reached');
    expect(outcome.changedByHand).toHaveLength(4);
    expect(outcome.changedByHand[0]).toMatch(/^partition n2 at \d+ ms$/);
    expect(errors).toEqual([]);
  }, 30_000);

  test('a seek plays as fast as it goes until an honest node has finalized the height, then waits there', async () => {
    const { player: run, errors } = player();
    run.start();
    await run.seek(8);
    const heights = () => run.status().map((node) => node.height);
    expect(Math.max(...heights())).toBeGreaterThanOrEqual(8);
    expect(Math.max(...heights())).toBeLessThan(10);
    const at = run.now();
    await run.idle();
    expect(run.now()).toBe(at);
    // Behind it already: nothing to do.
    await run.seek(3);
    expect(run.now()).toBe(at);
    await run.stop();
    expect(errors).toEqual([]);
  });
});
