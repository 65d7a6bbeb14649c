import type { ConsensusClock } from '../../providers/clock';
import type { LedgerStore } from './LedgerStore';
import type { LedgerMembers } from './membership';
import type { LedgerMessage } from './messages';
import type { DeliveryOutcome, LedgerNodeStats } from './nodeTypes';
import { LedgerFrame } from './types';

/** Frames one sync response may carry: a peer cannot make us hold more per request. */
export const MAX_SYNC_FRAMES = 64;
/** Requests one synchronize call makes before handing over what it has. */
const MAX_SYNC_REQUESTS = 8;

interface SyncRequest {
  id: number;
  responses: Map<string, LedgerFrame[]>;
}

/** What sync needs of the node it serves. */
export interface SyncHost {
  readonly self: string;
  readonly members: LedgerMembers;
  readonly store: LedgerStore;
  readonly stats: LedgerNodeStats;
  readonly clock: ConsensusClock;
  /** How long a sync waits for peers' answers. */
  readonly syncWaitMs: number;
  send(to: string, message: LedgerMessage): void;
  broadcast(message: LedgerMessage): void;
  /** Wakes whatever waits for a change (a sync answer is one). */
  wake(): void;
  /** Resolves on the next `wake`, or at `wakeAt`. */
  waitForChange(wakeAt: number | null, signal: AbortSignal): Promise<void>;
  /** Whether these members weigh more than the faulty weight, so at least one of them is honest. */
  includesHonest(members: Iterable<string>): boolean;
}

/**
 * A ledger node's catch-up: it asks every peer for finalized frames and
 * adopts a frame only when f + 1 peers (so at least one honest one) report
 * it; and it answers peers' requests from its own store.
 */
export class LedgerSync {
  private sequence = 0;
  private request: SyncRequest | null = null;
  private pending: LedgerFrame[] = [];

  constructor(private readonly host: SyncHost) {}

  /** A crash: an answer that arrives now is for nobody. */
  cancel(): void {
    this.request = null;
  }

  /** The frames the last `synchronize` agreed on, handed over once (the engine adopted them). */
  takeAdopted(): LedgerFrame[] {
    const frames = this.pending;
    this.pending = [];
    return frames;
  }

  async synchronize(existing: LedgerFrame, signal: AbortSignal): Promise<LedgerFrame> {
    this.pending = [];
    let current = existing;
    const adopted: LedgerFrame[] = [];
    for (let request = 0; request < MAX_SYNC_REQUESTS; request += 1) {
      const responses = await this.requestFrames(current.height, signal);
      const chain = this.agreedChain(current, responses);
      adopted.push(...chain);
      if (chain.length === 0) break;
      current = chain[chain.length - 1];
      if (chain.length < MAX_SYNC_FRAMES) break;
    }
    this.pending = adopted;
    return current;
  }

  answer(from: string, id: unknown, after: unknown): DeliveryOutcome {
    if (!Number.isSafeInteger(id) || !Number.isSafeInteger(after) || (after as number) < 0) return 'ignored';
    const frames = this.host.store.framesAfter(after as number, MAX_SYNC_FRAMES).map((frame) => frame.clone());
    this.host.send(from, { kind: 'sync_response', id, frames });
    return 'answered';
  }

  collectResponse(from: string, id: unknown, frames: unknown): DeliveryOutcome {
    const request = this.request;
    if (request === null || id !== request.id || request.responses.has(from) || !Array.isArray(frames)) return 'ignored';
    if (!this.host.members.wasMember(from)) return 'ignored';
    const usable = frames.slice(0, MAX_SYNC_FRAMES).filter((frame): frame is LedgerFrame => frame instanceof LedgerFrame);
    request.responses.set(from, usable);
    this.host.wake();
    return 'accepted';
  }

  private async requestFrames(after: number, signal: AbortSignal): Promise<Map<string, LedgerFrame[]>> {
    const request: SyncRequest = { id: ++this.sequence, responses: new Map() };
    this.request = request;
    this.host.stats.syncRequests += 1;
    this.host.broadcast({ kind: 'sync_request', id: request.id, after });
    const deadline = this.host.clock.now() + this.host.syncWaitMs;
    try {
      const asked = this.host.members.audience(after + 1).filter((member) => member !== this.host.self).length;
      while (request.responses.size < asked && this.host.clock.now() < deadline) {
        await this.host.waitForChange(deadline, signal);
      }
    } finally {
      if (this.request === request) this.request = null;
    }
    return request.responses;
  }

  /** The longest chain on `from` whose every frame f + 1 responders agree on. */
  private agreedChain(from: LedgerFrame, responses: Map<string, LedgerFrame[]>): LedgerFrame[] {
    const byHeight = new Map<number, Map<string, { frame: LedgerFrame; responders: string[] }>>();
    for (const [responder, frames] of responses) {
      const seen = new Set<number>();
      for (const frame of frames) {
        if (seen.has(frame.height)) continue;
        seen.add(frame.height);
        let candidates = byHeight.get(frame.height);
        if (candidates === undefined) byHeight.set(frame.height, (candidates = new Map()));
        const entry = candidates.get(frame.hash) ?? { frame, responders: [] };
        entry.responders.push(responder);
        candidates.set(frame.hash, entry);
      }
    }
    const chain: LedgerFrame[] = [];
    let head = from;
    for (;;) {
      const candidates = [...(byHeight.get(head.height + 1)?.values() ?? [])].filter((c) => this.host.includesHonest(c.responders));
      if (candidates.length !== 1) break;
      const { frame } = candidates[0];
      // No drift bound: the frame is agreed already, and this node's clock has no say in it.
      const sound =
        frame.isWellFormed() && frame.parent === head.hash && frame.time >= head.time && this.host.members.mayHaveProved(frame.prover, frame.height);
      if (!sound) break;
      chain.push(frame);
      head = frame;
    }
    return chain;
  }
}
