import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Block, runCluster, type Message, type Tamper } from '../../examples/embedding';
import { verifyCertificate } from '../../engine/signing/index';

const root = join(__dirname, '..', '..');

type Engines = Awaited<ReturnType<typeof runCluster>>;

/** Every node's log: the same blocks in the same order, each with a certificate that verifies with the public keys alone. */
function expectCertifiedAgreement(engines: Engines, rounds: number): string[] {
  const members = [...engines].map(([id, engine]) => ({ id, publicKey: engine.getPublicKey()! }));
  const logs = [...engines.values()].map((engine) => engine.log.range(1, rounds).map((entry) => entry.payload.identity()));
  for (const log of logs) expect(log).toEqual(logs[0]);
  expect(logs[0]).toHaveLength(rounds);
  for (const engine of engines.values()) {
    for (const entry of engine.log.range(1, rounds)) {
      expect(verifyCertificate(entry.certificate, members)).toMatchObject({ valid: true });
    }
  }
  return logs[0];
}

describe('the README embedding example: four nodes, engine-owned signatures and quorums', () => {
  it('commits the requested rounds on every node, each with a certificate that verifies', async () => {
    const engines = await runCluster(5);
    const blocks = expectCertifiedAgreement(engines, 5);
    // Heights 1..5, proved in turn by bob, carol, dave, alice, bob: deposits of 11, 12, 13, 10, 11.
    expect(blocks).toEqual(['block-1-11-bob', 'block-2-23-carol', 'block-3-36-dave', 'block-4-46-alice', 'block-5-57-bob']);
  });

  it('survives an equivocating node: dave proposes one block to alice and another to bob and carol', async () => {
    const tampered: string[] = [];
    const equivocate: Tamper = (from, to, message): Message => {
      if (from !== 'dave' || message.kind !== 'proposal' || to === 'alice') return message;
      const { block } = message;
      tampered.push(`${block.height}.${message.position.attempt}->${to}`);
      return { ...message, block: new Block(block.height, block.total + 1, block.prover) };
    };
    const engines = await runCluster(8, equivocate);
    expect(tampered.length).toBeGreaterThan(0);
    const blocks = expectCertifiedAgreement(engines, 8);
    // Whichever of dave's blocks a quorum certified, it is one block per height for everyone.
    expect(new Set(blocks.map((id) => id.split('-')[1])).size).toBe(8);
  });

  it('refuses forged signatures: carol\'s votes and confirmations arrive with a forged signature, the other three still commit, and no certificate names her', async () => {
    // Three signed voters are a quorum of four; a node whose signatures never verify is as good as silent.
    const forge: Tamper = (from, _to, message): Message =>
      from === 'carol' && (message.kind === 'vote' || message.kind === 'confirmation')
        ? ({ ...message, position: { ...message.position, signature: 'A'.repeat(86) + '==' } } as Message)
        : message;
    const engines = await runCluster(4, forge);
    expectCertifiedAgreement(engines, 4);
    for (const [name, engine] of engines) {
      for (const entry of engine.log.range(1, 4)) {
        if (name !== 'carol') expect(entry.certificate!.signers).not.toContain('carol');
      }
    }
  });

  it('is quoted verbatim in the README', () => {
    const example = readFileSync(join(root, 'examples', 'embedding.ts'), 'utf8').trim();
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain(example);
  });
});
