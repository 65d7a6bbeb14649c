import { request as httpRequest, Agent, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { ProposalError } from '../../engine/errors';
import {
  startClientApi,
  type ClientApi,
  type ClientApiOptions,
  type ClientBackend,
  type ClientEntry,
  type ClientProposeOutcome,
} from '../../node/clientApi';

/** Fails with `what` unless `promise` settles within `ms`: no wait in this file is unbounded. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Polls `done` every 5 ms, at most `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

function entryAt(index: number): ClientEntry {
  return {
    index,
    rank: index,
    attempt: 0,
    valueDigest: index.toString(16).padStart(64, '0'),
    proposer: 'n1',
    certificate: { rank: index, attempt: 0, valueDigest: 'd', signers: ['n1', 'n2', 'n3'], signatures: ['a', 'b', 'c'] },
    value: { height: index, entries: [`e${index}`] },
  };
}

/** An in-memory log, and proposals that wait until the test settles them. */
class FakeBackend implements ClientBackend {
  entries: ClientEntry[] = [];
  /** Entries below this index are compacted: `log` no longer returns them. */
  firstHeld = 0;
  readonly proposals: Array<{ payload: unknown; options: { deadline?: number }; outcome: Deferred<ClientProposeOutcome> }> = [];
  readonly listeners = new Set<(entry: ClientEntry) => void>();
  statusThrows = false;
  /** Characters added to each new entry's value, to fill sockets. */
  valuePad = 0;
  /** Called on each `log` read, before it answers. */
  onLog: (() => void) | undefined;

  propose(payload: unknown, options: { deadline?: number }): Promise<ClientProposeOutcome> {
    const outcome = deferred<ClientProposeOutcome>();
    this.proposals.push({ payload, options, outcome });
    return outcome.promise;
  }
  log(from: number, limit: number): ClientEntry[] {
    this.onLog?.();
    return this.entries.filter((entry) => entry.index >= Math.max(from, this.firstHeld)).slice(0, limit);
  }
  status(): unknown {
    if (this.statusThrows) throw new Error('secret detail at /home/node/status.ts:12');
    return { role: 'leader', term: 3, leader: 'n1', height: this.entries.length, members: [{ id: 'n1', reachable: true }] };
  }
  async metrics() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# HELP x a counter\n# TYPE x counter\nx 1\n' };
  }
  onEntry(listener: (entry: ClientEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Appends the next entry and tells every listener, as a node does on commit. */
  commit(): ClientEntry {
    const entry = entryAt((this.entries.at(-1)?.index ?? 0) + 1);
    if (this.valuePad > 0) entry.value = { ...(entry.value as object), pad: 'p'.repeat(this.valuePad) };
    this.entries.push(entry);
    for (const listener of this.listeners) listener(entry);
    return entry;
  }
  /** Appends without telling anyone: an entry filled in behind the listeners' back. */
  append(entry: ClientEntry): void {
    this.entries.push(entry);
  }
  async nextProposal(count: number) {
    await until(() => this.proposals.length >= count, 2000, `proposal ${count}`);
    return this.proposals[count - 1];
  }
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: any;
}

function collect(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
    });
  });
}

/** One request on its own connection; `body` is sent as given (a string) or as JSON. */
function call(base: string, method: string, path: string, body?: unknown, headers: OutgoingHttpHeaders = {}): Promise<Reply> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = httpRequest(new URL(path, base), { method, agent: false, headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...headers } });
      req.on('response', (res) => collect(res).then(resolve, reject));
      req.on('error', reject);
      req.end(text);
    }),
    3000,
    `${method} ${path}`,
  );
}

/** A commit stream read as it comes: entries, comments, and its end. */
interface Stream {
  res: IncomingMessage;
  entries: ClientEntry[];
  ids: string[];
  comments: string[];
  ended: boolean;
  close(): void;
}

