import { createSeededRandom, type RandomSource } from '../providers/random';
import type { BarrierView } from '../services/barrierCommands';
import { commands, queries, type BarrierOptions } from '../services/commandBuilders';
import type { LockView } from '../services/lockCommands';
import type { CoordinationPort } from '../services/port';
import type { ServicesCluster } from './hooks';

/**
 * A small, seeded client of the coordination services (`simulate
 * --services`), so that a run, and the live view of it, has lock holders and
 * barrier generations: every few hundred simulated ms one honest node's
 * client, named after the node, takes, renews or releases a lock, or creates
 * or arrives at one of two barriers, the second a stage after the first. It
 * decides from its node's applied state (a stale read), so it asks for what
 * makes sense there, and everything goes through the node's log. It stops
 * once an honest node has finalized `rounds` heights and its last commands
 * have settled.
 */

export const DEMO_LOCKS = ['ledger', 'snapshot', 'config'] as const;

export interface DemoBarrier {
  readonly name: string;
  readonly options: BarrierOptions;
}

/**
 * `checkpoint` waits for everyone and fails a generation a crashed node keeps
 * from completing; `publish` follows it and lets a generation through on
 * half the participants, or on its timeout.
 */
export const DEMO_BARRIERS: readonly DemoBarrier[] = [
  { name: 'checkpoint', options: { threshold: 1, timeoutMs: 5_000, onTimeout: 'fail' } },
  { name: 'publish', options: { threshold: 0.5, timeoutMs: 4_000, onTimeout: 'release', after: 'checkpoint' } },
];

/** Simulated ms between two commands, drawn per command. */
export const DEMO_PERIOD_MS = { min: 150, max: 350 };
export const DEMO_LEASE_MS = { min: 1_500, max: 4_000 };
/** A command not committed by then ends `expired`, so a cut-off node's client moves on. */
export const DEMO_DEADLINE_MS = 3_000;
/** Keeps the workload's draws apart from every stream the run forks from the same seed. */
const STREAM_SALT = 0x5e7c;

export function lockBarrierWorkload(seed: number, rounds: number): (cluster: ServicesCluster) => Promise<void> {
  return async (cluster) => {
    const random = createSeededRandom(seed ^ STREAM_SALT);
    const sleep = (ms: number) => new Promise<void>((resolve) => cluster.clock.setTimeout(resolve, ms));
    const done = () => cluster.honest.some((node) => cluster.framesOf(node).length - 1 >= rounds);
    // One command in flight per client: it decides from its applied state, which would not show the first yet.
    const busy = new Map<string, Promise<void>>();
    while (!done()) {
      await sleep(random.integer(DEMO_PERIOD_MS.min, DEMO_PERIOD_MS.max));
      const ready = cluster.honest.filter((node) => !busy.has(node));
      if (ready.length === 0) continue;
      const client = ready[random.integer(0, ready.length - 1)]!;
      const acting = act(client, cluster.portOf(client), cluster.honest, random, cluster.clock.now() + DEMO_DEADLINE_MS).finally(() => busy.delete(client));
      busy.set(client, acting);
    }
    await Promise.all(busy.values());
  };
}

/** One command of `name`'s client, decided from its node's applied state; refusals are part of the show. */
async function act(name: string, port: CoordinationPort, participants: readonly string[], random: RandomSource, deadline: number): Promise<void> {
  const wantsBarrier = random.fraction() < 0.5;
  const command = (wantsBarrier ? await barrierCommand(name, port, participants, deadline) : null) ?? (await lockCommand(name, port, random, deadline));
  if (command !== null) await port.submit(command, { deadline });
}

async function lockCommand(name: string, port: CoordinationPort, random: RandomSource, deadline: number): Promise<unknown> {
  const answer = await read<{ locks: LockView[] }>(port, queries.locks(), deadline);
  if (answer === undefined) return null;
  const locks = answer?.locks ?? [];
  const lease = () => random.integer(DEMO_LEASE_MS.min, DEMO_LEASE_MS.max);
  const held = locks.find((view) => view.holder?.owner === name);
  if (held !== undefined) {
    const { token } = held.holder!;
    return random.fraction() < 0.6 ? commands.renew(held.lock, name, token, { leaseMs: lease() }) : commands.release(held.lock, name, token);
  }
  const waiting = new Set(locks.filter((view) => view.waiters.some((waiter) => waiter.owner === name)).map((view) => view.lock));
  const free = DEMO_LOCKS.filter((lock) => !waiting.has(lock));
  // Queued behind every lock: leaving one queue keeps the waiters moving.
  if (free.length === 0) return commands.cancel(DEMO_LOCKS[random.integer(0, DEMO_LOCKS.length - 1)]!, name);
  return commands.acquire(free[random.integer(0, free.length - 1)]!, name, { leaseMs: lease() });
}

async function barrierCommand(name: string, port: CoordinationPort, participants: readonly string[], deadline: number): Promise<unknown> {
  for (const { name: barrier, options } of DEMO_BARRIERS) {
    const view = await read<BarrierView>(port, queries.barrier(barrier), deadline);
    if (view === undefined) return null;
    if (view === null) return commands.createBarrier(barrier, participants, options);
    if (view.open && !view.arrived.includes(name)) return commands.arrive(barrier, name, view.generation);
  }
  return null;
}

/** The node's applied answer's value; null when the services refused (none yet); undefined when the node did not answer. */
async function read<T>(port: CoordinationPort, query: unknown, deadline: number): Promise<T | null | undefined> {
  const outcome = await port.query(query, { consistency: 'stale', deadline });
  if (outcome.outcome !== 'answered') return undefined;
  const { answer } = outcome;
  return typeof answer === 'object' && answer !== null && 'ok' in answer && answer.ok === true ? (answer as unknown as { value: T }).value : null;
}
