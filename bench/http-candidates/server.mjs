// The serving side, in its own process so the server and the load generator
// each get a core, as a node and its clients would. `node server.mjs
// http|fastify|fastify-schema`; prints `PORT <n>` once listening on
// 127.0.0.1. A line `cpu` on stdin is answered with `CPU <µs>`: the process's
// user + system time so far, so the parent can charge each run its CPU.
//
// Both servers do what the client API does per request, nothing more: POST
// /v1/propose reads a JSON body of at most 64 KiB, checks it has a payload and
// answers `{ index, rank }`; GET /v1/status answers a status object of the
// size a 4-node cluster's is; anything else is a JSON 404.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const [kind] = process.argv.slice(2);
const MAX_BODY = 64 * 1024;
const STATUS = {
  id: 'n1', chainId: 'bench', role: 'leader', term: 7, leader: 'n1', height: 1234, state: 'proposing', pendingProposals: 3,
  members: ['n1', 'n2', 'n3', 'n4'].map((id, i) => ({ id, publicKey: 'ab'.repeat(32), address: `127.0.0.1:${7000 + i}`, reachable: true })),
};
let index = 0;

// Stops by itself if the parent dies (stdin closes) or forgets it.
setTimeout(() => process.exit(2), 30 * 60_000).unref();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    process.stdout.write(`CPU ${user + system}\n`);
  })
  .on('close', () => process.exit(0));

function nodeHttp() {
  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/v1/status' && req.method === 'GET') return send(res, 200, STATUS);
    if (path !== '/v1/propose' || req.method !== 'POST') return send(res, 404, { error: 'not_found', message: `no route ${path}` });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, { error: 'unsupported_media_type', message: 'application/json only' });
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return send(res, 413, { error: 'body_too_large', message: 'too large' });
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) return void req.destroy();
      chunks.push(chunk);
    });
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      } catch {
        return send(res, 400, { error: 'not_json', message: 'not JSON' });
      }
      if (body?.payload === undefined) return send(res, 400, { error: 'no_payload', message: 'no payload' });
      index += 1;
      send(res, 200, { index, rank: index });
    });
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
}

async function fastify(withSchemas) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY, keepAliveTimeout: 5_000 });
  const member = { type: 'object', properties: { id: { type: 'string' }, publicKey: { type: 'string' }, address: { type: 'string' }, reachable: { type: 'boolean' } } };
  // Response schemas are fastify's own speed-up (fast-json-stringify); the request is checked by hand in both, as in node:http.
  const schemas = (properties) => (withSchemas ? { schema: { response: { 200: { type: 'object', properties } } } } : {});
  const statusProps = {
    id: { type: 'string' }, chainId: { type: 'string' }, role: { type: 'string' }, term: { type: 'integer' }, leader: { type: 'string' },
    height: { type: 'integer' }, state: { type: 'string' }, pendingProposals: { type: 'integer' }, members: { type: 'array', items: member },
  };
  app.get('/v1/status', schemas(statusProps), async () => STATUS);
  app.post('/v1/propose', schemas({ index: { type: 'integer' }, rank: { type: 'integer' } }), async (request, reply) => {
    if (request.body?.payload === undefined) return reply.code(400).send({ error: 'no_payload', message: 'no payload' });
    index += 1;
    return { index, rank: index };
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.url}` }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`PORT ${app.server.address().port}`);
}

if (kind === 'http') nodeHttp();
else if (kind === 'fastify' || kind === 'fastify-schema') await fastify(kind === 'fastify-schema');
else {
  console.error(`unknown server ${kind}`);
  process.exit(1);
}
