/**
 * System ids of a node's actors: one node is one XState actor system, so
 * `actor.system.get(SYSTEM_IDS.round)` finds its round machine, and the
 * inspector shows every actor under a stable name.
 */
export const SYSTEM_IDS = Object.freeze({
  /** The node machine, the root of the system. */
  node: 'node',
  /** The round machine (SPEC §2). */
  round: 'round',
  /** The Raft-lite election machine (SPEC §3). */
  election: 'election',
} as const);

export type SystemId = (typeof SYSTEM_IDS)[keyof typeof SYSTEM_IDS];
