import { Agent, request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * A closed-loop load generator over HTTP: each client sends one request and
 * awaits its answer before it sends the next, so the load a system sees is
 * what it acknowledges, never more than `clients` requests in flight. The
 * same generator drives every system a bench compares: only the request
 * (path and body) differs between them.
 */
export interface LoadOptions {
  /** Base URLs; client i talks to urls[i % urls.length] throughout. */
  urls: readonly string[];
  clients: number;
  /** The measured window, after the warm-up. */
  seconds: number;
  /** Run but not counted: connections open, code paths compile, caches fill. */
  warmupSeconds?: number;
  /** One request of client `client`, its `seq`-th. */
  request: (client: number, seq: number) => { path: string; body: string };
  /** A request not answered in this long is a failure (`timeout`). */
  requestTimeoutMs?: number;
}

export interface LoadResult {
  clients: number;
  seconds: number;
  /** Requests answered 200 within the measured window. */
  acknowledged: number;
  acknowledgedPerSecond: number;
  /** Requests answered otherwise, or not at all, within the window. */
  failures: number;
  /** Failures by HTTP status or error code: `429`, `ECONNREFUSED`, `timeout`. */
  failureKinds: Record<string, number>;
  /** From sending a request to reading its whole 200 answer, over the acknowledged ones. */
  latencyMs: { p50: number; p99: number; max: number };
  /** CPU the generator itself took over the window, in cores (1 = one core busy throughout): it shares the machine with what it measures. */
  generatorCores: number;
}

/**
 * Nearest-rank percentile (`q` in 0..1) of an ascending list: the smallest
 * value with at least q of the values at or below it; 0 for an empty list.
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** p50, p99 and max of `values` in ms, rounded to 0.1 ms. */
export function latencySummary(values: readonly number[]): LoadResult['latencyMs'] {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? 0) };
}

/**
 * After a failure a client pauses this long: a server refusing at once
 * (connection refused, 429) would otherwise be hit in a tight loop and the
 * run would measure how fast it refuses.
 */
const PAUSE_AFTER_FAILURE_MS = 10;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

type Outcome = { ok: true } | { ok: false; kind: string };

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { urls, clients, seconds } = options;
  const warmupMs = (options.warmupSeconds ?? 1) * 1000;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // node:http rather than fetch: undici's pool is not importable here without a
  // dependency, and fetch's default pool caps connections per origin.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const inFlight = new Set<ClientRequest>();
  const latencies: number[] = [];
  const failureKinds: Record<string, number> = {};
  let failures = 0;

  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + seconds * 1000;
  let cpuAtWindowStart: NodeJS.CpuUsage | null = null;
  const cpuTimer = setTimeout(() => (cpuAtWindowStart = process.cpuUsage()), warmupMs);

  const send = (base: string, path: string, body: string): Promise<Outcome> =>
    new Promise((settle) => {
      const req = request(new URL(path, base), {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      });
      inFlight.add(req);
      const done = (outcome: Outcome) => {
        inFlight.delete(req);
        settle(outcome);
      };
      req.on('response', (res) => {
        // The whole answer is read: the socket goes back to the pool only then.
        res.resume();
        res.on('end', () => done(res.statusCode === 200 ? { ok: true } : { ok: false, kind: String(res.statusCode) }));
        res.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, kind: error.code ?? 'error' }));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, kind: error.code ?? 'error' }));
      req.end(body);
    });

  const client = async (index: number): Promise<void> => {
    const base = urls[index % urls.length];
    for (let seq = 0; performance.now() < windowEnd; seq += 1) {
      const { path, body } = options.request(index, seq);
      const sent = performance.now();
      const outcome = await send(base, path, body);
      const answered = performance.now();
      // Counted only when answered inside the window; an answer the end cut off is neither.
      if (answered < windowStart || answered > windowEnd) {
        if (!outcome.ok) await pause(PAUSE_AFTER_FAILURE_MS);
        continue;
      }
      if (outcome.ok) {
        latencies.push(answered - sent);
      } else {
        failures += 1;
        failureKinds[outcome.kind] = (failureKinds[outcome.kind] ?? 0) + 1;
        await pause(PAUSE_AFTER_FAILURE_MS);
      }
    }
  };

  const running = Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  // Requests still waiting at the end are abandoned: their answers would not count.
  const cutOff = setTimeout(() => {
    for (const req of inFlight) req.destroy();
  }, windowEnd - start + 50);
  try {
    await running;
  } finally {
    clearTimeout(cutOff);
    clearTimeout(cpuTimer);
    agent.destroy();
  }
  const cpu = process.cpuUsage(cpuAtWindowStart ?? undefined);
  return {
    clients,
    seconds,
    acknowledged: latencies.length,
    acknowledgedPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
    failures,
    failureKinds,
    latencyMs: latencySummary(latencies),
    generatorCores: Math.round(((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100) / 100,
  };
}

const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
