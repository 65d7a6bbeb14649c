import fc from 'fast-check';
import { CoordinationState } from '../../services';
import { concretize, coordinationCommand, steps, type Entry } from './commands';

/**
 * State machine replication: replicas that apply the same committed entries
 * in the same order end in the same state, and a replica restored from a
 * snapshot taken anywhere in the log continues exactly as the one that never
 * stopped. Commands are random (junk included), and so are committed times.
 */

const SEED = 20_240_612;
const params = { seed: SEED, numRuns: 150 };

function run(replica: CoordinationState, entries: readonly Entry[]): string[] {
  return entries.map((entry) => JSON.stringify(replica.apply(entry.command, entry.at)));
}

test('replicas fed the same entries give the same answers and end with identical snapshots', () => {
  fc.assert(
    fc.property(steps(coordinationCommand, 80), (sequence) => {
      const entries = concretize(sequence);
      const one = new CoordinationState();
      const other = new CoordinationState();
      expect(run(other, entries)).toEqual(run(one, entries));
      expect(JSON.stringify(other.snapshot())).toBe(JSON.stringify(one.snapshot()));
    }),
    params,
  );
});

test('snapshot, restore elsewhere and continue equals continuing', () => {
  fc.assert(
    fc.property(steps(coordinationCommand, 80), fc.nat(), (sequence, where) => {
      const entries = concretize(sequence);
      const cut = where % (entries.length + 1);
      const continuous = new CoordinationState();
      run(continuous, entries.slice(0, cut));
      // Through text, as a snapshot travels between replicas.
      const text = JSON.stringify(continuous.snapshot());
      const restored = new CoordinationState();
      expect(restored.restore(JSON.parse(text))).toEqual({ ok: true });
      expect(JSON.stringify(restored.snapshot())).toBe(text);
      expect(run(restored, entries.slice(cut))).toEqual(run(continuous, entries.slice(cut)));
      expect(JSON.stringify(restored.snapshot())).toBe(JSON.stringify(continuous.snapshot()));
    }),
    params,
  );
});

test('a refused entry leaves the snapshot exactly as it was', () => {
  fc.assert(
    fc.property(steps(coordinationCommand, 60), (sequence) => {
      const replica = new CoordinationState();
      for (const entry of concretize(sequence)) {
        const before = JSON.stringify(replica.snapshot());
        const result = replica.apply(entry.command, entry.at);
        if (!result.ok) expect(JSON.stringify(replica.snapshot())).toBe(before);
      }
    }),
    params,
  );
});
