/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI (RFC 3720), ext4 and etcd's WAL: better at catching the burst errors
 * of a disk than the zlib CRC-32, and `node:zlib` offers only the latter.
 * One table, one byte at a time: recovery reads each byte once, so this is fast enough.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32C of `bytes[start, end)`. To checksum data in pieces, pass the
 * previous result as `crc`: `crc32c(b, crc32c(a))` equals the CRC of a then b.
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc;
  for (let i = start; i < end; i += 1) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
