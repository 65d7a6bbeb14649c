// Run in a child process by wal-crash.test.ts (bundled with esbuild), which
// kills it with SIGKILL at a moment of its choosing. It opens the log in
// argv[2] and appends records as fast as it can, `inFlight` at a time, then
// prints each record's sequence number on stdout once its append resolved:
// every number printed is a record the log promised was durable.
// First line: `open <lastSeq> <truncatedBytes> <droppedRecords>`.
import { openWal } from '../../storage/wal';
import { payloadFor } from './records';

const [dir, segmentBytes, inFlight] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
// Bounds, should the kill never come.
const MAX_APPENDS = 1_000_000;
const MAX_MS = 20_000;

async function main(): Promise<void> {
  const wal = await openWal(dir, { segmentBytes });
  const { lastSeq, truncatedBytes, droppedRecords } = wal.recovery;
  process.stdout.write(`open ${lastSeq} ${truncatedBytes} ${droppedRecords}\n`);
  const deadline = Date.now() + MAX_MS;
  let next = lastSeq + 1;
  const stop = lastSeq + MAX_APPENDS;
  await new Promise<void>((resolve, reject) => {
    let running = 0;
    const start = () => {
      if (next > stop || Date.now() > deadline) {
        if (running === 0) resolve();
        return;
      }
      const seq = next;
      next += 1;
      running += 1;
      wal.append(payloadFor(seq)).then((got) => {
        if (got !== seq) return reject(new Error(`append of record ${seq} resolved with ${got}`));
        process.stdout.write(`${seq}\n`);
        running -= 1;
        start();
      }, reject);
    };
    for (let i = 0; i < inFlight; i += 1) start();
  });
  await wal.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
