import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencySummary, percentile, runLoad } from '../../bench/loadGenerator';

describe('percentile (nearest rank)', () => {
  it('the smallest value with at least q of the values at or below it', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile(hundred, 1)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('latencySummary sorts first and rounds to 0.1 ms', () => {
    expect(latencySummary([3.04, 1.26, 2, 100.55])).toEqual({ p50: 2, p99: 100.6, max: 100.6 });
    expect(latencySummary([])).toEqual({ p50: 0, p99: 0, max: 0 });
  });
});

describe('runLoad against a local HTTP server', () => {
  let server: Server;
  let url: string;
  let inFlight = 0;
  let mostInFlight = 0;
  const bodies: string[] = [];

  beforeAll(async () => {
    // Every fifth request refused with 429; each answer after 5 ms.
    let count = 0;
    server = createServer((req, res) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        bodies.push(body);
        count += 1;
        const status = count % 5 === 0 ? 429 : 200;
        setTimeout(() => {
          inFlight -= 1;
          res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
        }, 5);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('closed loop: never more requests in flight than clients; 200s acknowledged with latencies, the rest failures by status', async () => {
    const result = await runLoad({
      urls: [url],
      clients: 3,
      seconds: 1,
      warmupSeconds: 0.2,
      request: (client, seq) => ({ path: '/put', body: `c${client}-${seq}` }),
    });
    expect(mostInFlight).toBeLessThanOrEqual(3);
    expect(result.acknowledged).toBeGreaterThan(0);
    expect(result.failures).toBeGreaterThan(0);
    expect(Object.keys(result.failureKinds)).toEqual(['429']);
    expect(result.failureKinds['429']).toBe(result.failures);
    expect(result.acknowledgedPerSecond).toBeCloseTo(result.acknowledged, 0);
    expect(result.latencyMs.p50).toBeGreaterThanOrEqual(5);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(bodies).toContain('c0-0');
    expect(bodies).toContain('c2-1');
  });

  it('a server that refuses connections gives failures, not acknowledgements', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const result = await runLoad({ urls: [`http://127.0.0.1:${port}`], clients: 2, seconds: 0.3, warmupSeconds: 0, request: () => ({ path: '/', body: '' }) });
    expect(result.acknowledged).toBe(0);
    expect(result.failureKinds).toEqual({ ECONNREFUSED: result.failures });
    expect(result.latencyMs).toEqual({ p50: 0, p99: 0, max: 0 });
  });
});
