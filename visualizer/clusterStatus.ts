import type { ElectionRole } from '../machines/election.machine';
import type { RoundStateName } from '../machines/round.types';
import type { ServicesView } from './live/servicesView';

/** What the live view shows of one node, whichever cluster runs it. */
export interface ClusterNodeStatus {
  name: string;
  byzantine: boolean;
  down: boolean;
  /** Some link of it is cut, by a planned partition or by hand. */
  partitioned: boolean;
  /** Cut off from every node by hand (the page's partition button), until healed. */
  isolated: boolean;
  /** 1 for the first boot, +1 per restart. */
  incarnation: number;
  /** Session id of this incarnation's root actor: its inspection events carry it as `rootId`. */
  rootId: string | null;
  role: ElectionRole;
  term: number;
  leader: string | null;
  state: RoundStateName | null;
  activeRank: number;
  /** Heights its ledger holds finalized (kept across its crashes); 0 for a node that keeps none. */
  height: number;
  /** The node's applied coordination services (bounded, see `servicesView.ts`); null while down, and on Byzantine nodes. */
  services: ServicesView | null;
}

export type ClusterFaultKind = 'partition' | 'heal' | 'crash' | 'restart';

export interface ClusterFault {
  kind: ClusterFaultKind;
  /** The node, or for a planned partition its groups (`n0,n1 | n2,n3`). */
  node: string;
  /** Simulated ms. */
  at: number;
  /** Set from the page rather than planned by the run's options: the run's command no longer replays it. */
  byHand?: true;
}

