import { createHash } from 'node:crypto';
import { payloadCluster, type Block, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import type { ReplicatedStateMachine } from '../../engine/stateMachine';
import { changeIn, disagreements, idsOf, track } from './support';

const W = DEFAULT_RANK_WINDOW;

class Chain implements ReplicatedStateMachine<Block> {
  readonly heads = new Map<number, string>();
  head = 'genesis';
  apply(value: Block, index: number): void {
    this.head = createHash('sha256').update(`${this.head}|${value.identity()}`).digest('hex');
    this.heads.set(index, this.head);
  }
  snapshot(): unknown {
    return { head: this.head };
  }
  restore(data: unknown): void {
    this.head = (data as { head: string }).head;
  }
}

describe('a node started long after the change that adds it', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('syncs, reads the log it missed, applies it, and only then votes', async () => {
    const chains = new Map<string, Chain>();
    const c: PayloadCluster = payloadCluster({
      size: 5,
      founders: 4,
      leaders: 'membership',
      syncFromPeers: true,
      engineConfig: (name) => {
        chains.set(name, new Chain());
        return { membershipChangeIn: changeIn((id) => c.publicKey(id)), stateMachine: chains.get(name)! };
      },
    });
    cluster = c;
    const founders = c.names.slice(0, 4).map((name) => c.engine(name));
    for (const engine of founders) engine.start();
    const add = track(c.engine('n0').propose('member:add:n4'));
    expect(await c.runUntil(() => add.done)).toBe(true);
    const added = add.value?.outcome === 'committed' ? add.value.index : NaN;
    const joined = added + W + 1;
    // Four of five are a quorum: the cluster goes on without n4.
    expect(await c.runUntil(() => c.engine('n0').getActiveRank() >= joined + 60)).toBe(true);

    const joiner = c.engine('n4');
    joiner.start();
    let completeAt: number | null = null;
    const engines = [...founders, joiner];
    const target = c.engine('n0').getActiveRank() + 40;
    const caught = await c.runUntil(() => {
        if (completeAt === null && joiner.getActiveRank() > 0 && joiner.log.missing().length === 0 && joiner.getAppliedIndex() >= joiner.getActiveRank()) {
          completeAt = joiner.getActiveRank();
        }
        return engines.every((engine) => engine.getActiveRank() >= target);
      });
    expect(caught).toBe(true);
    expect(completeAt).not.toBeNull();
    expect(idsOf(joiner.getMembershipAt(joined))).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    const log = c.engine('n0').log;
    const signedByJoiner = log.range(1, target).filter((entry) => entry.certificate?.signers.includes('n4')).map((entry) => entry.index);
    expect(signedByJoiner.length).toBeGreaterThan(0);
    expect(Math.min(...signedByJoiner)).toBeGreaterThan(completeAt!);
    // It applied everything before it voted, the same as the others.
    const mine = chains.get('n4')!;
    const theirs = chains.get('n0')!;
    for (let index = 1; index <= target; index += 1) expect({ index, head: mine.heads.get(index) }).toEqual({ index, head: theirs.heads.get(index) });
    expect(disagreements(engines)).toEqual([]);
  });
});
