// The receiving side, in its own process so sender and receiver each get a
// core, as two cluster nodes would. `node server.mjs tcp|tcp-nocork|ws|tls [certDir]`;
// prints `PORT <n>` once listening on 127.0.0.1.
//
// First byte of every message: E = echo it back; S = start counting (u32 N
// follows); D = data to count; X = sender gave up early. After N D's (or an
// X) it answers R + JSON {count, bytes, ns, cpuUs} measured on this side.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_FRAME, attachFramer, framedSender } from './framing.mjs';

const [kind, certDir] = process.argv.slice(2);
const E = 0x45, S = 0x53, D = 0x44, X = 0x58;

// Stops by itself if the parent dies (stdin closes) or forgets it.
process.stdin.on('end', () => process.exit(0)).resume();
setTimeout(() => process.exit(2), 15 * 60_000);

function handler(reply) {
  let run = null;
  const finish = () => {
    const cpu = process.cpuUsage(run.cpu);
    const out = { count: run.count, bytes: run.bytes, ns: Number(process.hrtime.bigint() - run.t0), cpuUs: cpu.user + cpu.system };
    run = null;
    reply(Buffer.concat([Buffer.from('R'), Buffer.from(JSON.stringify(out))]));
  };
  return (msg) => {
    const op = msg[0];
    if (op === D && run) {
      run.bytes += msg.length;
      if (++run.count === run.n) finish();
    } else if (op === E) reply(msg);
    else if (op === S) run = { n: msg.readUInt32BE(1), count: 0, bytes: 0, t0: process.hrtime.bigint(), cpu: process.cpuUsage() };
    else if (op === X && run) finish();
  };
}

function onSocket(sock) {
  sock.setNoDelay(true); // ws does this for its sockets; match it
  sock.on('error', () => {}); // clients reset connections on purpose
  attachFramer(sock, handler(framedSender(sock, kind !== 'tcp-nocork')));
}

const listening = (srv) => () => console.log(`PORT ${srv.address().port}`);
if (kind === 'ws') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: MAX_FRAME });
  wss.on('listening', listening(wss));
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', handler((buf) => ws.send(buf)));
  });
} else if (kind === 'tcp' || kind === 'tcp-nocork' || kind === 'tls') {
  const cert = kind === 'tls' && readFileSync(join(certDir, 'cert.pem'));
  // Mutual TLS: a consensus node must know which peer is on the other end.
  const server = kind !== 'tls'
    ? net.createServer(onSocket)
    : tls.createServer({ key: readFileSync(join(certDir, 'key.pem')), cert, ca: cert, requestCert: true, rejectUnauthorized: true }, onSocket);
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1', listening(server));
} else {
  console.error(`unknown transport ${kind}`);
  process.exit(1);
}
