import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clusterDown, clusterUp } from '../server/localCluster';

/** Our cluster for a bench: node processes of the built CLI on 127.0.0.1, as `cluster up` runs them. */
export interface OurCluster {
  members: Array<{ id: string; pid: number; clientUrl: string }>;
  /** Ends the node processes this cluster started (SIGTERM, then SIGKILL after `graceMs`), and only them. */
  stop(graceMs?: number): Promise<void>;
}

/** Ends the node processes `dir/cluster.json` lists that still run their node, by pid; none when there is no such file yet. */
export async function stopOurCluster(dir: string, graceMs = 10_000): Promise<void> {
  if (existsSync(join(dir, 'cluster.json'))) await clusterDown(dir, graceMs);
}

/**
 * Brings `size` nodes of `cli` up in `dir`, resolving once every node serves
 * clients, at most `timeoutMs`. Its processes are listed in `dir` as soon as
 * they start: `stopOurCluster(dir)` ends them, whether or not they became ready.
 */
export async function startOurCluster(cli: string, dir: string, size: number, timeoutMs = 30_000): Promise<OurCluster> {
  const cluster = await clusterUp(dir, size, cli, timeoutMs);
  return {
    members: cluster.nodes.map((node) => ({ id: node.id, pid: node.pid!, clientUrl: node.clientUrl })),
    stop: (graceMs) => stopOurCluster(dir, graceMs),
  };
}
