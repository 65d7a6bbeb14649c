import { ProposalError } from '../../engine/errors';
import type { CoordinationConfig } from '../../services/coordination';
import { CoordinationHost, type CarriedCommand } from '../../services/host';
import { MAX_SERVICE_TEXT, SERVICE_ENTRY } from './rules';
import type { LedgerFrame } from './types';

/**
 * The coordination services carried by the ledger: a command is the entry
 * `s:<name>:<JSON>` and a linearizable read `r:<name>:<JSON>`, the name
 * unique to the proposal, the JSON in printable ASCII. They are applied at
 * the committed time of the frame that carries them.
 */

/** `value` as JSON in printable ASCII, anything else written as \u escapes; throws `ProposalError` when it is not JSON. */
export function asciiJson(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) throw new ProposalError('malformed', 'the payload must be JSON');
  return json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The entry carrying a command or a read under `name`; throws `ProposalError` (`too_large`, `malformed`) when it cannot. */
export function serviceEntry(kind: 'command' | 'read', body: unknown, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(name)) throw new ProposalError('malformed', 'a service entry name is 1–32 of [A-Za-z0-9_-]');
  const text = asciiJson(body);
  if (text.length > MAX_SERVICE_TEXT) throw new ProposalError('too_large', `a service entry's JSON may take ${MAX_SERVICE_TEXT} characters, this one ${text.length}`);
  return `${kind === 'command' ? 's' : 'r'}:${name}:${text}`;
}

/** The commands and reads a frame carries, in its order, each under its entry (the payload's name). */
export function serviceCommandsIn(frame: LedgerFrame): CarriedCommand[] {
  const out: CarriedCommand[] = [];
  for (const entry of frame.entries) {
    if (!SERVICE_ENTRY.test(entry)) continue;
    const kind = entry[0] === 's' ? 'command' : 'read';
    const text = entry.slice(entry.indexOf(':', 2) + 1);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the services refuse it as an invalid command, the same way on every node.
      body = text;
    }
    out.push({ name: entry, kind, body });
  }
  return out;
}

/**
 * The coordination services over the ledger's frames, for the engine's
 * `stateMachine`. `config.kv.merges` registers the application's KV merges;
 * every node of the cluster must be built with the same ones.
 */
export function ledgerCoordination(config?: CoordinationConfig): CoordinationHost<LedgerFrame> {
  return new CoordinationHost<LedgerFrame>({ commandsIn: serviceCommandsIn, timeOf: (frame) => frame.time, config });
}
