import type { CommittedEntry } from './committedLog';
import type { BarrierLogEntry } from './recorder';

/**
 * Whether barriers kept their rules, read off the commit log and what clients
 * were told. The log's own endings are checked against the barrier rules
 * rebuilt here from the commands the log accepted, so that a release the
 * services gave without cause is caught even though every replica agrees on
 * it:
 *
 * - `release_without_cause`: a generation released on its arrivals had fewer
 *   than its threshold of the participants it had then, or ended on a
 *   timeout before its deadline, or as its `onTimeout` does not say, or
 *   failed for a previous stage that had not failed it;
 * - `ended_twice`: a generation ended more than once;
 * - `arrival_while_closed`: an arrival was taken for a generation that had
 *   not opened or had already ended;
 * - `stage_order`: a stage opened or released a generation before the stage
 *   it follows released it.
 *
 * Against what clients saw:
 *
 * - `told_released_early`: a client was told a generation was released (by
 *   its own arrival or by a read) at an index where the log had not
 *   released it;
 * - `acknowledged_missing`: a create, join, leave or arrival a client was
 *   told was taken is not in the log at the index it was told, as told;
 * - `client_mismatch`: a read showed a generation ending otherwise than the
 *   log ended it.
 */

export type BarrierViolationKind =
  | 'release_without_cause'
  | 'ended_twice'
  | 'arrival_while_closed'
  | 'stage_order'
  | 'told_released_early'
  | 'acknowledged_missing'
  | 'client_mismatch';

export interface BarrierViolation {
  readonly kind: BarrierViolationKind;
  readonly barrier: string;
  readonly index: number;
  readonly message: string;
}

export interface BarrierStats {
  readonly releasedOnArrivals: number;
  readonly releasedOnTimeout: number;
  readonly failed: number;
  /** Stage generations the log opened after a previous stage released them. */
  readonly stagesOpened: number;
  /** Arrivals clients were told were taken. */
  readonly arrivals: number;
  /** Times a client was told a generation was released, by its arrival or a read. */
  readonly toldReleased: number;
}

export interface BarrierReport {
  readonly ok: boolean;
  readonly violations: readonly BarrierViolation[];
  readonly stats: BarrierStats;
  readonly summary: string;
}

export interface BarrierCheckInput {
  readonly log: readonly BarrierLogEntry[];
  readonly committed: readonly CommittedEntry[];
}

const SUMMARY_LINES = 20;

/**
 * The checker's own copy of the threshold rule, so that a change to the
 * service's rounding shows up here as a violation rather than passing along.
 */
export function arrivalsRequired(threshold: number, participants: number): number {
  return Math.max(1, Math.ceil(threshold * participants - 1e-9));
}

interface Rules {
  readonly participants: Set<string>;
  readonly threshold: number;
  readonly timeoutMs: number | null;
  readonly onTimeout: 'fail' | 'release';
  readonly after: string | null;
}

interface Ending {
  readonly outcome: 'released' | 'failed';
  readonly reason: string;
  readonly index: number;
}

type Record_ = Readonly<Record<string, unknown>>;

function asRecord(value: unknown): Record_ | undefined {
  return typeof value === 'object' && value !== null ? (value as Record_) : undefined;
}

function barrierCommand(command: unknown): Record_ | undefined {
  const record = asRecord(command);
  return record?.service === 'barriers' ? record : undefined;
}

function takenValue(result: unknown): { value: Record_ | undefined; events: Record_[] } | undefined {
  const record = asRecord(result);
  if (record?.ok !== true) return undefined;
  const events = Array.isArray(record.events) ? (record.events as unknown[]).map(asRecord).filter((event) => event !== undefined) : [];
  return { value: asRecord(record.value), events };
}

const key = (barrier: string, generation: number): string => `${generation}@${barrier}`;

