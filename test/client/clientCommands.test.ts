import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { logCommand, payloadOf, proposeCommand } from '../../cli/clientCommands';
import { ProposalError } from '../../engine/errors';
import { startClientApi, type ClientApi, type ClientBackend, type ClientEntry, type ClientProposeOutcome } from '../../node/clientApi';

function entryAt(index: number, certificate: unknown = { signers: ['n1', 'n2', 'n3'], signatures: ['a', 'b', 'c'] }): ClientEntry {
  return {
    index,
    rank: index,
    attempt: 0,
    valueDigest: `${index.toString(16).padStart(4, '0')}abcdef0123456789`,
    proposer: 'n1',
    certificate,
    value: { height: index, entries: [`e${index}`] },
  };
}

/** A backend whose proposals end however the test's `answer` says. */
class FakeBackend implements ClientBackend {
  entries: ClientEntry[] = [];
  readonly proposals: Array<{ payload: unknown; options: { deadline?: number } }> = [];
  answer: (payload: unknown) => Promise<ClientProposeOutcome> = async () => ({ outcome: 'committed', index: 12, rank: 12 });

  propose(payload: unknown, options: { deadline?: number }): Promise<ClientProposeOutcome> {
    this.proposals.push({ payload, options });
    return this.answer(payload);
  }
  log(from: number, limit: number): ClientEntry[] {
    return this.entries.filter((entry) => entry.index >= from).slice(0, limit);
  }
  status(): unknown {
    return {};
  }
  async metrics() {
    return { contentType: 'text/plain', body: '' };
  }
  onEntry(): () => void {
    return () => undefined;
  }
}

