import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../engine/signing/keys';

const dirs: string[] = [];

/** Removes every directory `nodeConfigFiles` made; for an `afterAll`. */
export function removeNodeConfigFiles(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * A two-member cluster's configuration for member n1 and its key file, in a
 * fresh directory, each edited before it is written: the starting point of a
 * configuration test.
 */
export function nodeConfigFiles(
  edit: (config: Record<string, unknown>) => void = () => undefined,
  keyEdit: (keys: Record<string, string>) => void = () => undefined,
) {
  const dir = mkdtempSync(join(tmpdir(), 'node-config-'));
  dirs.push(dir);
  const keys = [generateKeyPair(), generateKeyPair()];
  const config: Record<string, unknown> = {
    id: 'n1',
    clusterId: 'c',
    keyFile: 'key.json',
    members: [
      { id: 'n1', host: '127.0.0.1', port: 7001, publicKey: keys[0].publicKey },
      { id: 'n2', host: '127.0.0.1', port: 7002, publicKey: keys[1].publicKey },
    ],
    client: { host: '127.0.0.1', port: 8001 },
    dataDir: 'data',
  };
  edit(config);
  const key: Record<string, string> = { ...keys[0] };
  keyEdit(key);
  writeFileSync(join(dir, 'key.json'), JSON.stringify(key));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { file: join(dir, 'config.json'), dir, keys };
}