/** The barriers as the log's accepted commands and endings leave them, checked one entry at a time. */
class LogBarriers {
  readonly violations: BarrierViolation[] = [];
  readonly rules = new Map<string, Rules>();
  readonly opened = new Map<string, { index: number; time: number }>();
  readonly ended = new Map<string, Ending>();
  private readonly arrivals = new Map<string, Set<string>>();
  readonly counts = { releasedOnArrivals: 0, releasedOnTimeout: 0, failed: 0, stagesOpened: 0 };

  flag(kind: BarrierViolationKind, barrier: string, index: number, message: string): void {
    this.violations.push({ kind, barrier, index, message });
  }

  /**
   * An entry's barrier events run: deadlines and openings its time set off,
   * then what its command did. Openings are noted first (an arrival may go to
   * a generation that opened in the same entry), the command's effect next,
   * the endings after it, and the openings' stage order last (a stage may
   * open the generation its previous stage released in the same entry).
   */
  apply(entry: CommittedEntry): void {
    const taken = takenValue(entry.result);
    if (taken === undefined) return;
    const events = taken.events.filter((event) => typeof event.type === 'string' && event.type.startsWith('barrier_'));
    const opens = events.filter((event) => event.type === 'barrier_opened');
    for (const event of opens) this.opened.set(key(String(event.barrier), Number(event.generation)), { index: entry.index, time: entry.time });
    const command = barrierCommand(entry.command);
    if (command !== undefined) this.effect(entry, command, taken.value);
    for (const event of events) {
      if (event.type === 'barrier_released' || event.type === 'barrier_failed') this.ending(entry, command, event);
      if (event.type === 'barrier_deleted') this.forget(String(event.barrier));
    }
    for (const event of opens) this.stageOpened(entry, String(event.barrier), Number(event.generation));
  }

  private effect(entry: CommittedEntry, command: Record_, value: Record_ | undefined): void {
    const barrier = String(command.barrier);
    const participant = String(command.participant);
    const rules = this.rules.get(barrier);
    switch (command.op) {
      case 'create':
        this.rules.set(barrier, {
          participants: new Set(command.participants as string[]),
          threshold: typeof command.threshold === 'number' ? command.threshold : 1,
          // The service's default deadline, as the command language documents it.
          timeoutMs: command.timeoutMs === undefined ? 30_000 : (command.timeoutMs as number | null),
          onTimeout: command.onTimeout === 'release' ? 'release' : 'fail',
          after: typeof command.after === 'string' ? command.after : null,
        });
        return;
      case 'join':
        rules?.participants.add(participant);
        return;
      case 'leave':
        rules?.participants.delete(participant);
        for (const [at, arrived] of this.arrivals) if (at.endsWith(`@${barrier}`)) arrived.delete(participant);
        return;
      case 'arrive': {
        const generation = Number(value?.generation);
        const at = key(barrier, generation);
        const opened = this.opened.get(at);
        const ended = this.ended.get(at);
        if (opened === undefined || ended !== undefined) {
          const why = opened === undefined ? 'it had not opened' : `it had ${ended!.outcome} at ${ended!.index}`;
          this.flag('arrival_while_closed', barrier, entry.index, `${participant}'s arrival taken for generation ${generation}, though ${why}`);
        }
        let arrived = this.arrivals.get(at);
        if (arrived === undefined) this.arrivals.set(at, (arrived = new Set()));
        arrived.add(participant);
        return;
      }
    }
  }

