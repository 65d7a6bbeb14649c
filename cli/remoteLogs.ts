import { commitLogsSchema, type CommitLogsInput } from './verify';
import { UsageError } from './usage';

/** Entries one request asks a node for: the client API's page limit. */
const PAGE = 1000;
/** A log longer than this is not fetched whole for a check from the command line. */
const MAX_ENTRIES = 1_000_000;

async function getJson(url: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new UsageError(`--url: ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new UsageError(`--url: ${url} answered ${response.status}`);
  try {
    return await response.json();
  } catch {
    throw new UsageError(`--url: ${url} did not answer JSON`);
  }
}

/**
 * The commit logs of running nodes, as `verify` reads a file: the chain id
 * and the members' public keys from the first node's `/v1/status`, each
 * node's entries from its `/v1/log`, page by page. Which keys to trust is
 * the caller's business: a node could lie about the members, so an outsider
 * compares them with the keys it knows.
 */
export async function fetchCommitLogs(urls: readonly string[]): Promise<CommitLogsInput> {
  const status = (await getJson(`${urls[0]}/v1/status`)) as { chainId?: unknown; members?: unknown };
  const nodes: Record<string, unknown[]> = {};
  for (const url of urls) {
    const { id } = (await getJson(`${url}/v1/status`)) as { id?: unknown };
    const name = typeof id === 'string' ? id : url;
    const entries: unknown[] = [];
    for (let from = 1; entries.length < MAX_ENTRIES; ) {
      const page = (await getJson(`${url}/v1/log?from=${from}&limit=${PAGE}`)) as { entries?: Array<{ index: number; value: unknown }> };
      const got = page.entries ?? [];
      if (got.length === 0) break;
      for (const entry of got) entries.push({ ...entry, payload: entry.value });
      from = got[got.length - 1].index + 1;
    }
    nodes[name] = entries;
  }
  const parsed = commitLogsSchema.safeParse({ chainId: status.chainId, members: status.members, nodes });
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new UsageError(`--url: what the nodes answered is not a commit log: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