/** A server that is not the client API: it answers `respond`'s way, or never. */
async function foreignServer(respond: ((res: import('node:http').ServerResponse) => void) | null): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => respond?.(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
async function closeForeign(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('client commands', () => {
  let backend: FakeBackend;
  let api: ClientApi;

  beforeEach(async () => {
    backend = new FakeBackend();
    api = await startClientApi({ host: '127.0.0.1', port: 0, backend });
  });
  afterEach(async () => {
    await api.close();
  });

  describe('payloadOf', () => {
    it('reads JSON when the argument is JSON, else takes the string', () => {
      expect(payloadOf('{"to":"bob","amount":3}')).toEqual({ to: 'bob', amount: 3 });
      expect(payloadOf('42')).toBe(42);
      expect(payloadOf('"quoted"')).toBe('quoted');
      expect(payloadOf('null')).toBeNull();
      expect(payloadOf('hello world')).toBe('hello world');
      expect(payloadOf('{not json')).toBe('{not json');
    });
  });

  describe('proposeCommand', () => {
    it('prints where the payload committed and exits 0', async () => {
      const result = await proposeCommand(api.url, '{"to":"bob"}');
      expect(result).toEqual({ exitCode: 0, output: 'committed at index 12 (rank 12)' });
      expect(backend.proposals).toEqual([{ payload: { to: 'bob' }, options: {} }]);
    });

    it('sends a plain word as a string, and the timeout as timeoutMs', async () => {
      const before = Date.now();
      await proposeCommand(`${api.url}/`, 'hello', { timeoutMs: 2000 });
      expect(backend.proposals[0].payload).toBe('hello');
      expect(backend.proposals[0].options.deadline).toBeGreaterThanOrEqual(before + 2000);
      expect(backend.proposals[0].options.deadline).toBeLessThanOrEqual(Date.now() + 2000);
    });

    it("prints the node's answer as JSON with json", async () => {
      expect(await proposeCommand(api.url, '1', { json: true })).toEqual({ exitCode: 0, output: '{"index":12,"rank":12}' });
      backend.answer = async () => Promise.reject(new ProposalError('duplicate', 'already pending'));
      const refused = await proposeCommand(api.url, '1', { json: true });
      expect(refused.exitCode).toBe(1);
      expect(JSON.parse(refused.output)).toEqual({ error: 'duplicate', message: 'duplicate: already pending' });
    });

    it.each([
      ['duplicate', new ProposalError('duplicate', 'a payload named x is already pending'), 'error: duplicate: a payload named x is already pending (HTTP 409)'],
      ['too_many_pending', new ProposalError('too_many_pending', '128 proposals are pending'), 'error: too_many_pending: 128 proposals are pending (HTTP 429, retry after 1 s)'],
      ['too_large', new ProposalError('too_large', 'too big'), 'error: too_large: too big (HTTP 413)'],
      ['stopped', new ProposalError('stopped', 'the engine is stopped'), 'error: stopped: the engine is stopped (HTTP 503)'],
      ['an unexpected error', new Error('hidden'), 'error: internal: the node could not answer this request (HTTP 500)'],
    ])('prints a refusal on one line and exits 1: %s', async (_what, error, line) => {
      backend.answer = () => Promise.reject(error);
      expect(await proposeCommand(api.url, '"x"')).toEqual({ exitCode: 1, output: line });
    });

    it('prints an aborted proposal with its reason, and an expired one', async () => {
      backend.answer = async () => ({ outcome: 'aborted', reason: 'balance too low' });
      expect(await proposeCommand(api.url, '"x"')).toEqual({ exitCode: 1, output: 'aborted: balance too low' });
      backend.answer = async () => ({ outcome: 'expired' });
      expect(await proposeCommand(api.url, '"x"')).toEqual({ exitCode: 1, output: 'error: expired: the proposal did not commit by its deadline (HTTP 504)' });
    });

    it('prints a request the API refused', async () => {
      expect(await proposeCommand(api.url, '1', { timeoutMs: 0 })).toEqual({
        exitCode: 1,
        output: 'error: bad_timeout: "timeoutMs" must be a whole number of ms from 1 to 600000 (HTTP 400)',
      });
    });

    it('says when nothing listens at the URL', async () => {
      const { url, server } = await foreignServer(null);
      await closeForeign(server);
      const result = await proposeCommand(url, '1');
      expect(result.exitCode).toBe(1);
      expect(result.output).toMatch(new RegExp(`^error: cannot reach ${url}/v1/propose: .*ECONNREFUSED`));
      const json = await proposeCommand(url, '1', { json: true });
      expect(JSON.parse(json.output)).toMatchObject({ error: 'unreachable' });
    });

    it('gives up on a node that does not answer in time', async () => {
      const { url, server } = await foreignServer(null);
      try {
        const started = Date.now();
        const result = await proposeCommand(url, '1', { requestTimeoutMs: 200 });
        expect(result).toEqual({ exitCode: 1, output: `error: no answer from ${url}/v1/propose within 200 ms` });
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await closeForeign(server);
      }
    });

    it('says when what answered is not the client API', async () => {
      const { url, server } = await foreignServer((res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>\n<b>Bad gateway</b></html>'));
      try {
        expect(await proposeCommand(url, '1')).toEqual({ exitCode: 1, output: `error: HTTP 502 from ${url}/v1/propose, not JSON: <html> <b>Bad gateway</b></html>` });
      } finally {
        await closeForeign(server);
      }
    });

    it('refuses a URL it cannot use', async () => {
      expect(await proposeCommand('not a url', '1')).toEqual({ exitCode: 1, output: 'error: not a URL: not a url' });
      expect(await proposeCommand('ftp://127.0.0.1:1', '1')).toEqual({ exitCode: 1, output: 'error: not an http(s) URL: ftp://127.0.0.1:1' });
    });
  });

  describe('logCommand', () => {
    beforeEach(() => {
      for (let index = 1; index <= 12; index++) backend.entries.push(entryAt(index));
    });

    it('prints one line per entry: index, rank, digest prefix, signers, the value compact', async () => {
      const result = await logCommand(api.url, { from: 9, limit: 2 });
      expect(result).toEqual({
        exitCode: 0,
        output: ['9  rank 9  0009abcdef01  3 signers  {"height":9,"entries":["e9"]}', '10  rank 10  000aabcdef01  3 signers  {"height":10,"entries":["e10"]}']
          .map((line) => (line.startsWith('9') ? ` ${line}` : line))
          .join('\n'),
      });
    });

    it('reads from 1, 100 at most, by default', async () => {
      const { exitCode, output } = await logCommand(api.url);
      expect(exitCode).toBe(0);
      expect(output.split('\n')).toHaveLength(12);
      expect(output.split('\n')[0]).toMatch(/^ 1 {2}rank 1 /);
    });

    it('marks an entry without a certificate and cuts a long value', async () => {
      backend.entries = [{ ...entryAt(1, null), value: { blob: 'z'.repeat(500) } }];
      const { output } = await logCommand(api.url);
      expect(output).toMatch(/^1 {2}rank 1 {2}0001abcdef01 {2}unsigned {2}\{"blob":"z+…$/);
      expect(output.length).toBeLessThan(220);
    });

    it('says when there is nothing from that index', async () => {
      expect(await logCommand(api.url, { from: 50 })).toEqual({ exitCode: 0, output: 'no entries from index 50' });
    });

    it("prints the node's answer as JSON with json", async () => {
      const { exitCode, output } = await logCommand(api.url, { from: 12, json: true });
      expect(exitCode).toBe(0);
      expect(JSON.parse(output)).toEqual({ entries: [entryAt(12)] });
    });

    it('prints a refused window and exits 1', async () => {
      expect(await logCommand(api.url, { limit: 5000 })).toEqual({ exitCode: 1, output: 'error: bad_query: limit must be a whole number from 1 to 1000 (HTTP 400)' });
    });

    it('says when the answer is not a log, or nothing answers in time', async () => {
      const odd = await foreignServer((res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"rows":[]}'));
      const silent = await foreignServer(null);
      try {
        const notLog = await logCommand(odd.url);
        expect(notLog.exitCode).toBe(1);
        expect(notLog.output).toMatch(/^error: .*\/v1\/log answered with something other than a log/);
        expect(await logCommand(silent.url, { requestTimeoutMs: 150 })).toEqual({ exitCode: 1, output: `error: no answer from ${silent.url}/v1/log within 150 ms` });
      } finally {
        await closeForeign(odd.server);
        await closeForeign(silent.server);
      }
    });
  });
});