  private ending(entry: CommittedEntry, command: Record_ | undefined, event: Record_): void {
    const barrier = String(event.barrier);
    const generation = Number(event.generation);
    const outcome = event.type === 'barrier_released' ? 'released' : 'failed';
    const reason = String(event.reason);
    const at = key(barrier, generation);
    const what = `generation ${generation} ${outcome} (${reason})`;
    const earlier = this.ended.get(at);
    if (earlier !== undefined) this.flag('ended_twice', barrier, entry.index, `${what}, though it had ${earlier.outcome} at ${earlier.index}`);
    this.ended.set(at, { outcome, reason, index: entry.index });
    const rules = this.rules.get(barrier);
    const unfounded = (why: string) => this.flag('release_without_cause', barrier, entry.index, `${what}: ${why}`);
    if (rules === undefined) return unfounded('the log never created the barrier');
    if (outcome === 'failed') this.counts.failed += 1;
    if (reason === 'arrivals') {
      if (outcome === 'released') this.counts.releasedOnArrivals += 1;
      const required = arrivalsRequired(rules.threshold, rules.participants.size);
      const arrived = [...(this.arrivals.get(at) ?? [])].filter((who) => rules.participants.has(who));
      const ownCommand = command !== undefined && command.barrier === barrier && (command.op === 'arrive' || command.op === 'leave');
      if (outcome !== 'released') unfounded('arrivals only ever release');
      else if (!this.opened.has(at)) unfounded('it had not opened');
      else if (arrived.length < required) {
        unfounded(`${arrived.length} of ${rules.participants.size} participants had arrived (${arrived.join(', ') || 'none'}); ${required} release it`);
      } else if (!ownCommand) unfounded('no arrival or leave of the barrier came with it');
      const told = Array.isArray(event.arrived) ? (event.arrived as string[]) : [];
      const strangers = told.filter((who) => !arrived.includes(who));
      if (strangers.length > 0) unfounded(`it names arrivals the log did not take: ${strangers.join(', ')}`);
    } else if (reason === 'timeout') {
      if (outcome === 'released') this.counts.releasedOnTimeout += 1;
      const opened = this.opened.get(at);
      const expected = rules.onTimeout === 'release' ? 'released' : 'failed';
      if (rules.timeoutMs === null) unfounded('the barrier has no deadline');
      else if (opened === undefined) unfounded('it had not opened');
      else if (entry.time < opened.time + rules.timeoutMs) {
        unfounded(`at time ${entry.time}, before its deadline ${opened.time + rules.timeoutMs} (opened at ${opened.time})`);
      }
      if (outcome !== expected) unfounded(`its barrier's onTimeout is ${rules.onTimeout}`);
    } else if (reason === 'predecessor_failed') {
      const previous = rules.after === null ? undefined : this.ended.get(key(rules.after, generation));
      if (outcome !== 'failed') unfounded('a previous stage’s failure only ever fails');
      else if (previous?.outcome !== 'failed') unfounded(`its previous stage ${JSON.stringify(rules.after)} had not failed generation ${generation}`);
    } else unfounded('no rule ends a generation for this reason');
    if (outcome === 'released' && rules.after !== null) this.stageReleased(entry, barrier, rules.after, generation);
  }

  private stageReleased(entry: CommittedEntry, barrier: string, after: string, generation: number): void {
    if (this.ended.get(key(after, generation))?.outcome === 'released') return;
    this.flag('stage_order', barrier, entry.index, `generation ${generation} released before ${JSON.stringify(after)} released it`);
  }

  private stageOpened(entry: CommittedEntry, barrier: string, generation: number): void {
    const after = this.rules.get(barrier)?.after ?? null;
    if (after === null) return;
    if (this.ended.get(key(after, generation))?.outcome === 'released') this.counts.stagesOpened += 1;
    else this.flag('stage_order', barrier, entry.index, `generation ${generation} opened before ${JSON.stringify(after)} released it`);
  }

  private forget(barrier: string): void {
    this.rules.delete(barrier);
    for (const map of [this.opened, this.ended, this.arrivals]) {
      for (const at of [...map.keys()]) if (at.endsWith(`@${barrier}`)) map.delete(at);
    }
  }
}

