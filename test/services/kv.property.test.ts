import fc from 'fast-check';
import { KvService, compareClocks, type KvEntry, type PutOutcome, type VectorClock } from '../../services';

/**
 * Under the siblings strategy no write is lost to a concurrent one: after
 * any sequence of writes with any contexts, the key holds exactly the
 * writes no other write has seen, so two concurrent writes are both visible
 * until a write whose context covers them replaces them.
 */

const SEED = 20_240_614;
const params = { seed: SEED, numRuns: 200 };

const WRITERS = ['w1', 'w2', 'w3', 'w4'];

/** Where a write's context comes from: none (blind), the key as it stands, or a read made earlier. */
const context = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'blind' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'current' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('earlier' as const), read: fc.nat() }) },
);

const write = fc.record({ writer: fc.constantFrom(...WRITERS), context });

interface Written {
  readonly id: number;
  readonly clock: VectorClock;
}

test('the key holds exactly the writes no other write has seen; concurrent writes are both visible', () => {
  fc.assert(
    fc.property(fc.array(write, { minLength: 1, maxLength: 40, size: 'max' }), (writes) => {
      const kv = new KvService({ defaultStrategy: 'siblings' });
      const reads: VectorClock[] = [];
      const written: Written[] = [];
      writes.forEach((step, i) => {
        const current = (kv.query({ op: 'get', key: 'k' }) as { value: KvEntry }).value.clock;
        reads.push(current);
        const clock =
          step.context.kind === 'blind' ? undefined
          : step.context.kind === 'current' ? current
          : reads[step.context.read % reads.length];
        const command = { op: 'put', key: 'k', value: i, writer: step.writer, ...(clock === undefined ? {} : { context: clock }) };
        const before = JSON.stringify(kv.snapshot());
        const result = kv.apply(command, { index: i + 1, time: i });
        if (!result.ok) {
          // Only the sibling bound may refuse a write here, and then nothing changes.
          expect(result.error.code).toBe('too_many_siblings');
          expect(JSON.stringify(kv.snapshot())).toBe(before);
          return;
        }
        written.push({ id: i, clock: (result.value as PutOutcome).clock });
        const unseen = written.filter((w) => !written.some((other) => compareClocks(w.clock, other.clock) === 'before'));
        const visible = (kv.query({ op: 'get', key: 'k' }) as { value: KvEntry }).value.values as number[];
        expect([...visible].sort((x, y) => x - y)).toEqual(unseen.map((w) => w.id));
        for (const a of unseen) {
          for (const b of unseen) {
            if (compareClocks(a.clock, b.clock) === 'concurrent') expect(visible).toEqual(expect.arrayContaining([a.id, b.id]));
          }
        }
        // No two writes share a clock: each is its own event.
        expect(new Set(written.map((w) => JSON.stringify(w.clock))).size).toBe(written.length);
      });
    }),
    params,
  );
});
