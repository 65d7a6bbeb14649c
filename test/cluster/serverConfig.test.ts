import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../../engine/signing/keys';
import { ProposalError } from '../../engine/errors';
import { isEntry, judgeProposal } from '../../examples/ledger/rules';
import { LedgerFrame } from '../../examples/ledger/types';
import { entryOf, MAX_PAYLOAD_TEXT, payloadsOf } from '../../server/clientBackend';
import { loadNodeConfig, NodeConfigError } from '../../server/config';
import { nodeConfigFiles, removeNodeConfigFiles } from '../support/nodeConfigFiles';

afterAll(removeNodeConfigFiles);

const clusterFiles = nodeConfigFiles;

describe("a node process's configuration", () => {
  it('loads, with paths made absolute against the file', () => {
    const { file, dir, keys } = clusterFiles();
    const { config, keys: loaded } = loadNodeConfig(file);
    expect(config.dataDir).toBe(join(dir, 'data'));
    expect(config.keyFile).toBe(join(dir, 'key.json'));
    expect(loaded).toEqual(keys[0]);
  });

  it.each<[string, (c: Record<string, unknown>) => void, (k: Record<string, string>) => void, RegExp]>([
    ['an id not among the members', (c) => (c.id = 'n9'), () => undefined, /n9 is not among the members/],
    ['two members with one id', (c) => ((c.members as Array<{ id: string }>)[1].id = 'n1'), () => undefined, /distinct/],
    ['an unknown field', (c) => (c.extra = 1), () => undefined, /extra|Unrecognized/i],
    ['a founder not among the members', (c) => (c.founders = ['n1', 'n9']), () => undefined, /founder n9 is not among the members/],
    ['a founder named twice', (c) => (c.founders = ['n1', 'n1']), () => undefined, /founders must be distinct/],
    ['no founders at all', (c) => (c.founders = []), () => undefined, /founders/],
    ['a port out of range', (c) => (c.client = { host: '127.0.0.1', port: 70_000 }), () => undefined, /client\.port/],
    ['a key file of another member', () => undefined, (k) => Object.assign(k, generateKeyPair()), /not the one the members list gives n1/],
    ['a private key that is not the public key\'s', () => undefined, (k) => (k.privateKey = generateKeyPair().privateKey), /private key is not the one of its public key/],
  ])('refuses %s with NodeConfigError naming the file', (_name, edit, keyEdit, message) => {
    const { file } = clusterFiles(edit, keyEdit);
    expect(() => loadNodeConfig(file)).toThrow(NodeConfigError);
    expect(() => loadNodeConfig(file)).toThrow(message);
  });

  it('takes founders among the members, the node itself among them or not', () => {
    const { file } = clusterFiles((c) => (c.founders = (c.members as Array<{ id: string }>).slice(1).map((m) => m.id)));
    const { config } = loadNodeConfig(file);
    expect(config.founders).not.toContain(config.id);
  });

  it('refuses a missing file and one that is not JSON', () => {
    expect(() => loadNodeConfig('/nonexistent/config.json')).toThrow(/cannot be read \(ENOENT\)/);
    const { file } = clusterFiles();
    writeFileSync(file, '{ nope');
    expect(() => loadNodeConfig(file)).toThrow(/is not JSON/);
  });
});

describe("a client's payload as a ledger entry", () => {
  it('is a c: entry a frame may carry, two equal payloads two entries, read back as the same JSON', () => {
    const payloads = ['hello', { n: 2, s: 'ünïcode ✓' }, [1, null, true]];
    const entries = payloads.map(entryOf);
    expect(entries.every(isEntry)).toBe(true);
    expect(entryOf('hello')).not.toBe(entryOf('hello'));
    const head = LedgerFrame.genesis();
    const frame = LedgerFrame.create(1, head.hash, 'n2', 1_000, entries);
    expect(judgeProposal(frame, 'n2', head, () => ['n2'])).toBe('valid');
    expect(payloadsOf(frame).map((p) => p.payload)).toEqual(payloads);
    expect(payloadsOf(LedgerFrame.create(1, head.hash, 'n2', 1_000, ['tx:n2:1:0']))).toEqual([]);
  });

  it('refuses what is not JSON or too long, as a ProposalError with a code', () => {
    expect(() => entryOf(undefined)).toThrow(ProposalError);
    expect(() => entryOf(() => 1)).toThrow(/malformed/);
    expect(() => entryOf('x'.repeat(MAX_PAYLOAD_TEXT))).toThrow(/too_large/);
    expect(isEntry(entryOf('x'.repeat(MAX_PAYLOAD_TEXT - 2)))).toBe(true);
  });

  it('a frame carrying a client entry with a control character or past 200 characters is refused by every voter', () => {
    const head = LedgerFrame.genesis();
    for (const bad of ['c:a:\u0001', `c:a:${'x'.repeat(201)}`, 'c::x', 'c:a:']) {
      expect(isEntry(bad)).toBe(false);
      expect(judgeProposal(LedgerFrame.create(1, head.hash, 'n2', 1_000, [bad]), 'n2', head, () => ['n2'])).toBe('bad_entries');
    }
  });
});
