import { commands, queries } from '../../../services';
import type { CoordinationPort } from '../../../services/port';
import type { RandomSource } from '../../../providers/random';
import type { BarrierSeen, ServiceRecorder } from './recorder';

/**
 * A client's barrier requests in the services workload. Every client knows
 * the same few barriers by name and plays each the same way: create it if no
 * one has (a refusal that it exists is as good), join it, and then, in the
 * same step, arrive, read it, or leave it. Participants come and go, so a partial barrier's
 * threshold is counted over a membership that changes under it.
 */

export interface BarrierSpec {
  readonly barrier: string;
  readonly threshold?: number;
  /** null: no deadline; left out: the service's default. */
  readonly timeoutMs?: number | null;
  readonly onTimeout?: 'fail' | 'release';
  /** The stage this one follows. */
  readonly after?: string;
}

/**
 * A full barrier that times out into failure when not everyone comes, a
 * partial one with no deadline, and a stage after it that releases with
 * whoever came when its deadline passes.
 */
export const WORKLOAD_BARRIERS: readonly BarrierSpec[] = [
  { barrier: 'B0', threshold: 1, timeoutMs: 4_000, onTimeout: 'fail' },
  { barrier: 'B1', threshold: 0.5, timeoutMs: null },
  { barrier: 'B2', threshold: 0.5, timeoutMs: 3_000, onTimeout: 'release', after: 'B1' },
];

export interface BarrierActorOptions {
  readonly name: string;
  readonly port: CoordinationPort;
  readonly recorder: ServiceRecorder;
  readonly random: RandomSource;
  readonly barriers: readonly BarrierSpec[];
  readonly deadline: () => { deadline: number };
  readonly sleep: (ms: number) => Promise<void>;
  /** How long after a waiting arrival the client reads the barrier; default 200 ms. */
  readonly readAfterMs?: number;
}

interface Known {
  created: boolean;
  member: boolean;
  /** The generation the client last saw, passed with some arrivals so that a late one is refused instead of counting. */
  generation?: number;
}

export class BarrierActor {
  private readonly known = new Map<string, Known>();

  constructor(private readonly options: BarrierActorOptions) {}

  /** A request on one barrier, with the create or join it needs first, and the read an arrival may be followed by. */
  async step(): Promise<void> {
    const { random, barriers } = this.options;
    const spec = barriers[random.integer(0, barriers.length - 1)]!;
    let known = this.known.get(spec.barrier);
    if (known === undefined) this.known.set(spec.barrier, (known = { created: false, member: false }));
    // Creating and joining lead straight on to the barrier's use, so that few steps are spent only getting ready.
    if (!known.created) await this.create(spec, known);
    if (known.created && !known.member) await this.join(spec.barrier, known);
    if (!known.member) return;
    const draw = random.fraction();
    if (draw < 0.65) return this.arrive(spec.barrier, known);
    if (draw < 0.85) return void (await this.read(spec.barrier, known));
    return this.leave(spec.barrier, known);
  }

  private submit(command: unknown, done: (outcome: Awaited<ReturnType<CoordinationPort['submit']>>) => BarrierSeen): Promise<BarrierSeen> {
    return this.options.port.submit(command, this.options.deadline()).then(done);
  }

  private forget(known: Known, seen: BarrierSeen): void {
    if (seen.kind !== 'refused') return;
    if (seen.code === 'unknown_barrier') known.created = known.member = false;
    if (seen.code === 'not_participant') known.member = false;
    if (seen.code === 'wrong_generation') known.generation = undefined;
  }

  private async create(spec: BarrierSpec, known: Known): Promise<void> {
    const { barrier, ...options } = spec;
    const { name, recorder } = this.options;
    const seen = await this.submit(commands.createBarrier(barrier, [name], options), recorder.barrierCommand(name, 'create', barrier));
    if (seen.kind === 'ok') known.created = known.member = true;
    if (seen.kind === 'refused' && seen.code === 'barrier_exists') known.created = true;
  }

  private async join(barrier: string, known: Known): Promise<void> {
    const { name, recorder } = this.options;
    const seen = await this.submit(commands.join(barrier, name), recorder.barrierCommand(name, 'join', barrier, name));
    if (seen.kind === 'ok') known.member = true;
    this.forget(known, seen);
  }

  private async leave(barrier: string, known: Known): Promise<void> {
    const { name, recorder } = this.options;
    const seen = await this.submit(commands.leave(barrier, name), recorder.barrierCommand(name, 'leave', barrier, name));
    if (seen.kind === 'ok') known.member = false;
    this.forget(known, seen);
  }

  private async arrive(barrier: string, known: Known): Promise<void> {
    const { name, recorder, random } = this.options;
    const generation = known.generation !== undefined && random.fraction() < 0.5 ? known.generation : undefined;
    const seen = await this.submit(commands.arrive(barrier, name, generation), recorder.barrierCommand(name, 'arrive', barrier, name));
    this.forget(known, seen);
    if (seen.kind !== 'ok') return;
    known.generation = seen.status === 'released' ? seen.generation + 1 : seen.generation;
    // A waiting participant looks again later, as `barriers.wait` does, to learn how its generation ended.
    if (seen.status === 'waiting' && random.fraction() < 0.5) {
      await this.options.sleep(this.options.readAfterMs ?? 200);
      await this.read(barrier, known);
    }
  }

  private async read(barrier: string, known: Known): Promise<BarrierSeen> {
    const { name, recorder, port } = this.options;
    const done = recorder.barrierRead(name, barrier);
    const seen = done(await port.query(queries.barrier(barrier), { consistency: 'linearizable', ...this.options.deadline() }));
    if (seen.kind === 'view') known.generation = seen.generation;
    this.forget(known, seen);
    return seen;
  }
}
