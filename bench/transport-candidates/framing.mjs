// 4-byte big-endian length prefix, shared by the TCP and TLS candidates (server
// and client). Payloads handed to onMessage are views into received chunks:
// a consumer that keeps one past the callback must copy it.
export const MAX_FRAME = 16 * 1024 * 1024;

export function frame(payload) {
  // One buffer, so small messages cost one write() and one syscall, not two.
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

// Node makes one syscall per socket.write() on a plain socket; corking until
// the end of the tick turns a burst of sends into one writev. `coalesce`
// false keeps one write per message, to show what that costs.
export function framedSender(socket, coalesce = true) {
  const uncork = () => socket.uncork();
  return (payload) => {
    if (coalesce && !socket.writableCorked) {
      socket.cork();
      process.nextTick(uncork);
    }
    return socket.write(frame(payload));
  };
}

export function attachFramer(socket, onMessage, max = MAX_FRAME) {
  // Chunks are kept apart until `need` bytes are there, so a 16 MiB frame
  // arriving in 64 KiB reads is copied once, not once per read.
  let chunks = [];
  let have = 0;
  let need = 4;
  socket.on('data', (chunk) => {
    chunks.push(chunk);
    have += chunk.length;
    if (have < need) return;
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
    let off = 0;
    need = 4;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      // Refuse before buffering: a peer must not make us hold 4 GiB.
      if (len > max) {
        chunks = [];
        have = 0;
        socket.destroy(new Error(`frame of ${len} bytes exceeds ${max}`));
        return;
      }
      if (buf.length - off - 4 < len) {
        need = 4 + len;
        break;
      }
      onMessage(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
      if (socket.destroyed) return;
    }
    const rest = off === buf.length ? null : buf.subarray(off);
    chunks = rest ? [rest] : [];
    have = rest ? rest.length : 0;
  });
}
