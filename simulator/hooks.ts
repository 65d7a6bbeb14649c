import type { InspectionEvent, Observer } from 'xstate';
import type { ElectionMessage } from '../machines/election.schemas';
import type { LogEntry } from '../engine/commitLog';
import type { ElectionStorage } from '../providers/storage';
import type { CoordinationPort } from '../services/port';
import type { LedgerFrame, LedgerPeer } from '../examples/ledger/types';
import type { LedgerMessage } from '../examples/ledger/messages';
import type { EventClock } from './EventClock';
import type { EventTrace } from './EventTrace';
import type { HonestNode } from './HonestNode';
import type { SimulatedStorage } from './simulatedDisk';

/** What a caller of `runSimulation` may watch or break on purpose. */
export interface SimulationHooks {
  /** Called when the slowest live honest node finalizes a new height. */
  onProgress?: (finalized: number, target: number) => void;
  /** Receives the trace after the run (e.g. to keep it when `keepTrace`). */
  onTrace?: (trace: EventTrace) => void;
  /**
   * Test-only: a deliberately broken election rule, to show the checker
   * catches it. `outgoing` rewrites what an honest node sends (the checker
   * sees the rewritten message: a broken voter); `incoming` rewrites what it
   * reads (the checker saw the original: a broken counter).
   */
  sabotageElection?: {
    outgoing?: (from: string, to: string, message: ElectionMessage) => ElectionMessage;
    incoming?: (from: string, to: string, raw: unknown) => unknown;
    /** Replaces what a node's election persists through (e.g. a disk that forgets the vote). */
    storage?: (node: string, storage: SimulatedStorage) => ElectionStorage;
  };
  /**
   * Test-only: true drops a round message a node sends `to` a peer before
   * the network sees it, an omission fault on purpose (e.g. an aggregator
   * that sends its proofs to some members only). Signatures cannot be made
   * by omitting, so safety must hold whatever it drops.
   */
  omitRound?: (from: string, to: string, message: LedgerMessage) => boolean;
  /**
   * Test-only: rewrites an honest node's log entry before log matching (and
   * `logs`) sees it: a forged certificate or a diverging value, to show the
   * check catches it and that its violation fails the run.
   */
  sabotageLog?: (node: string, entry: LogEntry<LedgerFrame, LedgerPeer>) => LogEntry<LedgerFrame, LedgerPeer>;
  /**
   * Clients of the coordination services: given, every honest node hosts
   * them, this starts once the nodes boot, and the run lasts until it ends
   * (and the rounds are reached), unless a violation or a stall ends it first.
   */
  workload?: (cluster: ServicesCluster) => Promise<void>;
  /**
   * An inspection observer for each incarnation of an honest node (the live
   * view draws its machines from them). Observing changes nothing in the run.
   */
  inspect?: (node: string, incarnation: number) => Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  /**
   * Asked before each instant of simulated time, with the time it is due at:
   * the run goes on once what it returns resolves. It lets a person watch a
   * run at a chosen pace; waiting changes nothing in the run, so the same
   * options give the same report paced or not.
   */
  pace?: (next: number) => Promise<void> | void;
  /**
   * The cluster once it is built and before it boots, for a viewer to read as
   * the run goes; a fault set through it by hand makes a run its options no
   * longer replay.
   */
  onCluster?: (cluster: SimulatedCluster) => void;
}

/** What a viewer may read of a run's cluster while it runs, and the one fault it may set by hand. */
export interface SimulatedCluster {
  readonly clock: EventClock;
  readonly names: readonly string[];
  readonly byzantineNames: readonly string[];
  readonly honest: ReadonlyMap<string, HonestNode>;
  /** Whether a partition cuts the link between `a` and `b` now. */
  isCut(a: string, b: string): boolean;
  /** Whether `node` is attached to the network (a crashed node is not). */
  isAttached(node: string): boolean;
  /**
   * Cuts every link of `node` both ways (every message lost), or gives them
   * back the run's conditions. Between two instants only. Crashes by hand go
   * through `honest`'s nodes (`crash`, `boot`).
   */
  isolate(node: string, isolated: boolean): void;
}

/** What a services workload sees of the run. */
export interface ServicesCluster {
  readonly clock: EventClock;
  /** The honest nodes, which serve clients. */
  readonly honest: readonly string[];
  /** A client's connection to honest node `node`, across its crashes. */
  portOf(node: string): CoordinationPort;
  /** The frames honest node `node` has finalized, genesis first. */
  framesOf(node: string): readonly LedgerFrame[];
}
