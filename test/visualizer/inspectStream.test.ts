import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { WebSocketServer } from 'ws';
import type { InspectStreamReport } from '../../visualizer/streamToInspector';
import { bundleForNode } from './support/bundle';

/**
 * Issue item 3: a short run of the simulator streamed through
 * @statelyai/inspect's createWebSocketInspector (in a child `node`: the
 * package is ES-module-only) into a receiver on loopback, which must see each
 * honest node's actors, snapshots and events, sanitized. (The simulator's
 * Byzantine nodes run no machines.)
 */

interface WireEvent {
  type: string;
  sessionId: string;
  rootId?: string;
  parentId?: string;
  name?: string;
  _version?: unknown;
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
  event?: { type?: string };
}

const run = promisify(execFile);
let received: WireEvent[];
let report: InspectStreamReport;

beforeAll(async () => {
  const script = bundleForNode('test/visualizer/support/streamEntry.ts', 'stream-to-inspector');
  const receiver = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => receiver.once('listening', resolve));
  received = [];
  receiver.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(String(data)) as WireEvent)));
  const url = `ws://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  try {
    const { stdout } = await run(process.execPath, [script, JSON.stringify({ url, nodes: 4, byzantine: 1, seed: 5, rounds: 3, speed: 0 })], {
      timeout: 30_000,
    });
    report = JSON.parse(stdout) as InspectStreamReport;
    // The child exits once its socket closed, after its last message: all of them are here.
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
});

const ofNode = (name: string) => {
  const root = received.find((e) => e.type === '@xstate.actor' && e.sessionId === e.rootId && e.snapshot?.context?.id === name);
  if (root === undefined) throw new Error(`no root actor for ${name}`);
  const child = (childName: string) => received.find((e) => e.type === '@xstate.actor' && e.parentId === root.sessionId && e.name === childName);
  return { root, round: child('round'), election: child('election') };
};

const honest = () => report.nodes.filter((node) => !report.byzantine.includes(node));

test('the run reached its target and every event it streamed arrived', () => {
  expect(report.reachedTarget).toBe(true);
  expect(report.nodes).toEqual(['n0', 'n1', 'n2', 'n3']);
  expect(report.byzantine).toHaveLength(1);
  expect(report.replay).toContain('--seed 5');
  const honestRounds = Object.entries(report.roundsFinalized).filter(([node]) => !report.byzantine.includes(node));
  expect(honestRounds.map(([, rounds]) => rounds >= 3)).toEqual([true, true, true]);
  // Only honest nodes run machines to stream.
  const streamedNodes = received.filter((e) => e.type === '@xstate.actor' && e.sessionId === e.rootId).map((e) => e.snapshot?.context?.id);
  expect(streamedNodes.sort()).toEqual(honest());
  expect(received).toHaveLength(report.eventsStreamed);
  expect(received.every((event) => typeof event._version === 'string')).toBe(true);
});

test.each([0, 1, 2])('the receiver saw honest node #%i: its node, round and election actors, their snapshots and their events', (index) => {
  const name = honest()[index]!;
  const { root, round, election } = ofNode(name);
  expect([root.name, round?.name, election?.name]).toEqual(['node', 'round', 'election']);
  for (const actor of [root, round!, election!]) {
    const snapshots = received.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === actor.sessionId);
    const events = received.filter((e) => e.type === '@xstate.event' && e.sessionId === actor.sessionId);
    expect([actor.name, snapshots.length > 0, events.length > 0]).toEqual([actor.name, true, true]);
    expect(snapshots.every((e) => e.rootId === root.sessionId)).toBe(true);
  }
  // The round went through a whole round: it verified, and its active rank moved.
  const roundSnapshots = received.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === round!.sessionId);
  expect(roundSnapshots.some((e) => typeof e.snapshot?.value === 'object' && 'verifying' in (e.snapshot.value as object))).toBe(true);
  expect(Math.max(...roundSnapshots.map((e) => Number(e.snapshot?.context?.activeRank)))).toBeGreaterThanOrEqual(3);
});

test("what arrived is sanitized: the round's message books are per-rank counts", () => {
  const rounds = new Set(received.filter((e) => e.type === '@xstate.actor' && e.name === 'round').map((e) => e.sessionId));
  expect(rounds.size).toBe(3);
  const books = received
    .filter((e) => e.type === '@xstate.snapshot' && rounds.has(e.sessionId))
    .flatMap((e) => ['liveness', 'proposals', 'votes', 'confirmations'].map((book) => e.snapshot!.context![book] as Record<string, unknown>));
  expect(books.length).toBeGreaterThan(0);
  const counted = books.flatMap((book) => Object.values(book));
  expect(counted.length).toBeGreaterThan(0);
  expect(counted.every((count) => Number.isInteger(count))).toBe(true);
});
