import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { keyPairFromSeed } from '../engine/signing/keys';
import type { ByzantineBehaviour } from '../simulator/byzantine';

/**
 * One member's node process, as `statechart-consensus node --config FILE`
 * reads it. Paths are relative to the file's own directory, so a cluster's
 * directory can be moved whole.
 */
const NAME = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a member id is 1-32 letters, digits, _ or -');
const HEX_32 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'a public key is 64 hex characters');
const PORT = z.number().int().min(0).max(65_535);
const HOST = z.string().min(1).max(255);

const address = z.object({ host: HOST, port: PORT }).strict();

/**
 * The simulator's Byzantine behaviours a node process can act out over the
 * wire. Not `garbage`, whose values the wire codec refuses to encode (the node
 * would merely be quieter), nor `shape-shift`, whose frames the codec reads
 * once (they would arrive as plain frames).
 */
export const WIRE_BYZANTINE_BEHAVIOURS = ['equivocate', 'withhold', 'partial', 'invalid', 'flood', 'split-commit'] as const satisfies readonly ByzantineBehaviour[];
export type WireByzantineBehaviour = (typeof WIRE_BYZANTINE_BEHAVIOURS)[number];

export const nodeConfigSchema = z
  .object({
    /** This member's id; it must be among `members`. */
    id: NAME,
    /** Names the cluster in every handshake: a node of another cluster is refused even with a member's key. */
    clusterId: z.string().min(1).max(128),
    /** A JSON file `{ "privateKey": <64 hex>, "publicKey": <64 hex> }`, readable by this process alone. */
    keyFile: z.string().min(1),
    /**
     * Every node of the cluster, this one included: where it listens for
     * peers and its public key. Without `founders`, all of them are the
     * members, for good.
     */
    members: z.array(z.object({ id: NAME, host: HOST, port: PORT, publicKey: HEX_32 }).strict()).min(1).max(64),
    /**
     * The members at the start of the log, by id, in one order every node
     * shares: the other nodes of `members` join (and members leave) through
     * changes committed in the log (`POST /v1/members`). Every node of the
     * cluster must give the same list. Default: no changes, every node of
     * `members` a member.
     */
    founders: z.array(NAME).min(1).max(64).optional(),
    /** Where the client API (and `/metrics`) listens. */
    client: address,
    /** A second place to serve `/metrics` alone, e.g. for a scraper on another interface. */
    metrics: address.optional(),
    /** Term, vote, lock and commit log; created if missing. */
    dataDir: z.string().min(1),
    /** Mutual TLS between members (PEM files): encryption on the wire; the handshake authenticates members either way. */
    tls: z.object({ key: z.string(), cert: z.string(), ca: z.string() }).strict().optional(),
    /** Pace and patience of the ledger, in ms. */
    timing: z
      .object({
        /** An idle cluster commits a frame of its own about this often. */
        idleFrameMs: z.number().int().min(1).max(60_000).optional(),
        /** How long a voter waits for a higher-priority prover's proposal. */
        patienceMs: z.number().int().min(10).max(60_000).optional(),
      })
      .strict()
      .optional(),
    /**
     * How votes and confirmations travel (the engine's `messaging`): `linear`
     * sends each to the value's prover alone, which broadcasts the proofs.
     * Every member of a cluster should give the same. Default `all-to-all`.
     */
    messaging: z.enum(['all-to-all', 'linear']).optional(),
    /**
     * For fault tests only: the process is a Byzantine member acting out this
     * behaviour with its own key, not an honest ledger (`byzantineServer.ts`).
     */
    byzantine: z.enum(WIRE_BYZANTINE_BEHAVIOURS).optional(),
    /** Log level of the JSON lines on stdout. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  })
  .strict()
  .superRefine((config, context) => {
    const ids = config.members.map((member) => member.id);
    if (new Set(ids).size !== ids.length) context.addIssue({ code: 'custom', message: 'member ids must be distinct', path: ['members'] });
    if (!ids.includes(config.id)) context.addIssue({ code: 'custom', message: `${config.id} is not among the members`, path: ['id'] });
    if (config.founders !== undefined) {
      if (new Set(config.founders).size !== config.founders.length) context.addIssue({ code: 'custom', message: 'founders must be distinct', path: ['founders'] });
      for (const founder of config.founders) {
        if (!ids.includes(founder)) context.addIssue({ code: 'custom', message: `founder ${founder} is not among the members`, path: ['founders'] });
      }
    }
  });

export type NodeFileConfig = z.infer<typeof nodeConfigSchema>;

/**
 * The ledger's pace when the file gives none. A voter waits `patienceMs` for
 * each of a height's (up to three) provers in turn, and an idle prover proves
 * after `idleFrameMs`: the shorter the idle wait against the voters'
 * patience, the more idle heights commit in their first attempt when a
 * prover is faulty (README, "The client API").
 */
export const DEFAULT_TIMING = { idleFrameMs: 300, patienceMs: 300 } as const;

export interface NodeKeyFile {
  privateKey: string;
  publicKey: string;
}

const keyFileSchema = z.object({ privateKey: HEX_32, publicKey: HEX_32 }).strict();

/** A configuration file that cannot be used: which file, and why. */
export class NodeConfigError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'NodeConfigError';
  }
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new NodeConfigError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new NodeConfigError(file, 'is not JSON');
  }
}

function parsed<T>(schema: z.ZodType<T>, data: unknown, file: string): T {
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new NodeConfigError(file, `${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return result.data;
}

/** Reads and checks a node's configuration and its key file; every path comes back absolute. */
export function loadNodeConfig(file: string): { config: NodeFileConfig; keys: NodeKeyFile } {
  const path = resolve(file);
  const config = parsed(nodeConfigSchema, readJson(path), path);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(path), p));
  const absolute: NodeFileConfig = {
    ...config,
    keyFile: at(config.keyFile),
    dataDir: at(config.dataDir),
    ...(config.tls ? { tls: { key: at(config.tls.key), cert: at(config.tls.cert), ca: at(config.tls.ca) } } : {}),
  };
  const keys = parsed(keyFileSchema, readJson(absolute.keyFile), absolute.keyFile);
  if (keyPairFromSeed(keys.privateKey).publicKey.toLowerCase() !== keys.publicKey.toLowerCase()) {
    throw new NodeConfigError(absolute.keyFile, 'its private key is not the one of its public key');
  }
  const self = absolute.members.find((member) => member.id === absolute.id)!;
  if (self.publicKey.toLowerCase() !== keys.publicKey.toLowerCase()) {
    throw new NodeConfigError(absolute.keyFile, `its public key is not the one the members list gives ${absolute.id}`);
  }
  return { config: absolute, keys };
}
