// A node process started Byzantine: the configuration's `byzantine` field and
// the `node --byzantine` flag, and which of the simulator's behaviours can be
// acted out over the wire at all (their messages must survive the codec).
import { runCli } from '../../cli/program';
import { generateKeyPair, signStatement } from '../../engine/signing/index';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { leaderSchedule } from '../../examples/ledger/rules';
import { LedgerFrame, LedgerPeer } from '../../examples/ledger/types';
import { ledgerBodyCodec } from '../../examples/ledger/wire';
import type { ElectionMessage } from '../../machines/election.schemas';
import { electionBodyCodec, wireCodec } from '../../node/wire';
import { createSeededRandom } from '../../providers/random';
import { loadNodeConfig, NodeConfigError, WIRE_BYZANTINE_BEHAVIOURS } from '../../server/config';
import { BYZANTINE_BEHAVIOURS, ByzantineNode, type ByzantineBehaviour } from '../../simulator/byzantine';
import { nodeConfigFiles, removeNodeConfigFiles } from '../support/nodeConfigFiles';

afterAll(removeNodeConfigFiles);

const configFile = (byzantine?: unknown): string =>
  nodeConfigFiles((config) => {
    if (byzantine !== undefined) config.byzantine = byzantine;
  }).file;

describe("a node configuration's byzantine field", () => {
  it('is optional, and takes each behaviour that works over the wire', () => {
    expect(loadNodeConfig(configFile()).config.byzantine).toBeUndefined();
    for (const behaviour of WIRE_BYZANTINE_BEHAVIOURS) expect(loadNodeConfig(configFile(behaviour)).config.byzantine).toBe(behaviour);
  });

  it.each([['nope'], ['garbage'], ['shape-shift'], ['mixed'], [true], [1]])('refuses %p with a NodeConfigError naming the field', (value) => {
    const file = configFile(value);
    expect(() => loadNodeConfig(file)).toThrow(NodeConfigError);
    expect(() => loadNodeConfig(file)).toThrow(/byzantine/);
  });
});

describe('node --byzantine', () => {
  it('refuses an unknown behaviour as a usage error, before anything starts', async () => {
    let stderr = '';
    const io = { stdout: { write: () => true }, stderr: { write: (text: string) => (stderr += text) } };
    const code = await runCli(['node', '--config', configFile(), '--byzantine', 'garbage'], io);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: --byzantine must be one of equivocate, .*, got garbage\n$/);
  });
});

describe("the Byzantine behaviours' messages on the wire", () => {
  const members = ['n1', 'n2', 'n3', 'n4'];
  const key = generateKeyPair();
  const codec = wireCodec<LedgerMessage, ElectionMessage>({ round: ledgerBodyCodec, election: electionBodyCodec });

  /** A few heights of an honest chain as n4's script sees it: frontiers, honest proposals in two attempts, a sync request. */
  function drive(behaviour: ByzantineBehaviour): { sent: number; refused: number } {
    let sent = 0;
    let refused = 0;
    const chain = [LedgerFrame.genesis()];
    const schedule = leaderSchedule(members, 3);
    const script = new ByzantineNode(
      {
        self: 'n4',
        members,
        schedule,
        rankWindow: 16,
        random: createSeededRandom(7),
        send: (_to, body) => {
          try {
            codec.decode(codec.encode({ channel: 'round', body }));
            sent += 1;
          } catch {
            refused += 1;
          }
        },
        finalizedAt: (height) => chain[height],
        now: () => 1_000 * chain.length,
        sign: (statement) => signStatement(key.privateKey, statement),
        note: () => undefined,
      },
      behaviour,
    );
    for (let height = 1; height <= 8; height += 1) {
      const parent = chain[height - 1];
      script.onHeight(height, parent);
      for (const attempt of [0, 1]) {
        for (const prover of schedule(height).filter((member) => member !== 'n4')) {
          const frame = LedgerFrame.create(height, parent.hash, prover, 1_000 * height, [`tx:${prover}:${height}:${attempt}`]);
          script.onMessage(prover, { kind: 'proposal', peer: new LedgerPeer(prover), proposal: frame, attempt, validAttempt: null });
          script.onMessage(prover, { kind: 'confirmation', peer: new LedgerPeer(prover), state: frame, attempt, signature: 'AAAA' });
        }
      }
      chain.push(LedgerFrame.create(height, parent.hash, schedule(height)[0], 1_000 * height, [`tx:x:${height}:0`]));
      script.onMessage('n1', { kind: 'sync_request', id: height, after: height - 1 });
    }
    return { sent, refused };
  }

  it.each(WIRE_BYZANTINE_BEHAVIOURS.map((behaviour) => [behaviour]))('%s: every message it sends can be encoded and decoded', (behaviour) => {
    const { sent, refused } = drive(behaviour);
    expect(refused).toBe(0);
    if (behaviour === 'withhold') expect(sent).toBe(0);
    else expect(sent).toBeGreaterThan(0);
  });

  it('garbage is mostly what the codec refuses to send, so it is not offered', () => {
    expect(BYZANTINE_BEHAVIOURS).toContain('garbage');
    const { sent, refused } = drive('garbage');
    expect(refused).toBeGreaterThan(sent);
  });
});
