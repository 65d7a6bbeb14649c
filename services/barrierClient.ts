import type { BarrierStatus, BarrierView } from './barrierCommands';
import { waitForRelease, type BarrierPassed, type WaitClock } from './barrierWait';
import { commands, queries, type BarrierOptions } from './commandBuilders';
import type { Consistency, QueryOptions, SubmitOptions } from './port';
import type { Committed, PortCaller } from './portCaller';

export interface BarrierCreated {
  readonly barrier: string;
  readonly generation: number;
  /** Whether the generation takes arrivals now; a stage after another opens once that one releases it. */
  readonly open: boolean;
  /** Arrivals that release a generation. */
  readonly required: number;
}

export interface ArriveOptions extends SubmitOptions {
  /** The generation meant: an arrival for one that already ended is refused (`wrong_generation`) instead of counting toward the next. */
  readonly generation?: number;
}

export interface BarrierWaitOptions {
  /** On the clients' clock (`Date.now()`'s unless another was given); also each request's deadline at the port. */
  readonly deadline: number;
  /** Between reads; default 100 ms. */
  readonly pollMs?: number;
  /**
   * Of the reads; default `stale`. An ending a node has applied was
   * committed, so a stale read cannot show a release that did not happen:
   * it may only show it later, and it costs no log entry per read.
   */
  readonly consistency?: Consistency;
}

export interface BarrierClient {
  create(barrier: string, participants: readonly string[], options?: BarrierOptions & SubmitOptions): Promise<Committed<BarrierCreated>>;
  delete(barrier: string, options?: SubmitOptions): Promise<Committed<{ readonly status: 'deleted' }>>;
  join(barrier: string, participant: string, options?: SubmitOptions): Promise<Committed<BarrierStatus>>;
  leave(barrier: string, participant: string, options?: SubmitOptions): Promise<Committed<BarrierStatus>>;
  /** Counts toward the current generation; `status: 'released'` when this arrival completed it. */
  arrive(barrier: string, participant: string, options?: ArriveOptions): Promise<Committed<BarrierStatus>>;
  get(barrier: string, options?: QueryOptions): Promise<Committed<BarrierView>>;
  list(options?: QueryOptions): Promise<Committed<{ readonly barriers: readonly BarrierView[] }>>;
  /**
   * Arrives, then reads the barrier until the generation arrived for ends:
   * resolves when it is released, throws `barrier_failed` when it failed,
   * `wait_timeout` past the deadline (the arrival stands).
   */
  wait(barrier: string, participant: string, options: BarrierWaitOptions): Promise<BarrierPassed>;
}

export function barrierClient(caller: PortCaller, clock: WaitClock): BarrierClient {
  const client: BarrierClient = {
    async create(barrier, participants, { threshold, timeoutMs, onTimeout, after, deadline } = {}) {
      return caller.submit(commands.createBarrier(barrier, participants, { threshold, timeoutMs, onTimeout, after }), { deadline });
    },
    async delete(barrier, options = {}) {
      return caller.submit(commands.deleteBarrier(barrier), options);
    },
    async join(barrier, participant, options = {}) {
      return caller.submit(commands.join(barrier, participant), options);
    },
    async leave(barrier, participant, options = {}) {
      return caller.submit(commands.leave(barrier, participant), options);
    },
    async arrive(barrier, participant, { generation, deadline } = {}) {
      return caller.submit(commands.arrive(barrier, participant, generation), { deadline });
    },
    async get(barrier, options = {}) {
      return caller.query(queries.barrier(barrier), options);
    },
    async list(options = {}) {
      return caller.query(queries.barriers(), options);
    },
    async wait(barrier, participant, { deadline, pollMs, consistency = 'stale' }) {
      const steps = {
        arrive: () => client.arrive(barrier, participant, { deadline }),
        read: () => client.get(barrier, { consistency, deadline }),
      };
      return waitForRelease(barrier, steps, { deadline, pollMs, clock });
    },
  };
  return client;
}
