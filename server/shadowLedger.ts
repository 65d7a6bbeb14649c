import type { Logger } from 'pino';
import { createConsensusEngine } from '../engine/createConsensusEngine';
import { LedgerNode, type LedgerEngine } from '../examples/ledger/LedgerNode';
import type { LedgerMessage, LedgerMessageKind } from '../examples/ledger/messages';
import type { LedgerFrame } from '../examples/ledger/types';
import { systemClock } from '../providers/clock';
import type { RandomSource } from '../providers/random';

/**
 * What a shadow may say to its peers: requests to catch up, which an honest
 * node's peers answer anyway. Its votes, proposals and confirmations would be
 * a second voice of the member's key beside the Byzantine script's.
 */
const SHADOW_SENDS: ReadonlySet<LedgerMessageKind> = new Set(['sync_request', 'entries_request']);

export interface ShadowLedgerOptions {
  self: string;
  /** Every configured node: the members, or with `founders` the address book. */
  members: readonly string[];
  /** The members at the log's start, when the membership changes through it (the node's config `founders`). */
  founders?: readonly string[];
  privateKey: string;
  publicKeys: Readonly<Record<string, string>>;
  random: RandomSource;
  patienceMs: number;
  idleFrameMs: number;
  send: (to: string, message: LedgerMessage) => void;
  logger: Logger;
}

/**
 * The honest chain as a Byzantine member learns it from what it receives: an
 * honest ledger node and round engine (no election, no disk) fed every
 * message the member gets, so it finalizes what the honest nodes finalize
 * (their confirmations reach every member) and knows each height's parent.
 * Only its catch-up requests leave the process; everything else it would
 * send is dropped, so peers hear the member's key through the script alone.
 * Its own unsent vote counts in its own books only: a certificate it
 * completes with it holds at most the one faulty signature the cluster
 * tolerates, so it still names the frame the honest nodes finalize.
 */
export class ShadowLedger {
  readonly ledger: LedgerNode;
  readonly engine: LedgerEngine;

  constructor(options: ShadowLedgerOptions) {
    this.ledger = new LedgerNode({
      self: options.self,
      members: options.founders ?? options.members,
      ...(options.founders === undefined ? {} : { membershipChanges: true, peers: options.members }),
      clock: systemClock,
      random: options.random,
      send: (to, message) => {
        if (SHADOW_SENDS.has(message.kind)) options.send(to, message);
      },
      keys: { privateKey: options.privateKey, publicKeys: options.publicKeys },
      proofMs: { min: 0, max: 0 },
      idleProofMs: options.idleFrameMs,
      patienceMs: options.patienceMs,
    });
    this.engine = createConsensusEngine({
      ...this.ledger.engineConfig(),
      traceLogger: {
        trace: (message) => options.logger.trace({ part: 'shadow' }, message),
        error: (message, error) => options.logger.error({ part: 'shadow', err: error }, message),
      },
    });
    this.ledger.attach(this.engine);
  }

  start(): void {
    this.ledger.start();
  }

  deliver(from: string, message: unknown): void {
    this.ledger.deliver(from, message);
  }

  /** The last frame the honest nodes finalized, as far as this shadow knows. */
  head(): LedgerFrame {
    return this.ledger.head();
  }

  frameAt(height: number): LedgerFrame | undefined {
    const chain = this.ledger.store.chain();
    const frame = chain[height];
    return frame?.height === height ? frame : chain.find((candidate) => candidate.height === height);
  }

  onFinalized(listener: (frame: LedgerFrame) => void): () => void {
    return this.ledger.onFinalized((frame) => listener(frame));
  }

  async stop(): Promise<void> {
    this.ledger.halt();
    await this.engine.stop();
  }
}
