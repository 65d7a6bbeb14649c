import fc from 'fast-check';
import { createConsensusEngine, NIL_DIGEST, signStatement } from '../../engine/createConsensusEngine';
import { LEDGER_CHAIN_ID } from '../../examples/ledger/engineConfig';
import { LedgerNode } from '../../examples/ledger/LedgerNode';
import { LEDGER_MESSAGE_KINDS, type LedgerMessage, type LedgerMessageKind } from '../../examples/ledger/messages';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../../examples/ledger/types';
import { ledgerBodyCodec, MAX_WIRE_ENTRY } from '../../examples/ledger/wire';
import { ElectionMessageError, type ElectionMessage } from '../../machines/election.schemas';
import { createNode, type ConsensusNode } from '../../node/createNode';
import { DEFAULT_MAX_WIRE_BYTES, electionBodyCodec, WireError, wireCodec, type WireMessage } from '../../node/wire';
import { createSeededRandom } from '../../providers/random';
import { SimulatedNetwork } from '../../simulator/simulatedNetwork';
import { InMemoryElectionStorage } from '../../providers/storage';
import { EventClock } from '../../simulator/EventClock';
import { simulationKeys } from '../../simulator/keys';
import { timeoutsFor } from '../../simulator/setup';

type Message = WireMessage<LedgerMessage, ElectionMessage>;
type Node = ConsensusNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, string>;

const codec = wireCodec<LedgerMessage, ElectionMessage>({ round: ledgerBodyCodec, election: electionBodyCodec });
const NAMES = ['n0', 'n1', 'n2', 'n3'];
const PATIENCE_MS = 40;
const SYNC_WAIT_MS = 20;
const PROOF_MS = { min: 2, max: 6 };

