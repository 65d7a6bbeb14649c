import { createHash } from 'node:crypto';
import { payloadCluster, type Block, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import type { ReplicatedStateMachine } from '../../engine/stateMachine';
import { InMemorySafetyStorage } from '../../providers/storage';
import { certificateProblems, changeIn, disagreements, idsOf, referenceMemberships, track } from './support';

const W = DEFAULT_RANK_WINDOW;

class Chain implements ReplicatedStateMachine<Block> {
  head = 'genesis';
  readonly heads = new Map<number, string>();
  readonly restored: number[] = [];
  apply(value: Block, index: number): void {
    this.head = createHash('sha256').update(`${this.head}|${value.identity()}`).digest('hex');
    this.heads.set(index, this.head);
  }
  snapshot(): unknown {
    return { head: this.head };
  }
  restore(data: unknown, index: number): void {
    this.head = (data as { head: string }).head;
    this.heads.set(index, this.head);
    this.restored.push(index);
  }
}

describe('a snapshot from peers carries the membership at its index', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('a node away while n4 joined restores a snapshot past the change, and verifies and votes with five members', async () => {
    let isolated = true;
    const chains = new Map<string, Chain>();
    const c: PayloadCluster = payloadCluster({
      size: 5,
      founders: 4,
      leaders: 'membership',
      syncFromPeers: true,
      cut: (from, to) => isolated && (from === 'n3' || to === 'n3'),
      engineConfig: (name) => {
        chains.set(name, new Chain());
        return {
          membershipChangeIn: changeIn((id) => c.publicKey(id)),
          stateMachine: chains.get(name)!,
          snapshotInterval: 20,
          logRetention: 20,
          storage: new InMemorySafetyStorage(),
        };
      },
    });
    cluster = c;
    const engines = c.names.map((name) => c.engine(name));
    for (const engine of engines) engine.start();
    const add = track(c.engine('n0').propose('member:add:n4'));
    expect(await c.runUntil(() => add.done)).toBe(true);
    const added = add.value?.outcome === 'committed' ? add.value.index : NaN;
    const joined = added + W + 1;
    expect(await c.runUntil(() => c.engine('n0').getActiveRank() >= joined + 100)).toBe(true);
    expect(c.engine('n0').log.first).toBeGreaterThan(joined);
    const late = c.engine('n3');
    expect(late.getActiveRank()).toBeLessThan(added);

    isolated = false;
    late.induceSync();
    const target = c.engine('n0').getActiveRank() + 20;
    const caughtUp = await c.runUntil(() => engines.every((engine) => engine.getActiveRank() >= target) && late.log.missing().length === 0);
    expect(caughtUp).toBe(true);
    const chain = chains.get('n3')!;
    expect(chain.restored.length).toBeGreaterThan(0);
    expect(chain.restored[0]).toBeGreaterThan(joined);
    expect(idsOf(late.getMembership())).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(late.getMembershipAt(target)?.quorum).toBe(4);
    expect(late.log.missing()).toEqual([]);
    // Its state machine agrees with the others' at every index both applied.
    const other = chains.get('n0')!;
    for (const [index, head] of chain.heads) if (other.heads.has(index)) expect({ index, head }).toEqual({ index, head: other.heads.get(index) });
    expect(disagreements(engines)).toEqual([]);
    const top = Math.min(...engines.map((engine) => engine.getActiveRank()));
    expect(certificateProblems(c, engines, referenceMemberships(c.engine('n0').log, top, ['n0', 'n1', 'n2', 'n3', 'n4'], W))).toEqual([]);
    // Back in: it signs certificates again.
    expect(await c.runUntil(() => engines.every((engine) => engine.getActiveRank() >= top + 10))).toBe(true);
    const signed = Array.from({ length: 10 }, (_, i) => top + 1 + i).filter((rank) => c.engine('n0').log.get(rank)?.certificate?.signers.includes('n3'));
    expect(signed.length).toBeGreaterThan(0);
  });
});
