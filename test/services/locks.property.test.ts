import fc from 'fast-check';
import { CoordinationState, type CoordinationEvent, type LockView } from '../../services';
import { concretize, KEYS, LOCKS, lockCommand, steps, token, WRITERS } from './commands';

/**
 * Fencing, checked from outside against a model built only from what the
 * service answered: a lock is never granted while another hold on it is
 * live, tokens only grow, and a fenced write is taken exactly when its token
 * is the live holder's at the write's committed time.
 */

const SEED = 20_240_613;
const params = { seed: SEED, numRuns: 150 };

const fencedPut = fc.record({
  service: fc.constant('kv'),
  op: fc.constant('put'),
  key: fc.constantFrom(...KEYS.slice(0, 2)),
  value: fc.integer({ min: 0, max: 9 }),
  writer: fc.constantFrom(...WRITERS),
  fence: fc.record({ lock: fc.constantFrom(...LOCKS), token }),
});

const command = fc.oneof({ weight: 3, arbitrary: lockCommand }, { weight: 2, arbitrary: fencedPut });

interface Hold {
  readonly token: number;
  expiresAt: number;
}

type Holds = Map<string, Hold>;

const FENCE_CODES = ['fence_holder_gone', 'stale_fence_token', 'unknown_fence_token'];

/** Checks `events` against the holds they change, and changes them: a grant only on a free lock, with a larger token than any before. */
interface Tokens {
  last: number;
  readonly issued: Map<string, number[]>;
}

function follow(holds: Holds, events: readonly CoordinationEvent[], time: number, tokens: Tokens): void {
  for (const event of events) {
    if (event.type === 'lock_granted') {
      expect(holds.has(event.lock)).toBe(false);
      expect(event.token).toBeGreaterThan(tokens.last);
      tokens.last = event.token;
      holds.set(event.lock, { token: event.token, expiresAt: event.expiresAt });
      tokens.issued.set(event.lock, [...(tokens.issued.get(event.lock) ?? []), event.token]);
    } else if (event.type === 'lock_expired') {
      expect(holds.get(event.lock)?.token).toBe(event.token);
      expect(holds.get(event.lock)!.expiresAt).toBeLessThanOrEqual(time);
      holds.delete(event.lock);
    } else if (event.type === 'lock_released') {
      expect(holds.get(event.lock)?.token).toBe(event.token);
      holds.delete(event.lock);
    }
  }
  // No hold outlives its lease: the entry's time has expired every one it passed.
  for (const hold of holds.values()) expect(hold.expiresAt).toBeGreaterThan(time);
}

/**
 * The holds as the entry's time alone leaves them, learnt from a scratch
 * replica that applies only a tick at that entry: what a refused write was
 * checked against, since a refusal shows nothing.
 */
function holdsAt(state: CoordinationState, holds: Holds, at: { index: number; time: number }): Holds {
  const scratch = new CoordinationState();
  scratch.restore(state.snapshot());
  const tick = scratch.apply({ service: 'locks', op: 'tick' }, at);
  if (!tick.ok) throw new Error(tick.error.message);
  const moved: Holds = new Map([...holds].map(([lock, hold]) => [lock, { ...hold }]));
  follow(moved, tick.events, at.time, { last: 0, issued: new Map() });
  return moved;
}

function liveToken(holds: Holds, lock: string): number | undefined {
  return holds.get(lock)?.token;
}

test("no two holders, tokens strictly increase, and a write is taken only with the live holder's token", () => {
  fc.assert(
    fc.property(steps(command, 80), (sequence) => {
      const state = new CoordinationState();
      const holds: Holds = new Map();
      const tokens: Tokens = { last: 0, issued: new Map() };
      for (const { command: entry, at } of concretize(sequence)) {
        const sent = entry as { service: string; op: string; lock?: string; fence?: { lock: string; token: number } };
        const result = state.apply(entry, at);
        if (!result.ok) {
          if (sent.service === 'kv') {
            // Refused for its fence, and rightly: its token was not the live holder's at that entry.
            expect(FENCE_CODES).toContain(result.error.code);
            expect(liveToken(holdsAt(state, holds, at), sent.fence!.lock)).not.toBe(sent.fence!.token);
          }
          continue;
        }
        follow(holds, result.events as readonly CoordinationEvent[], at.time, tokens);
        if (sent.service === 'kv') expect(liveToken(holds, sent.fence!.lock)).toBe(sent.fence!.token);
        const value = result.value as { status?: string; expiresAt?: number } | null;
        if (sent.service === 'locks' && value?.expiresAt !== undefined && (sent.op === 'renew' || value.status === 'granted')) {
          holds.get(sent.lock!)!.expiresAt = value.expiresAt;
        }
        for (const lock of LOCKS) {
          const holder = (state.query({ service: 'locks', op: 'get', lock }) as { value: LockView }).value.holder;
          expect(holder?.token).toBe(liveToken(holds, lock));
          // Of every token ever issued for the lock, only the holder's passes the fence.
          const passing = (tokens.issued.get(lock) ?? []).filter((issued) => state.checkFence(lock, issued) === null);
          expect(passing).toEqual(holder === null ? [] : [holder.token]);
        }
      }
    }),
    params,
  );
});