/** What one cluster run did: every delivery and its outcome, in order, and a sample of each kind sent. */
interface Run {
  trace: string[];
  heights: number[];
  chains: string[][];
  /** Per kind: deliveries and the outcomes they had. */
  outcomes: Map<LedgerMessageKind, Map<string, number>>;
  /** The first message of each kind a node sent, as the sender built it. */
  samples: Map<LedgerMessageKind, LedgerMessage>;
  electionOutcomes: Map<string, number>;
  decodeFailures: unknown[];
  /** The longest frame sent, in bytes. */
  largestFrame: number;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Four ledger nodes (`createNode`: round and election, with keys) over a
 * simulated network with loss and two partitions, so that stalls, resends,
 * attempts, syncs and catch-up all happen. With `wire`,
 * every message of either protocol crosses as a frame (`encode` at the
 * sender, `decode` at the receiver), as over a socket; without it, as the
 * objects the sender built. Everything else is seeded: the two runs differ
 * only in the wire.
 */
async function runCluster(wire: boolean, seed = 7, until = 3_400): Promise<Run> {
  const clock = new EventClock();
  const keys = simulationKeys(NAMES, seed);
  const root = createSeededRandom(seed);
  const network = new SimulatedNetwork<unknown>({
    clock,
    random: root.fork(),
    latency: { min: 1, max: 6 },
    dropRate: 0.05,
    partitions: [
      // n3 falls behind, then catches up: syncs, entries, certificates.
      { from: 150, to: 900, groups: [['n3']] },
      // No quorum on either side: attempts time out, heights stay undecided, lock proofs go out with the resends.
      { from: 1_200, to: 2_600, groups: [['n0', 'n1'], ['n2', 'n3']] },
    ],
  });
  const run: Run = { trace: [], heights: [], chains: [], outcomes: new Map(), samples: new Map(), electionOutcomes: new Map(), decodeFailures: [], largestFrame: 0 };
  const send = (from: string, to: string, message: Message) => {
    if (message.channel === 'round' && !run.samples.has(message.body.kind)) run.samples.set(message.body.kind, message.body);
    if (!wire) return network.send(from, to, message);
    const frame = codec.encode(message);
    run.largestFrame = Math.max(run.largestFrame, frame.byteLength);
    network.send(from, to, frame);
  };
  const ledgers = new Map<string, LedgerNode>();
  const nodes = new Map<string, Node>();
  for (const name of NAMES) {
    const ledger = new LedgerNode({
      self: name,
      members: NAMES,
      clock,
      random: root.fork(),
      send: (to, body) => send(name, to, { channel: 'round', body }),
      keys: { privateKey: keys.privateKeyOf(name), publicKeys: keys.publicKeys, verifier: keys.verifier },
      proofMs: PROOF_MS,
      patienceMs: PATIENCE_MS,
      syncWaitMs: SYNC_WAIT_MS,
    });
    const config = ledger.engineConfig();
    const storage = new InMemoryElectionStorage();
    const node: Node = createNode({
      ...config,
      timeouts: { ...config.timeouts, ...timeoutsFor(PATIENCE_MS, SYNC_WAIT_MS, PROOF_MS.max) },
      election: { storage, random: root.fork() },
      storage,
    });
    ledger.attach(node);
    node.onOutbound((to, body) => send(name, to.identity(), { channel: 'election', body }));
    network.attach(name, (from, raw) => {
      let message: Message;
      try {
        message = wire ? codec.decode(raw as Buffer, from) : (raw as Message);
      } catch (error) {
        run.decodeFailures.push(error);
        return;
      }
      if (message.channel === 'round') {
        const outcome = ledger.deliver(from, message.body);
        const kind = message.body.kind;
        if (!run.outcomes.has(kind)) run.outcomes.set(kind, new Map());
        bump(run.outcomes.get(kind)!, outcome);
        run.trace.push(`${clock.now()} ${from}>${name} ${kind} ${outcome}`);
        return;
      }
      let outcome = 'accepted';
      try {
        node.receiveElectionMessage(from, message.body);
      } catch (error) {
        if (!(error instanceof ElectionMessageError)) throw error;
        outcome = error.code;
      }
      bump(run.electionOutcomes, outcome);
      run.trace.push(`${clock.now()} ${from}>${name} ${message.body.type} ${outcome}`);
    });
    ledgers.set(name, ledger);
    nodes.set(name, node);
  }
  for (const ledger of ledgers.values()) ledger.start();
  // Clients' entries, proposed on nodes that forward them.
  clock.setTimeout(() => void nodes.get('n1')!.propose('c:alice:hello').catch(() => {}), 100);
  clock.setTimeout(() => void nodes.get('n2')!.propose('c:bob:"quoted" \\ text').catch(() => {}), 3_000);
  // A read by index: its request and the answers.
  clock.setTimeout(() => void nodes.get('n3')!.readIndex().catch(() => {}), 3_200);
  const heights = () => [...ledgers.values()].map((ledger) => ledger.head().height);
  await clock.runUntil(() => clock.now() >= until && new Set(heights()).size === 1, 60_000);
  run.heights = heights();
  run.chains = [...ledgers.values()].map((ledger) => ledger.store.chain().map((frame) => frame.hash));
  for (const ledger of ledgers.values()) ledger.halt();
  for (const node of nodes.values()) node.actor.stop();
  return run;
}

/** n0 of the cluster alone, started and waiting in rank 1: what a peer's first messages meet. */
async function freshNode(seed = 7) {
  const clock = new EventClock();
  const keys = simulationKeys(NAMES, seed);
  const ledger = new LedgerNode({
    self: 'n0',
    members: NAMES,
    clock,
    random: createSeededRandom(seed),
    send: () => {},
    keys: { privateKey: keys.privateKeyOf('n0'), publicKeys: keys.publicKeys, verifier: keys.verifier },
    proofMs: PROOF_MS,
    patienceMs: PATIENCE_MS,
    syncWaitMs: SYNC_WAIT_MS,
  });
  const config = ledger.engineConfig();
  const engine = createConsensusEngine({ ...config, timeouts: { ...config.timeouts, ...timeoutsFor(PATIENCE_MS, SYNC_WAIT_MS, PROOF_MS.max) } });
  ledger.attach(engine);
  ledger.start();
  await clock.runUntil(() => false, 200);
  return { ledger, engine, keys };
}

/** Nil votes and nil confirmations, signed as the engine signs them: an honest run with these faults makes none. */
function nilMessages(keys: ReturnType<typeof simulationKeys>): Map<LedgerMessageKind, LedgerMessage> {
  const sign = (kind: 'nil_vote' | 'nil_confirmation') =>
    signStatement(keys.privateKeyOf('n1'), { chainId: LEDGER_CHAIN_ID, kind, rank: 1, attempt: 0, valueDigest: NIL_DIGEST });
  return new Map<LedgerMessageKind, LedgerMessage>([
    ['nil_vote', { kind: 'nil_vote', voter: new LedgerPeer('n1'), vote: new LedgerVote(1, 'n1', '', 'nil'), attempt: 0, signature: sign('nil_vote') }],
    ['nil_confirmation', { kind: 'nil_confirmation', peer: new LedgerPeer('n1'), rank: 1, attempt: 0, signature: sign('nil_confirmation') }],
  ]);
}

const roundTrip = (body: LedgerMessage): LedgerMessage => {
  const decoded = codec.decode(codec.encode({ channel: 'round', body }), 'n1');
  if (decoded.channel !== 'round') throw new Error('decoded onto the election channel');
  return decoded.body;
};

/** The JSON data a message crosses as. */
const wireData = (body: LedgerMessage): Record<string, unknown> => JSON.parse(JSON.stringify(ledgerBodyCodec.toWire(body)));

/** Decodes `data` as a round body: the message, or the `WireError` code; any other exception fails the test. */
function decodeData(data: unknown): LedgerMessage | string {
  try {
    return ledgerBodyCodec.fromWire(data);
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
}

/** The run without the wire, made once: the reference, and where real messages of each kind come from. */
let plainRun: Promise<Run> | undefined;
const referenceRun = () => (plainRun ??= runCluster(false));
/** The first message of every kind: the run's, and signed nil ones. */
async function realSamples(): Promise<Map<LedgerMessageKind, LedgerMessage>> {
  return new Map([...(await referenceRun()).samples, ...nilMessages(simulationKeys(NAMES, 7))]);
}

describe('the ledger over the wire: a cluster whose every message is a frame', () => {
  let plain: Run;
  let wired: Run;
  let samples: Map<LedgerMessageKind, LedgerMessage>;
  beforeAll(async () => {
    plain = await referenceRun();
    wired = await runCluster(true);
    samples = await realSamples();
  });

  it('commits as far with frames as with objects, every node on one chain', () => {
    for (const run of [plain, wired]) {
      expect(Math.min(...run.heights)).toBeGreaterThanOrEqual(40);
      for (const chain of run.chains) expect(chain).toEqual(run.chains[0]);
    }
    expect(wired.chains).toEqual(plain.chains);
    expect(wired.decodeFailures).toEqual([]);
    // Real traffic stays far inside the limit (a sync answer is the largest).
    expect(wired.largestFrame).toBeLessThan(DEFAULT_MAX_WIRE_BYTES / 8);
  });

  it('gives every delivery the outcome it had without the wire: to a node, the decoded message is the original', () => {
    expect(wired.trace.length).toBeGreaterThan(3_000);
    expect(wired.trace).toEqual(plain.trace);
    expect(wired.electionOutcomes).toEqual(new Map([['accepted', expect.any(Number)]]));
  });

  it('carries every kind but the nil ones through the run, each accepted (or answered) somewhere', () => {
    const nil: LedgerMessageKind[] = ['nil_vote', 'nil_confirmation'];
    const welcome = (kind: LedgerMessageKind) => (kind === 'sync_request' ? 'answered' : 'accepted');
    const never = LEDGER_MESSAGE_KINDS.filter((kind) => !nil.includes(kind) && !(wired.outcomes.get(kind)?.get(welcome(kind)) ?? 0));
    expect(never).toEqual([]);
  });

  it('rebuilds every kind exactly: the same classes, fields and signatures', () => {
    for (const kind of LEDGER_MESSAGE_KINDS) {
      const sample = samples.get(kind);
      expect(sample).toBeDefined();
      expect(roundTrip(sample!)).toStrictEqual(sample);
    }
    const proposal = roundTrip(samples.get('proposal')!) as Extract<LedgerMessage, { kind: 'proposal' }>;
    expect(proposal.peer).toBeInstanceOf(LedgerPeer);
    expect(proposal.proposal).toBeInstanceOf(LedgerFrame);
    expect((proposal.proposal as LedgerFrame).isWellFormed()).toBe(true);
    const entries = roundTrip(samples.get('entries')!) as Extract<LedgerMessage, { kind: 'entries' }>;
    for (const entry of entries.entries as { state: unknown }[]) expect(entry.state).toBeInstanceOf(LedgerFrame);
    const liveness = roundTrip(samples.get('liveness')!) as Extract<LedgerMessage, { kind: 'liveness' }>;
    expect(liveness.collected).toBeInstanceOf(LedgerBatch);
  });

  it('delivers signed nil votes and nil confirmations as the originals: accepted, then the decoded copy is a duplicate', async () => {
    const [first, twin] = [await freshNode(), await freshNode()];
    for (const message of nilMessages(first.keys).values()) {
      const decoded = roundTrip(message);
      expect(first.ledger.deliver('n1', message)).toBe('accepted');
      expect(twin.ledger.deliver('n1', decoded)).toBe('accepted');
      expect(first.ledger.deliver('n1', decoded)).toBe('duplicate');
    }
    for (const { ledger, engine } of [first, twin]) {
      ledger.halt();
      await engine.stop();
    }
  });
});

type Path = (string | number)[];

/** Every place in `data` (its root excepted) and what is there. */
function places(data: unknown, path: Path = []): { path: Path; value: unknown }[] {
  if (typeof data !== 'object' || data === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(data) ? data.map((value, i) => [i, value]) : Object.entries(data);
  return entries.flatMap(([key, value]) => [{ path: [...path, key], value }, ...places(value, [...path, key])]);
}

/** A copy of `data` with `path` set to `value`, or removed when `value` is `REMOVE`. */
const REMOVE = Symbol('remove');
function edit(data: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(data) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === REMOVE) delete parent[last];
  else parent[last] = value;
  return copy;
}

/** Values of another JSON type than `value` (or past its bounds), none of which a field of that type takes. */
function wrongFor(value: unknown): unknown[] {
  if (typeof value === 'string') return [42, true, null, {}, [], 'x'.repeat(2_000)];
  if (typeof value === 'number') return ['7', -1, 1.5, 2 ** 60, null, true, {}, []];
  // Only a number field takes null (`validAttempt`).
  if (value === null) return ['7', -1, 1.5, 2 ** 60, true, {}, []];
  if (Array.isArray(value)) return ['x', 7, null, {}];
  return ['x', 7, null, []];
}

/** What a message may lack (the engine's positions leave these out for attempt 0, engines without keys, …). */
const OPTIONAL: Partial<Record<LedgerMessageKind, string[]>> = {
  proposal: ['attempt', 'validAttempt'],
  vote: ['attempt', 'proposal', 'signature'],
  nil_vote: ['attempt', 'signature'],
  confirmation: ['attempt', 'signature'],
  nil_confirmation: ['signature'],
};
const OPTIONAL_INSIDE: Record<string, string[]> = { certificate: ['rank', 'valueDigest', 'signatures'], proof: ['valueDigest', 'signatures'] };

function mayLack(kind: LedgerMessageKind, path: Path): boolean {
  const last = String(path[path.length - 1]);
  if (path.length === 1) return OPTIONAL[kind]?.includes(last) ?? false;
  return OPTIONAL_INSIDE[String(path[path.length - 2])]?.includes(last) ?? false;
}

/** Fields that take null: a proposal's `validAttempt`, a vote's `proposal`. */
const mayBeNull = (kind: LedgerMessageKind, path: Path) =>
  path.length === 1 && ((kind === 'proposal' && path[0] === 'validAttempt') || (kind === 'vote' && path[0] === 'proposal'));

describe('ledgerBodyCodec refuses what is not a ledger message, with bad_body and nothing else', () => {
  let samples: Map<LedgerMessageKind, LedgerMessage>;
  beforeAll(async () => {
    samples = await realSamples();
  });
  const each = () => LEDGER_MESSAGE_KINDS.map((kind) => [kind, wireData(samples.get(kind)!)] as const);

  it('refuses a wrong type in every field of every kind', () => {
    let checked = 0;
    for (const [kind, data] of each()) {
      for (const { path, value } of places(data)) {
        for (const wrong of wrongFor(value)) {
          if (wrong === null && mayBeNull(kind, path)) continue;
          expect([kind, path, wrong, decodeData(edit(data, path, wrong))]).toEqual([kind, path, wrong, 'bad_body']);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('refuses a missing field unless the message may lack it, and an extra field anywhere', () => {
    for (const [kind, data] of each()) {
      for (const { path } of places(data).filter(({ path }) => typeof path[path.length - 1] === 'string')) {
        const result = decodeData(edit(data, path, REMOVE));
        if (mayLack(kind, path)) {
          expect([kind, path, typeof result]).toEqual([kind, path, 'object']);
          // Left out, not set to undefined: the engine reads an absent position field as attempt 0, no signature, …
          if (path.length === 1) expect(Object.keys(result as object)).not.toContain(path[0]);
        }
        else expect([kind, path, result]).toEqual([kind, path, 'bad_body']);
      }
      const objects = [{ path: [] as Path, value: data }, ...places(data)].filter(({ value }) => typeof value === 'object' && value !== null && !Array.isArray(value));
      for (const { path } of objects) expect([kind, path, decodeData(edit(data, [...path, 'extra'], 1))]).toEqual([kind, path, 'bad_body']);
    }
  });

  it('refuses unknown kinds, non-objects, and the bounds one past their limit (taking the limit itself)', () => {
    for (const junk of [null, 7, 'vote', [], {}, { kind: 'snapshot' }, { kind: '__proto__' }, { kind: 'toString' }]) expect(decodeData(junk)).toBe('bad_body');
    const frame = (entries: number, text = 'x', time = 0) => ({ height: 1, parent: 'p', prover: 'n1', time, entries: Array(entries).fill(text), hash: 'h' });
    const cert = (signers: number) => ({ attempt: 0, signers: Array.from({ length: signers }, (_, i) => `m${i}`) });
    const name = (length: number) => 'n'.repeat(length);
    const sig = (text: string) => ({ kind: 'nil_confirmation', peer: 'n1', rank: 1, attempt: 0, signature: text });
    const cases: [unknown, unknown][] = [
      [{ kind: 'proposal', peer: 'n1', proposal: frame(64) }, { kind: 'proposal', peer: 'n1', proposal: frame(65) }],
      [{ kind: 'proposal', peer: 'n1', proposal: frame(1, 'e'.repeat(MAX_WIRE_ENTRY)) }, { kind: 'proposal', peer: 'n1', proposal: frame(1, 'e'.repeat(MAX_WIRE_ENTRY + 1)) }],
      [{ kind: 'proposal', peer: 'n1', proposal: frame(1, 'x', Number.MAX_SAFE_INTEGER) }, { kind: 'proposal', peer: 'n1', proposal: frame(1, 'x', Number.MAX_SAFE_INTEGER + 2) }],
      [{ kind: 'sync_response', id: 1, frames: Array(64).fill(frame(1)) }, { kind: 'sync_response', id: 1, frames: Array(65).fill(frame(1)) }],
      [{ kind: 'entries', entries: Array(64).fill({ state: frame(1), certificate: cert(1) }) }, { kind: 'entries', entries: Array(65).fill({ state: frame(1), certificate: cert(1) }) }],
      [{ kind: 'certificate', state: frame(1), certificate: cert(1024) }, { kind: 'certificate', state: frame(1), certificate: cert(1025) }],
      [{ kind: 'sync_request', id: 1, after: Number.MAX_SAFE_INTEGER }, { kind: 'sync_request', id: 1, after: Number.MAX_SAFE_INTEGER + 2 }],
      [{ kind: 'liveness', peer: name(64), collected: { height: 1, collector: 'n1', entries: [] } }, { kind: 'liveness', peer: name(65), collected: { height: 1, collector: 'n1', entries: [] } }],
      [{ kind: 'liveness', peer: 'n1', collected: { height: 1, collector: 'n1', entries: [] } }, { kind: 'liveness', peer: '', collected: { height: 1, collector: 'n1', entries: [] } }],
      [{ kind: 'payload', payload: 'p'.repeat(MAX_WIRE_ENTRY) }, { kind: 'payload', payload: 'p'.repeat(MAX_WIRE_ENTRY + 1) }],
      [{ kind: 'lock_proof', proof: { rank: 1, attempt: 0, value: 'h'.repeat(128), voters: ['n1'] } }, { kind: 'lock_proof', proof: { rank: 1, attempt: 0, value: 'h'.repeat(129), voters: ['n1'] } }],
      [sig('A'.repeat(128)), sig('A'.repeat(129))],
      [sig('QUJD+/=='), sig('not base64!')],
      [{ kind: 'lock_proof', proof: { rank: 1, attempt: 0, value: 'h', valueDigest: 'a'.repeat(64), voters: ['n1'] } }, { kind: 'lock_proof', proof: { rank: 1, attempt: 0, value: 'h', valueDigest: 'A'.repeat(64), voters: ['n1'] } }],
    ];
    for (const [within, beyond] of cases) {
      expect(typeof decodeData(within)).toBe('object');
      expect(decodeData(beyond)).toBe('bad_body');
    }
  });

  it('turns arbitrary JSON, and arbitrary edits of real messages, into a message or bad_body; a node takes what decodes without throwing', async () => {
    const { ledger, engine } = await freshNode();
    fc.assert(
      fc.property(fc.jsonValue(), (data) => {
        const result = decodeData(data);
        expect(typeof result === 'object' || result === 'bad_body').toBe(true);
      }),
      { numRuns: 300 },
    );
    const kinds = each();
    fc.assert(
      fc.property(fc.nat(kinds.length - 1), fc.nat(), fc.jsonValue({ maxDepth: 3 }), (k, at, value) => {
        const [, data] = kinds[k];
        const all = places(data);
        const result = decodeData(edit(data, all[at % all.length].path, value));
        if (typeof result === 'string') expect(result).toBe('bad_body');
        else expect(typeof ledger.deliver('n1', result)).toBe('string');
      }),
      { numRuns: 500 },
    );
    ledger.halt();
    await engine.stop();
  });
});
