import { crc32c } from '../../storage/crc32c';

describe('crc32c', () => {
  it('gives the check value of the CRC catalogue and the test vectors of RFC 3720 (B.4)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('continues from a previous result, and checksums a range', () => {
    const bytes = Buffer.from('the quick brown fox jumps over the lazy dog');
    for (const cut of [0, 1, 10, bytes.length]) {
      expect(crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)))).toBe(crc32c(bytes));
    }
    expect(crc32c(bytes, 0, 4, 9)).toBe(crc32c(Buffer.from('quick')));
  });
});
