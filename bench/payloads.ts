import { DEFAULT_MAX_BATCH } from '../engine/proposals/options';
import { payloadCluster } from './payloadCluster';
import { measureSigningCost, type SigningCost } from './signing';

/**
 * Committed payloads per second through `engine.propose`: a 4-node
 * in-process cluster (1 ms links on a simulated clock, so the wall time is
 * the CPU the cluster spends), each node kept at its pending bound, until
 * every payload settled. Run side by side: with keys and without, batched
 * (the default bounds) and one payload per proposal.
 */
export interface PayloadBenchRow {
  size: number;
  signed: boolean;
  maxBatch: number;
  payloads: number;
  ranks: number;
  wallMs: number;
  payloadsPerSecond: number;
  ranksPerSecond: number;
  /** Signed votes and confirmations (nil ones included) each node made per rank. */
  signsPerNodePerRank: number;
  /** Ed25519 verifications per rank for the whole cluster (the shared verifier's misses). */
  verifiesPerRank: number;
  /** Simulated ms from `propose` to its promise settling `committed`: what a client waits with 1 ms links and instant proofs. */
  latencyMs: { p50: number; p99: number; max: number };
}

export interface PayloadBenchOptions {
  payloads?: number;
  size?: number;
  signed?: boolean;
  maxBatch?: number;
}

export async function runPayloadBench({ payloads = 2000, size = 4, signed = true, maxBatch = DEFAULT_MAX_BATCH }: PayloadBenchOptions = {}): Promise<PayloadBenchRow> {
  const cluster = payloadCluster({ size, signed, proposals: { maxBatch, validate: undefined } });
  let proposed = 0;
  let settled = 0;
  let failed = 0;
  const latencies: number[] = [];
  const feed = () => {
    for (const engine of cluster.engines.values()) {
      while (proposed < payloads && engine.getPendingProposalCount() < 128) {
        const payload = `payload-${proposed}`;
        proposed += 1;
        const at = cluster.clock.now();
        engine.propose(payload).then(
          (outcome) => {
            settled += 1;
            if (outcome.outcome !== 'committed') failed += 1;
            else latencies.push(cluster.clock.now() - at);
          },
          () => {
            settled += 1;
            failed += 1;
          },
        );
      }
    }
  };
  const start = process.hrtime.bigint();
  for (const engine of cluster.engines.values()) engine.start();
  const finished = await cluster.runUntil(() => {
    feed();
    return settled >= payloads;
  }, 600_000);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const ranks = cluster.engine('n0').log.size;
  await cluster.stop();
  if (!finished || failed > 0) throw new Error(`payload bench: ${settled}/${payloads} settled, ${failed} not committed`);
  const signedMessages = (cluster.sent.get('vote') ?? 0) + (cluster.sent.get('confirmation') ?? 0);
  return {
    size,
    signed,
    maxBatch,
    payloads,
    ranks,
    wallMs,
    payloadsPerSecond: payloads / (wallMs / 1000),
    ranksPerSecond: ranks / (wallMs / 1000),
    signsPerNodePerRank: signed ? signedMessages / (size - 1) / size / ranks : 0,
    verifiesPerRank: cluster.verifier.verifications / ranks,
    latencyMs: percentiles(latencies),
  };
}

export interface PayloadBenchResult {
  signing: SigningCost;
  /** Median of three runs of each configuration, run interleaved after one warm-up of each. */
  rows: PayloadBenchRow[];
}

/** Batched runs propose `payloads`; one-per-proposal runs a tenth as many (each costs a whole rank). */
export async function runPayloadBenches({ payloads = 3000 }: { payloads?: number } = {}): Promise<PayloadBenchResult> {
  const signing = measureSigningCost();
  const configurations = [false, true].flatMap((signed) => [1, DEFAULT_MAX_BATCH].map((maxBatch) => ({ signed, maxBatch, payloads: maxBatch === 1 ? Math.max(10, Math.floor(payloads / 10)) : payloads })));
  const runs: PayloadBenchRow[][] = configurations.map(() => []);
  for (let pass = 0; pass < 4; pass += 1) {
    for (let i = 0; i < configurations.length; i += 1) {
      const row = await runPayloadBench(configurations[i]);
      if (pass > 0) runs[i].push(row);
    }
  }
  const rows = runs.map((three) => three.sort((a, b) => a.wallMs - b.wallMs)[1]);
  return { signing, rows };
}

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