function openStream(base: string, path = '/v1/commits', headers: OutgoingHttpHeaders = {}): Promise<Stream | Reply> {
  return within(
    new Promise<Stream | Reply>((resolve, reject) => {
      const req = httpRequest(new URL(path, base), { agent: false, headers });
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) return void collect(res).then(resolve, reject);
        const stream: Stream = { res, entries: [], ids: [], comments: [], ended: false, close: () => req.destroy() };
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let cut: number;
          while ((cut = buffered.indexOf('\n\n')) >= 0) {
            const block = buffered.slice(0, cut);
            buffered = buffered.slice(cut + 2);
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
              else if (line.startsWith('data: ')) stream.entries.push(JSON.parse(line.slice(6)));
              else if (line.startsWith('id: ')) stream.ids.push(line.slice(4));
            }
          }
        });
        res.on('close', () => (stream.ended = true));
        res.on('error', () => (stream.ended = true));
        resolve(stream);
      });
      req.end();
    }),
    3000,
    `GET ${path}`,
  );
}

async function stream(base: string, path?: string, headers?: OutgoingHttpHeaders): Promise<Stream> {
  const opened = await openStream(base, path, headers);
  if (!('entries' in opened)) throw new Error(`the stream was refused: ${opened.status} ${opened.text}`);
  return opened;
}

