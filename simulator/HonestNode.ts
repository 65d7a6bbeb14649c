import { createConsensusEngine } from '../engine/createConsensusEngine';
import type { RoundTimeouts } from '../machines/round.types';
import type { ConsensusClock } from '../providers/clock';
import type { RandomSource } from '../providers/random';
import type { SimulatedNetwork } from '../providers/simulatedNetwork';
import { LedgerNode, type DeliveryOutcome, type LedgerEngine, type LedgerNodeOptions } from '../examples/ledger/LedgerNode';
import { LedgerStore } from '../examples/ledger/LedgerStore';
import type { LedgerMessage } from '../examples/ledger/messages';
import type { LedgerFrame } from '../examples/ledger/types';

/** What an honest node needs from the simulation around it. */
export interface HonestNodeWorld {
  clock: ConsensusClock;
  network: SimulatedNetwork<LedgerMessage>;
  members: readonly string[];
  /** Sends through the network (and lets the checker see proposals). */
  send: (from: string, to: string, message: LedgerMessage) => void;
  ledgerOptions: Omit<LedgerNodeOptions, 'self' | 'members' | 'clock' | 'random' | 'send' | 'store'>;
  timeouts: Partial<RoundTimeouts>;
  /** How long a restarted node listens before it votes (`LedgerNodeOptions.listenFirstMs`). */
  rejoinQuietMs: number;
  onFinalized: (node: string, frame: LedgerFrame, via: 'commit' | 'sync') => void;
  onDelivered: (node: string, from: string, message: LedgerMessage, outcome: DeliveryOutcome) => void;
  onTransition: (node: string, from: string, to: string, event: string) => void;
  /** The engine threw something untyped, or its actor failed. */
  onEngineFailure: (node: string, error: unknown) => void;
}

/**
 * One honest member: a ledger node and its engine, with a store that outlives
 * crashes. A crash stops the actor on the spot (no cleanup, like a killed
 * process) and detaches the node from the network; a restart builds a new
 * ledger node and engine on the same store, which then re-syncs from peers.
 */
export class HonestNode {
  readonly store = new LedgerStore();
  ledger!: LedgerNode;
  engine!: LedgerEngine;
  crashes = 0;
  framesSynced = 0;
  peakHeldMessages = 0;
  down = false;
  private previousTransitions = 0;
  private previousProviderErrors = 0;
  readonly refused: Record<string, number> = {};

  constructor(
    readonly name: string,
    private readonly world: HonestNodeWorld,
    private readonly random: RandomSource,
  ) {}

  boot(): void {
    const { world, name } = this;
    const restart = this.crashes > 0;
    this.ledger = new LedgerNode({
      ...world.ledgerOptions,
      listenFirstMs: restart ? world.rejoinQuietMs : 0,
      self: name,
      members: world.members,
      clock: world.clock,
      // A fresh stream per incarnation, drawn from the node's own.
      random: this.random.fork(),
      send: (to, message) => world.send(name, to, message),
      store: this.store,
    });
    this.engine = createConsensusEngine({ ...this.ledger.engineConfig(), timeouts: world.timeouts });
    this.engine.actor.subscribe({ error: (error) => world.onEngineFailure(name, error) });
    this.ledger.attach(this.engine);
    this.ledger.onFinalized((frame, via) => {
      if (via === 'sync') this.framesSynced += 1;
      world.onFinalized(name, frame, via);
    });
    this.engine.addListener((from, to, event) => world.onTransition(name, from, to, event));
    world.network.attach(name, (from, message) => this.receive(from, message));
    this.down = false;
    this.ledger.start();
  }

  crash(): void {
    if (this.down) return;
    this.down = true;
    this.crashes += 1;
    this.previousTransitions += this.engine.getTransitionCount();
    this.previousProviderErrors += this.engine.getProviderErrorCount();
    this.world.network.detach(this.name);
    this.ledger.halt();
    this.engine.actor.stop();
  }

  get transitions(): number {
    return this.previousTransitions + (this.down ? 0 : this.engine.getTransitionCount());
  }

  get providerErrors(): number {
    return this.previousProviderErrors + (this.down ? 0 : this.engine.getProviderErrorCount());
  }

  head(): LedgerFrame {
    return this.store.head();
  }

  halt(): void {
    if (this.down) return;
    this.ledger.halt();
    this.engine.actor.stop();
  }

  private receive(from: string, message: LedgerMessage): void {
    let outcome: DeliveryOutcome;
    try {
      outcome = this.ledger.deliver(from, message);
    } catch (error) {
      this.world.onEngineFailure(this.name, error);
      return;
    }
    if (outcome !== 'accepted' && outcome !== 'duplicate' && outcome !== 'answered') {
      this.refused[outcome] = (this.refused[outcome] ?? 0) + 1;
    }
    this.world.onDelivered(this.name, from, message, outcome);
  }
}
