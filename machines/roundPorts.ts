import type { RoundSafetyState, RoundThresholds } from './round.types';
import type { Identity, Unique } from '../providers/unique';

/** Inputs of the invoked provider calls: plain records, so the inspector can show them. */
export interface ProviderCallInputs {
  synchronize: { existing: Unique };
  getNextLeaders: { prior: Unique };
  collect: Record<string, never>;
  sendLiveness: { prior: Unique; collected: Unique };
  proveNextState: { prior: Unique; collected: Unique };
  sendProposal: { proposal: Unique; rank: number; attempt: number; validAttempt: number | null };
  /** Empty `proposals`: nothing may be voted for; the provider sends a nil vote. */
  decideAndSendVote: { proposals: Readonly<Record<Identity, Unique>>; rank: number; attempt: number };
  finalizeVotes: { proposals: Readonly<Record<Identity, Unique>>; votes: Readonly<Record<Identity, Unique>> };
  /** `finalized` null: a nil confirmation. */
  sendConfirmation: { finalized: Unique | null; rank: number; attempt: number };
  loadSafety: Record<string, never>;
  saveSafety: { record: RoundSafetyState };
  cleanup: Record<string, never>;
}

/** What each provider call resolves with, as the round machine takes it. */
export interface ProviderCallOutputs {
  synchronize: Unique;
  getNextLeaders: Unique[];
  collect: Unique;
  sendLiveness: void;
  proveNextState: Unique;
  sendProposal: void;
  decideAndSendVote: { proposer: Unique | null; vote: Unique };
  finalizeVotes: { state: Unique; proposer: Unique };
  sendConfirmation: void;
  loadSafety: RoundSafetyState | null;
  saveSafety: void;
  cleanup: void;
}

export type ProviderCall = keyof ProviderCallInputs;

/**
 * One engine's way out of its round actor: the app's providers behind every
 * invoked call, and how thresholds follow the active state. It travels in the
 * round's input, so every engine of a process runs the one machine
 * definition (building a definition per engine with `provide()` is most of an
 * idle engine's memory).
 */
export type RoundPorts = {
  readonly [K in ProviderCall]?: (input: ProviderCallInputs[K], signal: AbortSignal) => Promise<ProviderCallOutputs[K]>;
} & {
  /** The thresholds for a newly active state; absent or undefined: the current ones stay. */
  readonly thresholdsFor?: (active: Unique) => RoundThresholds | undefined;
};

// Keyed by the actor system: one round runs per system (an engine's own, or a node's).
const bySystem = new WeakMap<object, RoundPorts>();

/** Called as the round's context is made, before any provider call can run. */
export function bindRoundPorts(system: object, ports: RoundPorts): void {
  bySystem.set(system, ports);
}

/** The ports of the round in `system`; none when the machine runs unconfigured. */
export function roundPortsOf(system: object): RoundPorts | undefined {
  return bySystem.get(system);
}
