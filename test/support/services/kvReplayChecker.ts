import { CoordinationState, queries } from '../../../services';
import { SLOTS_PER_ENTRY } from '../../../services/host';
import type { CommittedEntry } from './committedLog';
import type { ReplayedKvEntry } from './recorder';

/**
 * Keys whose conflict strategy keeps siblings or merges values, checked
 * against the log instead of a sequential model: the commit log is applied
 * again and, at every index, the values each such key held are noted. A
 * client's get is sound when what it was told is what the key held at some
 * point of the entry at the index it was told (a read carried in an entry is
 * answered between its commands); a put it was told was taken, or refused,
 * is in the log at its index with that answer.
 */

export type KvReplayViolationKind = 'read_mismatch' | 'acknowledged_missing';

export interface KvReplayViolation {
  readonly kind: KvReplayViolationKind;
  readonly key: string;
  readonly index: number;
  readonly message: string;
}

export interface KvReplayReport {
  readonly ok: boolean;
  readonly violations: readonly KvReplayViolation[];
  /** Gets and puts compared with the log; those past its end are not. */
  readonly compared: number;
  /** Reads that saw more than one version, or a union of more than one write. */
  readonly combined: number;
  readonly summary: string;
}

const SUMMARY_LINES = 20;

function isTaken(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === true;
}

/** For every index, the values (as JSON) each watched key held after each of its commands, the state before them first. */
function heldAt(committed: readonly CommittedEntry[], keys: ReadonlySet<string>): Map<number, Map<string, Set<string>>> {
  const state = new CoordinationState();
  const held = new Map<number, Map<string, Set<string>>>();
  const valuesOf = (key: string): string => {
    const answer = state.query(queries.get(key)) as { ok: boolean; value?: { values?: unknown[] } };
    return JSON.stringify(answer.value?.values ?? []);
  };
  const note = (index: number) => {
    let atIndex = held.get(index);
    if (atIndex === undefined) held.set(index, (atIndex = new Map([...keys].map((key) => [key, new Set<string>()]))));
    for (const key of keys) atIndex.get(key)!.add(valuesOf(key));
  };
  let slot = -1;
  let current = -1;
  for (const entry of committed) {
    if (entry.index !== current) {
      current = entry.index;
      slot = current * SLOTS_PER_ENTRY;
      note(current);
    }
    state.apply(entry.command, { index: slot++, time: entry.time });
    note(current);
  }
  return held;
}

function puts(committed: readonly CommittedEntry[]): Map<number, { key: string; value: string; taken: boolean }[]> {
  const byIndex = new Map<number, { key: string; value: string; taken: boolean }[]>();
  for (const entry of committed) {
    const command = entry.command as { service?: unknown; op?: unknown; key?: unknown; value?: unknown };
    if (command?.service !== 'kv' || command.op !== 'put' || typeof command.key !== 'string') continue;
    const group = byIndex.get(entry.index) ?? [];
    group.push({ key: command.key, value: JSON.stringify(command.value), taken: isTaken(entry.result) });
    byIndex.set(entry.index, group);
  }
  return byIndex;
}

export function checkReplayedKv(log: readonly ReplayedKvEntry[], committed: readonly CommittedEntry[]): KvReplayReport {
  const keys = new Set(log.map((step) => step.key));
  const held = keys.size === 0 ? new Map() : heldAt(committed, keys);
  const logged = puts(committed);
  const lastIndex = committed.length === 0 ? 0 : committed[committed.length - 1]!.index;
  const violations: KvReplayViolation[] = [];
  let compared = 0;
  let combined = 0;
  for (const step of log) {
    if ((step.outcome !== 'ok' && step.outcome !== 'refused') || step.index === undefined || step.index > lastIndex) continue;
    const { key, index } = step;
    if (step.op === 'get' && step.outcome !== 'ok') continue;
    compared += 1;
    if (step.op === 'get') {
      const told = JSON.stringify(step.values ?? []);
      const values = step.values ?? [];
      if (values.length > 1 || (Array.isArray(values[0]) && values[0].length > 1)) combined += 1;
      const states = held.get(index)?.get(key) ?? new Set<string>();
      if (!states.has(told)) {
        violations.push({ kind: 'read_mismatch', key, index, message: `a get by ${step.client} was told ${told}; the log held ${[...states].join(' or ') || 'nothing'} there` });
      }
      continue;
    }
    const value = JSON.stringify(step.value);
    const taken = step.outcome === 'ok';
    if (!(logged.get(index) ?? []).some((put) => put.key === key && put.value === value && put.taken === taken)) {
      const told = taken ? 'taken' : `refused (${step.code})`;
      violations.push({ kind: 'acknowledged_missing', key, index, message: `a put of ${value} by ${step.client} was told ${told}; the log has no such answer there` });
    }
  }
  violations.sort((a, b) => a.index - b.index);
  const shown = violations.slice(0, SUMMARY_LINES).map((violation) => `  [${violation.kind}] key ${JSON.stringify(violation.key)} at ${violation.index}: ${violation.message}`);
  const summary =
    violations.length === 0
      ? `replayed keys agree with the log: ${compared} requests compared, ${combined} reads of kept or combined versions`
      : [`${violations.length} replayed-key violation(s):`, ...shown].join('\n');
  return { ok: violations.length === 0, violations, compared, combined, summary };
}