/** Whether the log holds, at the index a client was told, the command it was told was taken, with the answer it was told. */
function loggedAs(step: BarrierLogEntry, atIndex: readonly CommittedEntry[]): 'as told' | 'otherwise' | 'missing' {
  let found: 'otherwise' | 'missing' = 'missing';
  for (const entry of atIndex) {
    const command = barrierCommand(entry.command);
    if (command?.op !== step.step || command.barrier !== step.barrier) continue;
    if (step.participant !== undefined && command.participant !== step.participant) continue;
    if (step.step === 'create' && !(command.participants as string[]).includes(step.client)) continue;
    const value = takenValue(entry.result)?.value;
    if (value === undefined) continue;
    if (step.step === 'create') return 'as told';
    if (value.generation === step.generation && value.status === step.status) return 'as told';
    found = 'otherwise';
  }
  return found;
}

function crossCheck(log: readonly BarrierLogEntry[], committed: readonly CommittedEntry[], barriers: LogBarriers): number {
  const byIndex = new Map<number, CommittedEntry[]>();
  for (const entry of committed) {
    const group = byIndex.get(entry.index);
    if (group === undefined) byIndex.set(entry.index, [entry]);
    else group.push(entry);
  }
  const lastIndex = committed.length === 0 ? 0 : committed[committed.length - 1]!.index;
  let toldReleased = 0;
  for (const step of log) {
    if (step.outcome !== 'ok' || step.index === undefined || step.index > lastIndex) continue;
    const { barrier, index } = step;
    const who = `${step.client}${step.participant === undefined || step.participant === step.client ? '' : ` for ${step.participant}`}`;
    if (step.step === 'read') {
      const last = step.view?.last;
      if (last == null) continue;
      if (last.outcome === 'released') toldReleased += 1;
      const ended = barriers.ended.get(key(barrier, last.generation));
      if (ended !== undefined && ended.index <= index && ended.outcome === last.outcome) continue;
      const logged = ended === undefined || ended.index > index ? `had not ended it by ${index}` : `${ended.outcome} it at ${ended.index}`;
      const kind = last.outcome === 'released' ? 'told_released_early' : 'client_mismatch';
      barriers.flag(kind, barrier, index, `a read by ${who} showed generation ${last.generation} ${last.outcome}; the log ${logged}`);
      continue;
    }
    const told = step.step === 'create' ? 'created' : `${step.step} taken (${step.status} in generation ${step.generation})`;
    if (step.status === 'released') toldReleased += 1;
    const logged = loggedAs(step, byIndex.get(index) ?? []);
    if (logged === 'as told') continue;
    if (step.status === 'released') {
      barriers.flag('told_released_early', barrier, index, `${who} was told ${told}; the log's answer at ${index} was not a release`);
    } else barriers.flag('acknowledged_missing', barrier, index, `${who} was told ${told}; the log has it ${logged === 'missing' ? 'nowhere' : 'otherwise'} at ${index}`);
  }
  return toldReleased;
}

export function checkBarriers(input: BarrierCheckInput): BarrierReport {
  const barriers = new LogBarriers();
  for (const entry of input.committed) barriers.apply(entry);
  const toldReleased = crossCheck(input.log, input.committed, barriers);
  const violations = [...barriers.violations].sort((a, b) => a.index - b.index);
  const arrivals = input.log.filter((step) => step.step === 'arrive' && step.outcome === 'ok').length;
  const stats: BarrierStats = { ...barriers.counts, arrivals, toldReleased };
  const counts =
    `${stats.releasedOnArrivals} released on arrivals, ${stats.releasedOnTimeout} on timeout, ${stats.failed} failed, ` +
    `${stats.stagesOpened} stage generations opened; clients: ${arrivals} arrivals, told released ${toldReleased} times`;
  const shown = violations
    .slice(0, SUMMARY_LINES)
    .map((violation) => `  [${violation.kind}] barrier ${JSON.stringify(violation.barrier)} at ${violation.index}: ${violation.message}`);
  const first = violations.length > shown.length ? `, the first ${shown.length}` : '';
  const summary = violations.length === 0 ? `barriers kept their rules: ${counts}` : [`${violations.length} barrier violation(s)${first}:`, ...shown].join('\n');
  return { ok: violations.length === 0, violations, stats, summary };
}
