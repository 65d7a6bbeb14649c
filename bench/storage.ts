import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeWalFs, openWal, type WalFs } from '../storage/wal';

/**
 * What a durable append costs on this machine's disk: the write-ahead log
 * (`storage/wal.ts`) in a fresh directory under the system's temp directory,
 * appends awaited one at a time (each pays a whole fdatasync) and in batches
 * of concurrent appends (which share one by group commit), per record size.
 */
export interface StorageBenchRow {
  recordBytes: number;
  /** Appends in flight together: 1 (each awaited before the next) or the batch size. */
  concurrency: number;
  appends: number;
  /** fdatasync calls the appends took (group commit makes them fewer than the appends). */
  syncs: number;
  wallMs: number;
  appendsPerSecond: number;
  /** From the call to `append` to its promise resolving, in µs. */
  latencyUs: { p50: number; p99: number; max: number };
}

export interface StorageBenchResult {
  /** The temp directory's parent: the file system measured. */
  directory: string;
  /** One fdatasync of an appended record, timed around the call, in µs. */
  fdatasyncUs: { p50: number; p99: number; max: number };
  rows: StorageBenchRow[];
}

export interface StorageBenchOptions {
  /** Appends per row. */
  appends?: number;
  /** Concurrent appends per batch in the batched rows. */
  batch?: number;
  recordSizes?: number[];
}

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50: at(0.5), p99: at(0.99), max: Math.round(sorted[sorted.length - 1] ?? 0) };
}

const microseconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1000;

async function runRow(recordBytes: number, concurrency: number, appends: number, syncTimes: number[]): Promise<StorageBenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'wal-bench-'));
  let syncs = 0;
  const fs: WalFs = {
    ...nodeWalFs,
    fdatasync: async (fd) => {
      syncs += 1;
      const start = process.hrtime.bigint();
      await nodeWalFs.fdatasync(fd);
      syncTimes.push(microseconds(start));
    },
  };
  try {
    const wal = await openWal(dir, { fs });
    syncs = 0;
    const payload = Buffer.alloc(recordBytes, 0x61);
    const latencies: number[] = [];
    const timed = async () => {
      const start = process.hrtime.bigint();
      await wal.append(payload);
      latencies.push(microseconds(start));
    };
    const start = process.hrtime.bigint();
    for (let done = 0; done < appends; done += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, appends - done) }, timed));
    }
    const wallMs = microseconds(start) / 1000;
    await wal.close();
    return { recordBytes, concurrency, appends, syncs, wallMs, appendsPerSecond: appends / (wallMs / 1000), latencyUs: percentiles(latencies) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runStorageBench({ appends = 2000, batch = 64, recordSizes = [128, 1024] }: StorageBenchOptions = {}): Promise<StorageBenchResult> {
  const syncTimes: number[] = [];
  const rows: StorageBenchRow[] = [];
  for (const recordBytes of recordSizes) {
    for (const concurrency of [1, batch]) rows.push(await runRow(recordBytes, concurrency, appends, syncTimes));
  }
  return { directory: tmpdir(), fdatasyncUs: percentiles(syncTimes), rows };
}

export function storageTable(result: StorageBenchResult): string {
  const lines = [
    `write-ahead log in ${result.directory}: one fdatasync p50 ${result.fdatasyncUs.p50} µs, p99 ${result.fdatasyncUs.p99} µs`,
    'record B  in flight  appends  syncs  appends/sync  wall ms  appends/s  latency p50/p99 µs',
  ];
  for (const row of result.rows) {
    lines.push(
      [
        String(row.recordBytes).padStart(8),
        String(row.concurrency).padStart(9),
        String(row.appends).padStart(7),
        String(row.syncs).padStart(5),
        (row.appends / Math.max(1, row.syncs)).toFixed(1).padStart(12),
        row.wallMs.toFixed(0).padStart(7),
        row.appendsPerSecond.toFixed(0).padStart(9),
        `${row.latencyUs.p50}/${row.latencyUs.p99}`.padStart(18),
      ].join('  '),
    );
  }
  return `${lines.join('\n')}\n`;
}
