import type { BarrierView } from '../../services/barrierCommands';
import { queries } from '../../services/commandBuilders';
import type { CoordinationHost } from '../../services/host';
import type { LockView } from '../../services/lockCommands';

/**
 * What the live view shows of one node's coordination services: its applied
 * state, read the way a stale read reads it, cut to a size the page can take
 * ten times a second for every node. Nodes at the same applied index show the
 * same view: it is a function of the committed log and nothing else.
 */

/** Locks sent per node, the first by name; `lockCount` says how many there are. */
export const MAX_SHOWN_LOCKS = 16;
/** Barriers sent per node, the first by name; `barrierCount` says how many there are. */
export const MAX_SHOWN_BARRIERS = 16;
/** Participant and arrival names sent per barrier; the counts are always whole. */
export const MAX_SHOWN_NAMES = 16;

export interface LockRow {
  lock: string;
  /** Null while the lock is free (only when someone waits: a free lock nobody waits for is not kept). */
  holder: string | null;
  token: number | null;
  /** The committed time the holder's lease ends at. */
  expiresAt: number | null;
  waiters: number;
}

export interface BarrierRow {
  barrier: string;
  generation: number;
  /** Whether the generation takes arrivals; a stage after another waits for it to release first. */
  open: boolean;
  arrived: number;
  required: number;
  /** The first `MAX_SHOWN_NAMES`, in order of arrival. */
  arrivedNames: string[];
  participants: number;
  participantNames: string[];
  /** The barrier this one is a stage after, or null for a first stage. */
  after: string | null;
  deadline: number | null;
  /** How the previous generation ended, or null before any did. */
  last: { generation: number; outcome: 'released' | 'failed'; reason: string } | null;
}

export interface ServicesView {
  /** The log index the services have applied. */
  applied: number;
  /** The committed time of the entry at `applied` (what lease ends compare against); null when the node's ledger has not stored it yet. */
  time: number | null;
  lockCount: number;
  barrierCount: number;
  locks: LockRow[];
  barriers: BarrierRow[];
}

function listed<T>(answer: unknown, field: string): readonly T[] {
  if (typeof answer !== 'object' || answer === null || !('ok' in answer) || answer.ok !== true || !('value' in answer)) return [];
  const value = answer.value as Record<string, unknown> | null;
  const list = value?.[field];
  return Array.isArray(list) ? (list as T[]) : [];
}

function lockRow(view: LockView): LockRow {
  return {
    lock: view.lock,
    holder: view.holder?.owner ?? null,
    token: view.holder?.token ?? null,
    expiresAt: view.holder?.expiresAt ?? null,
    waiters: view.waiters.length,
  };
}

function barrierRow(view: BarrierView): BarrierRow {
  return {
    barrier: view.barrier,
    generation: view.generation,
    open: view.open,
    arrived: view.arrived.length,
    required: view.required,
    arrivedNames: view.arrived.slice(0, MAX_SHOWN_NAMES),
    participants: view.participants.length,
    participantNames: view.participants.slice(0, MAX_SHOWN_NAMES),
    after: view.after,
    deadline: view.deadline,
    last: view.last === null ? null : { generation: view.last.generation, outcome: view.last.outcome, reason: view.last.reason },
  };
}

export function servicesView<StateT>(host: CoordinationHost<StateT>, time: number | null): ServicesView {
  const locks = listed<LockView>(host.readStale(queries.locks()).answer, 'locks');
  const barriers = listed<BarrierView>(host.readStale(queries.barriers()).answer, 'barriers');
  return {
    applied: host.applied,
    time,
    lockCount: locks.length,
    barrierCount: barriers.length,
    locks: locks.slice(0, MAX_SHOWN_LOCKS).map(lockRow),
    barriers: barriers.slice(0, MAX_SHOWN_BARRIERS).map(barrierRow),
  };
}
