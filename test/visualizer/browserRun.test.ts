import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { builtCli, ROOT } from '../cli/harness';

/**
 * Issue 18's done-when: `statechart-consensus visualize` with simulate's
 * options shows that run, faults included. The built CLI serves the live
 * view; a headless Chromium (Debian's, as in browser.test.ts) watches the
 * partition cut the links between its two sides while it lasts, then the run
 * end with the report `simulate --json` gives for the same options. Every
 * wait is on a condition the page shows, bounded in time.
 */
const CHROMIUM = '/usr/bin/chromium';
const PROBE = join(__dirname, 'support', 'pageProbe.js');
const SCREENSHOT = join(ROOT, 'docs', 'live-view.png');
const CLI = join(ROOT, 'dist', 'cli.js');
const RUN = ['--nodes', '7', '--byzantine', '2', '--behaviour', 'split-commit', '--partition', '1000-3000:n0,n1|n2,n3,n4,n5,n6', '--seed', '7'];
const SIDE = ['n0', 'n1'];
const WAIT_MS = 20_000;

interface RunLine {
  command: string;
  ended: boolean;
  verdict: string;
  traceDigest: string;
  simulatedMs: number;
  roundsFinalized: Record<string, number> | null;
}
interface PanelView {
  node: string;
  partitioned: string;
  byzantine: string;
}
interface ServicesPanel {
  node: string;
  locks: { holder: string; token: number }[];
  barriers: { barrier: string; arrived: number; required: number }[];
}
type InPage = {
  liveViewProbe: { cutLinks(): string[]; seconds(): number; run(): RunLine; panels(): PanelView[]; services(): ServicesPanel; showsServices(node: string): boolean };
};

/** Starts `visualize` and resolves with its URL once it prints it. */
function visualize(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'visualize', ...args, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`visualize printed no URL within ${WAIT_MS} ms: ${out}${err}`)), WAIT_MS);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /live view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]! });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`visualize exited with ${code}: ${out}${err}`));
    });
  });
}

let browser: Browser;

/** Starts `visualize` with `args` and opens its page in the browser. */
async function watch(args: readonly string[]): Promise<{ child: ChildProcess; page: Page }> {
  const started = await visualize(args);
  const page = await browser.newPage({ viewport: { width: 1400, height: 980 } });
  await page.addInitScript({ path: PROBE });
  await page.goto(started.url);
  return { child: started.child, page };
}

async function close(child: ChildProcess | undefined, page: Page | undefined): Promise<void> {
  await page?.close();
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first)');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

describe('the run of issue 18: 7 nodes, 2 split-commit Byzantine, a partition from 1 s to 3 s, seed 7', () => {
  let child: ChildProcess | undefined;
  let page: Page;

  beforeAll(async () => {
    // Real time at first: the partition lasts two wall-clock seconds.
    ({ child, page } = await watch([...RUN, '--speed', '1']));
  }, 30_000);
  afterAll(() => close(child, page));

  test('the page shows the run of those options, the command that replays it', async () => {
    await page.waitForFunction(() => (globalThis as unknown as InPage).liveViewProbe.panels().length === 7, undefined, { timeout: WAIT_MS });
    const run = await page.evaluate(() => (globalThis as unknown as InPage).liveViewProbe.run());
    expect(run.command).toContain("--partition '1000-3000:n0,n1|n2,n3,n4,n5,n6'");
    expect(run.command).toContain('--behaviour split-commit');
    expect(run.command).toContain('--seed 7');
    expect(await page.getAttribute('#run', 'data-changed-by-hand')).toBe('false');
  });

  test('during the partition the links between its two sides are drawn cut, and only those', async () => {
    await page.waitForFunction(() => (globalThis as unknown as InPage).liveViewProbe.cutLinks().length > 0, undefined, { timeout: WAIT_MS });
    const [cut, seconds, panels] = await page.evaluate(() => {
      const p = (globalThis as unknown as InPage).liveViewProbe;
      return [p.cutLinks(), p.seconds(), p.panels()] as const;
    });
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThan(3.2);
    const expected = SIDE.flatMap((a) => ['n2', 'n3', 'n4', 'n5', 'n6'].map((b) => `${a}|${b}`));
    expect([...cut].sort()).toEqual(expected.sort());
    expect(panels.every((panel) => panel.partitioned === 'true')).toBe(true);
    expect(panels.filter((panel) => panel.byzantine === 'true').map((panel) => panel.node)).toEqual(['n2', 'n3']);
    // The README's picture: the partition, drawn.
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    // Healed at 3 s: no link is cut any more.
    await page.waitForFunction(() => (globalThis as unknown as InPage).liveViewProbe.cutLinks().length === 0, undefined, { timeout: WAIT_MS });
    expect(await page.evaluate(() => (globalThis as unknown as InPage).liveViewProbe.seconds())).toBeGreaterThanOrEqual(2.9);
  });

  test('the run ends with the report simulate --json gives for the same options', async () => {
    // The rest of the run at the page's fastest speed.
    await page.selectOption('#speed', '4');
    const [, simulated] = await Promise.all([
      page.waitForFunction(() => (globalThis as unknown as InPage).liveViewProbe.run().ended, undefined, { timeout: 60_000, polling: 250 }),
      builtCli('simulate', ...RUN, '--json'),
    ]);
    const report = JSON.parse(simulated.stdout) as { traceDigest: string; simulatedMs: number; roundsFinalized: Record<string, number>; reachedTarget: boolean };
    const shown = await page.evaluate(() => (globalThis as unknown as InPage).liveViewProbe.run());
    expect(simulated.code).toBe(0);
    expect(shown.verdict).toBe(report.reachedTarget ? 'reached' : 'stalled');
    expect(shown.traceDigest).toBe(report.traceDigest);
    expect(shown.simulatedMs).toBe(report.simulatedMs);
    expect(shown.roundsFinalized).toEqual(report.roundsFinalized);
  }, 90_000);
});

describe('a run with --services', () => {
  let child: ChildProcess | undefined;
  let page: Page;

  beforeAll(async () => {
    ({ child, page } = await watch(['--nodes', '4', '--byzantine', '1', '--seed', '42', '--services', '--speed', '4']));
  }, 30_000);
  afterAll(() => close(child, page));

  test('the services panel shows the lock holders and barrier arrivals of the seeded client', async () => {
    await page.waitForFunction(() => (globalThis as unknown as InPage).liveViewProbe.showsServices(''), undefined, { timeout: WAIT_MS });
    const shown = await page.evaluate(() => (globalThis as unknown as InPage).liveViewProbe.services());
    const byzantine = (await page.evaluate(() => (globalThis as unknown as InPage).liveViewProbe.panels()))
      .filter((panel) => panel.byzantine === 'true')
      .map((panel) => panel.node);
    const held = shown.locks.find((lock) => lock.holder !== '')!;
    expect(['n0', 'n1', 'n2', 'n3'].filter((node) => !byzantine.includes(node))).toContain(held.holder);
    expect(held.token).toBeGreaterThan(0);
    const barrier = shown.barriers.find((entry) => entry.arrived > 0)!;
    expect(barrier.arrived).toBeLessThanOrEqual(barrier.required);
    expect((await page.evaluate(() => (globalThis as unknown as InPage).liveViewProbe.run())).command).toContain('--services');
  });
});