const indices = (entries: ClientEntry[]) => entries.map((entry) => entry.index);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('client API', () => {
  let backend: FakeBackend;
  let api: ClientApi;
  let logs: Array<{ level: string; obj: object; msg?: string }>;
  const streams: Stream[] = [];

  async function start(options: Partial<ClientApiOptions> = {}): Promise<void> {
    await api?.close();
    api = await startClientApi({
      host: '127.0.0.1',
      port: 0,
      backend,
      logger: { info: (obj, msg) => logs.push({ level: 'info', obj, msg }), warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }) },
      ...options,
    });
  }
  async function track(path?: string, headers?: OutgoingHttpHeaders): Promise<Stream> {
    const opened = await stream(api.url, path, headers);
    streams.push(opened);
    return opened;
  }

  beforeEach(async () => {
    backend = new FakeBackend();
    logs = [];
    await start();
  });
  afterEach(async () => {
    for (const open of streams.splice(0)) open.close();
    await within(api.close(), 2000, 'close');
  });

  it('binds the host and port it is given and says where', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(api.url).port)).toBeGreaterThan(0);
    expect(logs).toContainEqual({ level: 'info', obj: { url: api.url }, msg: 'client API listening' });
  });

  describe('POST /v1/propose', () => {
    it('answers once the payload commits, with its index and rank', async () => {
      const reply = call(api.url, 'POST', '/v1/propose', { payload: { to: 'bob', amount: 3 } });
      const proposal = await backend.nextProposal(1);
      expect(proposal.payload).toEqual({ to: 'bob', amount: 3 });
      expect(proposal.options).toEqual({});
      proposal.outcome.resolve({ outcome: 'committed', index: 7, rank: 7 });
      const { status, json, headers } = await reply;
      expect(status).toBe(200);
      expect(json).toEqual({ index: 7, rank: 7 });
      expect(headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it('turns timeoutMs into a wall-clock deadline', async () => {
      const before = Date.now();
      const reply = call(api.url, 'POST', '/v1/propose', { payload: 'x', timeoutMs: 5000 });
      const proposal = await backend.nextProposal(1);
      expect(proposal.options.deadline).toBeGreaterThanOrEqual(before + 5000);
      expect(proposal.options.deadline).toBeLessThanOrEqual(Date.now() + 5000);
      proposal.outcome.resolve({ outcome: 'expired' });
      expect(await reply).toMatchObject({ status: 504, json: { error: 'expired' } });
    });

    it('answers 422 with the reason for an aborted proposal', async () => {
      const reply = call(api.url, 'POST', '/v1/propose', { payload: 'x' });
      (await backend.nextProposal(1)).outcome.resolve({ outcome: 'aborted', reason: 'balance too low' });
      const { status, json } = await reply;
      expect(status).toBe(422);
      expect(json).toMatchObject({ error: 'aborted', reason: 'balance too low' });
      expect(json.message).toContain('balance too low');
    });

    it.each([
      ['not JSON', '{"payload": ', 'not_json'],
      ['no payload', { timeoutMs: 10 }, 'no_payload'],
      ['an array', [1, 2], 'bad_request'],
      ['an unknown field', { payload: 1, timeout: 5 }, 'bad_request'],
      ['a string timeoutMs', { payload: 1, timeoutMs: '5' }, 'bad_timeout'],
      ['a zero timeoutMs', { payload: 1, timeoutMs: 0 }, 'bad_timeout'],
      ['a fractional timeoutMs', { payload: 1, timeoutMs: 1.5 }, 'bad_timeout'],
      ['a timeoutMs past ten minutes', { payload: 1, timeoutMs: 600_001 }, 'bad_timeout'],
    ])('refuses %s with 400 before the engine sees it', async (_what, body, code) => {
      const { status, json } = await call(api.url, 'POST', '/v1/propose', body);
      expect(status).toBe(400);
      expect(json.error).toBe(code);
      expect(typeof json.message).toBe('string');
      expect(backend.proposals).toHaveLength(0);
    });

    it('refuses a body that is not application/json with 415', async () => {
      const { status, json } = await call(api.url, 'POST', '/v1/propose', '{"payload":1}', { 'content-type': 'text/plain' });
      expect(status).toBe(415);
      expect(json.error).toBe('unsupported_media_type');
      expect(backend.proposals).toHaveLength(0);
    });

    it('takes a null payload to the engine: what it may hold is the engine\'s call', async () => {
      const reply = call(api.url, 'POST', '/v1/propose', { payload: null });
      (await backend.nextProposal(1)).outcome.reject(new ProposalError('malformed', 'identify cannot read null'));
      expect(await reply).toMatchObject({ status: 400, json: { error: 'malformed', message: 'malformed: identify cannot read null' } });
    });

    it.each([
      ['malformed', 400],
      ['invalid', 400],
      ['too_large', 413],
      ['duplicate', 409],
      ['too_many_pending', 429],
      ['stopped', 503],
      ['not_durable', 503],
      ['not_configured', 503],
    ] as const)("maps the engine's %s to %i", async (code, status) => {
      const reply = call(api.url, 'POST', '/v1/propose', { payload: 'x' });
      (await backend.nextProposal(1)).outcome.reject(new ProposalError(code, 'because'));
      const answer = await reply;
      expect(answer.status).toBe(status);
      expect(answer.json).toEqual({ error: code, message: `${code}: because` });
      expect(answer.headers['retry-after']).toBe(code === 'too_many_pending' ? '1' : undefined);
    });

    it.each([
      ['an error without a code', Object.assign(new Error('secret: /srv/keys/n1.key'), {})],
      ['an error whose code the API does not know', Object.assign(new Error('ENOSPC: secret /srv/data'), { code: 'ENOSPC' })],
      ['a thrown string', 'secret string'],
    ])('answers %s with a generic 500 and logs it', async (_what, error) => {
      const reply = call(api.url, 'POST', '/v1/propose', { payload: 'x' });
      (await backend.nextProposal(1)).outcome.reject(error);
      const { status, json, text } = await reply;
      expect(status).toBe(500);
      expect(json).toEqual({ error: 'internal', message: 'the node could not answer this request' });
      expect(text).not.toContain('secret');
      expect(text).not.toContain('at ');
      expect(logs.filter((line) => line.level === 'warn')).toHaveLength(1);
    });

    it('refuses a declared body past maxBodyBytes with 413 before reading any of it', async () => {
      await start({ maxBodyBytes: 1024 });
      const req = httpRequest(new URL('/v1/propose', api.url), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': 10_000_000 } });
      req.on('error', () => undefined);
      const answer = new Promise<Reply>((resolve, reject) => req.on('response', (res) => collect(res).then(resolve, reject)));
      // Ten bytes of the ten million declared: only the declared length can have been read.
      req.write('{"payload"');
      const { status, json, headers } = await within(answer, 2000, '413');
      req.destroy();
      expect(status).toBe(413);
      expect(json.error).toBe('body_too_large');
      expect(headers.connection).toBe('close');
      expect(backend.proposals).toHaveLength(0);
    });

    it('stops reading an undeclared (chunked) body once it passes maxBodyBytes and answers 413 while it is still being sent', async () => {
      await start({ maxBodyBytes: 4096 });
      const req = httpRequest(new URL('/v1/propose', api.url), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
      req.on('error', () => undefined);
      const answer = new Promise<Reply>((resolve, reject) => req.on('response', (res) => collect(res).then(resolve, reject)));
      req.write('{"payload":"');
      for (let i = 0; i < 8; i++) req.write('x'.repeat(1024));
      // The request is never ended: only a server that stops reading can answer it.
      const { status, json } = await within(answer, 2000, '413');
      req.destroy();
      expect(status).toBe(413);
      expect(json.error).toBe('body_too_large');
      expect(backend.proposals).toHaveLength(0);
    });

    it('takes a body of exactly maxBodyBytes', async () => {
      await start({ maxBodyBytes: 1024 });
      const body = JSON.stringify({ payload: '' });
      const padded = body.slice(0, -1) + ' '.repeat(1024 - body.length) + '}';
      expect(Buffer.byteLength(padded)).toBe(1024);
      const reply = call(api.url, 'POST', '/v1/propose', padded);
      (await backend.nextProposal(1)).outcome.resolve({ outcome: 'committed', index: 1, rank: 1 });
      expect((await reply).status).toBe(200);
    });

    it('survives a client that leaves while its proposal waits, and keeps serving', async () => {
      const req = httpRequest(new URL('/v1/propose', api.url), { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } });
      const failed = new Promise((resolve) => req.on('error', resolve));
      req.end(JSON.stringify({ payload: 'left' }));
      const proposal = await backend.nextProposal(1);
      req.destroy();
      await within(failed, 1000, 'the client socket closing');
      // Give the server a turn to see the socket go before the outcome arrives.
      await new Promise((resolve) => setTimeout(resolve, 20));
      proposal.outcome.resolve({ outcome: 'committed', index: 4, rank: 4 });
      await until(() => logs.some((line) => line.msg === 'a proposal settled after its client left'), 1000, 'the log line');
      const failing = call(api.url, 'POST', '/v1/propose', { payload: 'next' });
      (await backend.nextProposal(2)).outcome.reject(new ProposalError('duplicate', 'again'));
      expect((await failing).status).toBe(409);
      expect((await call(api.url, 'GET', '/v1/status')).status).toBe(200);
    });

    it('shrugs off a client that leaves halfway through its body', async () => {
      const req = httpRequest(new URL('/v1/propose', api.url), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': 100 } });
      req.on('error', () => undefined);
      req.write('{"payload": "half');
      await new Promise((resolve) => setTimeout(resolve, 20));
      req.destroy();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(backend.proposals).toHaveLength(0);
      expect(logs.filter((line) => line.level === 'warn')).toEqual([]);
      expect((await call(api.url, 'GET', '/v1/status')).status).toBe(200);
    });

    it('keeps the connection alive between requests', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const get = () =>
          within(
            new Promise<{ reused: boolean; connection: string | undefined }>((resolve, reject) => {
              const req = httpRequest(new URL('/v1/status', api.url), { agent });
              req.on('response', (res) => {
                res.resume();
                res.on('end', () => resolve({ reused: req.reusedSocket, connection: res.headers.connection }));
              });
              req.on('error', reject);
              req.end();
            }),
            2000,
            'keep-alive GET',
          );
        expect(await get()).toEqual({ reused: false, connection: 'keep-alive' });
        expect(await get()).toEqual({ reused: true, connection: 'keep-alive' });
      } finally {
        agent.destroy();
      }
    });
  });

  describe('GET /v1/log', () => {
    beforeEach(() => {
      for (let i = 0; i < 150; i++) backend.commit();
    });

    it('pages from 1, 100 at a time, by default', async () => {
      const { status, json } = await call(api.url, 'GET', '/v1/log');
      expect(status).toBe(200);
      expect(indices(json.entries)).toEqual(range(1, 100));
      expect(json.entries[0]).toEqual(entryAt(1));
    });

    it('reads the window asked for', async () => {
      const { json } = await call(api.url, 'GET', '/v1/log?from=140&limit=5');
      expect(indices(json.entries)).toEqual(range(140, 144));
      expect(indices((await call(api.url, 'GET', '/v1/log?from=149&limit=1000')).json.entries)).toEqual([149, 150]);
      expect((await call(api.url, 'GET', '/v1/log?from=151')).json).toEqual({ entries: [] });
    });

    it('starts past what was compacted', async () => {
      backend.firstHeld = 120;
      expect(indices((await call(api.url, 'GET', '/v1/log?from=1&limit=3')).json.entries)).toEqual([120, 121, 122]);
    });

    it.each(['from=-1', 'from=abc', 'from=1.5', 'from=', 'limit=0', 'limit=1001', 'limit=1e3', 'from=99999999999999999'])('refuses %s with 400', async (query) => {
      const { status, json } = await call(api.url, 'GET', `/v1/log?${query}`);
      expect(status).toBe(400);
      expect(json.error).toBe('bad_query');
    });
  });

  describe('status, metrics and routing', () => {
    it("answers GET /v1/status with the backend's status", async () => {
      backend.commit();
      const { status, json } = await call(api.url, 'GET', '/v1/status');
      expect(status).toBe(200);
      expect(json).toEqual({ role: 'leader', term: 3, leader: 'n1', height: 1, members: [{ id: 'n1', reachable: true }] });
    });

    it('answers a failing status with a generic 500', async () => {
      backend.statusThrows = true;
      const { status, text } = await call(api.url, 'GET', '/v1/status');
      expect(status).toBe(500);
      expect(text).not.toContain('secret');
    });

    it('serves the Prometheus text with its content type', async () => {
      const { status, text, headers } = await call(api.url, 'GET', '/metrics');
      expect(status).toBe(200);
      expect(headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(text).toBe('# HELP x a counter\n# TYPE x counter\nx 1\n');
    });

    it('answers an unknown path with 404 and a wrong method with 405 and Allow', async () => {
      expect(await call(api.url, 'GET', '/v2/propose')).toMatchObject({ status: 404, json: { error: 'not_found' } });
      expect(await call(api.url, 'GET', '/')).toMatchObject({ status: 404 });
      const wrong = await call(api.url, 'GET', '/v1/propose');
      expect(wrong).toMatchObject({ status: 405, json: { error: 'method_not_allowed' } });
      expect(wrong.headers.allow).toBe('POST');
      const put = await call(api.url, 'PUT', '/v1/status', '{}');
      expect(put).toMatchObject({ status: 405 });
      expect(put.headers.allow).toBe('GET');
      expect(await call(api.url, 'DELETE', '/v1/commits')).toMatchObject({ status: 405 });
    });
  });

  describe('GET /v1/commits', () => {
    it('streams each committed entry as an event, and nothing before it opened', async () => {
      backend.commit();
      backend.commit();
      const open = await track();
      expect(open.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(open.res.headers['cache-control']).toBe('no-cache');
      for (let i = 0; i < 3; i++) backend.commit();
      await until(() => open.entries.length === 3, 2000, 'three live entries');
      expect(open.entries).toEqual([entryAt(3), entryAt(4), entryAt(5)]);
      expect(open.ids).toEqual(['3', '4', '5']);
    });

    it('replays from ?from= then streams live entries, with no gap and no duplicate, while commits race the replay', async () => {
      for (let i = 0; i < 700; i++) backend.commit();
      // For the first pages the replay reads, a commit lands between the read and the live queue.
      let racing = 3;
      backend.onLog = () => void (racing-- > 0 && backend.commit());
      const open = await track('/v1/commits?from=5');
      await until(() => open.entries.at(-1)?.index === 703, 3000, 'the replay');
      backend.onLog = undefined;
      backend.commit();
      const last = backend.entries.at(-1)!.index;
      await until(() => open.entries.at(-1)?.index === last, 2000, 'the last entry');
      expect(last).toBe(704);
      expect(indices(open.entries)).toEqual(range(5, last));
    });

    it('queues live entries while a slow client holds the replay back, and falls back to the log past the queue bound', async () => {
      backend.valuePad = 8192;
      for (let i = 0; i < 600; i++) backend.commit();
      const open = await track('/v1/commits?from=1');
      open.res.pause();
      // Well past what the sockets buffer (about 5 MB here), so the server waits for the client.
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 200; i++) backend.commit();
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 0; i < 1500; i++) backend.commit();
      open.res.resume();
      const last = backend.entries.at(-1)!.index;
      await until(() => open.entries.at(-1)?.index === last, 4000, 'the last entry');
      expect(indices(open.entries)).toEqual(range(1, last));
    });

    it('lets a client leave in the middle of a replay: unsubscribed, and no warning', async () => {
      backend.valuePad = 8192;
      for (let i = 0; i < 1000; i++) backend.commit();
      const open = await track('/v1/commits?from=1');
      open.res.pause();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(open.entries.length).toBeLessThan(1000);
      open.close();
      await until(() => backend.listeners.size === 0, 2000, 'the stream unsubscribing');
      backend.commit();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(logs.filter((line) => line.level === 'warn')).toEqual([]);
    });

    it('replays from where a reconnecting EventSource left off (Last-Event-ID)', async () => {
      for (let i = 0; i < 10; i++) backend.commit();
      const open = await track('/v1/commits', { 'last-event-id': '7' });
      await until(() => open.entries.length === 3, 2000, 'the replay');
      backend.commit();
      await until(() => open.entries.length === 4, 2000, 'the live entry');
      expect(indices(open.entries)).toEqual([8, 9, 10, 11]);
    });

    it('replays from past the compacted part when from is older', async () => {
      for (let i = 0; i < 10; i++) backend.commit();
      backend.firstHeld = 6;
      const open = await track('/v1/commits?from=1');
      await until(() => open.entries.length === 5, 2000, 'the replay');
      expect(indices(open.entries)).toEqual([6, 7, 8, 9, 10]);
    });

    it('fills a gap in the live entries from the log, and sends past one the log cannot fill', async () => {
      const open = await track();
      backend.commit();
      backend.append(entryAt(2));
      backend.commit();
      await until(() => open.entries.length === 3, 2000, 'the filled gap');
      expect(indices(open.entries)).toEqual([1, 2, 3]);
      // Entry 4 is in no log: 5 still goes out, and late copies of anything sent do not.
      const fifth = entryAt(5);
      for (const listener of backend.listeners) listener(fifth);
      for (const listener of backend.listeners) listener(entryAt(3));
      backend.entries.push(fifth);
      backend.commit();
      await until(() => open.entries.length === 5, 2000, 'past the gap');
      expect(indices(open.entries)).toEqual([1, 2, 3, 5, 6]);
    });

    it('refuses a bad from with 400', async () => {
      expect(await openStream(api.url, '/v1/commits?from=x')).toMatchObject({ status: 400, json: { error: 'bad_query' } });
      expect(backend.listeners.size).toBe(0);
    });

    it('sends a comment heartbeat on an idle stream', async () => {
      await start({ heartbeatMs: 30 });
      const open = await track();
      await until(() => open.comments.filter((line) => line === 'heartbeat').length >= 2, 2000, 'two heartbeats');
      expect(open.entries).toEqual([]);
    });

    it('serves maxStreams at once, refuses the next with 503, and unsubscribes the ones that leave', async () => {
      await start({ maxStreams: 2 });
      const first = await track();
      await track();
      expect(backend.listeners.size).toBe(2);
      const refused = await openStream(api.url);
      expect(refused).toMatchObject({ status: 503, json: { error: 'too_many_streams' } });
      expect((refused as Reply).headers['retry-after']).toBe('1');
      first.close();
      await until(() => backend.listeners.size === 1, 2000, 'the first stream unsubscribing');
      const third = await track();
      backend.commit();
      await until(() => third.entries.length === 1, 2000, 'the third stream');
    });

    it('close() ends open streams and resolves promptly', async () => {
      const open = [await track(), await track(), await track('/v1/commits?from=1')];
      const waiting = call(api.url, 'POST', '/v1/propose', { payload: 'never settles' }).catch((error: Error) => error);
      await backend.nextProposal(1);
      const started = Date.now();
      await within(api.close(), 1000, 'close');
      expect(Date.now() - started).toBeLessThan(1000);
      await until(() => open.every((s) => s.ended), 1000, 'the streams ending');
      expect(backend.listeners.size).toBe(0);
      expect(String(await waiting)).toMatch(/socket hang up|ECONNRESET/);
      await expect(call(api.url, 'GET', '/v1/status')).rejects.toThrow();
    });
  });
});
