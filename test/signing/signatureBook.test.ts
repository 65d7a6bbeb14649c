import { SignatureBook } from '../../engine/signing/signatureBook';
import { NIL_DIGEST, valueDigestOf } from '../../engine/signing/statement';

const digest = valueDigestOf('value');
const otherDigest = valueDigestOf('other value');

describe('SignatureBook', () => {
  it('starts empty', () => {
    const book = new SignatureBook();
    expect(book.size).toBe(0);
    expect(book.signers('vote', 1, 0, digest).size).toBe(0);
  });

  it('gives an empty map for an unknown statement', () => {
    const book = new SignatureBook();
    book.add('vote', 1, 0, digest, 'a', 'sig-a');
    expect([...book.signers('vote', 1, 0, otherDigest)]).toEqual([]);
    expect([...book.signers('vote', 2, 0, digest)]).toEqual([]);
    expect([...book.signers('vote', 1, 1, digest)]).toEqual([]);
    expect([...book.signers('confirmation', 1, 0, digest)]).toEqual([]);
  });

  it('does not create a statement by asking for its signers', () => {
    const book = new SignatureBook();
    book.signers('vote', 1, 0, digest);
    expect(book.size).toBe(0);
    book.add('vote', 1, 0, digest, 'a', 'sig-a');
    expect([...book.signers('vote', 1, 0, digest)]).toEqual([['a', 'sig-a']]);
  });

  it('keeps the signers of a statement with their signatures, in the order added', () => {
    const book = new SignatureBook();
    book.add('confirmation', 3, 1, digest, 'b', 'sig-b');
    book.add('confirmation', 3, 1, digest, 'a', 'sig-a');
    expect([...book.signers('confirmation', 3, 1, digest)]).toEqual([
      ['b', 'sig-b'],
      ['a', 'sig-a'],
    ]);
  });

  it('keeps the first signature per signer and statement', () => {
    const book = new SignatureBook();
    book.add('vote', 1, 0, digest, 'a', 'first');
    book.add('vote', 1, 0, digest, 'a', 'second');
    expect(book.signers('vote', 1, 0, digest).get('a')).toBe('first');
    expect(book.size).toBe(1);
  });

  it('keeps one signer apart per statement', () => {
    const book = new SignatureBook();
    book.add('vote', 1, 0, digest, 'a', 'vote-1-0');
    book.add('nil_vote', 1, 0, NIL_DIGEST, 'a', 'nil-vote');
    book.add('vote', 1, 1, digest, 'a', 'vote-1-1');
    book.add('vote', 1, 0, otherDigest, 'a', 'vote-other');
    book.add('confirmation', 1, 0, digest, 'a', 'confirmation');
    book.add('vote', 2, 0, digest, 'a', 'vote-2-0');
    expect(book.size).toBe(6);
    expect(book.signers('vote', 1, 0, digest).get('a')).toBe('vote-1-0');
    expect(book.signers('nil_vote', 1, 0, NIL_DIGEST).get('a')).toBe('nil-vote');
    expect(book.signers('vote', 1, 1, digest).get('a')).toBe('vote-1-1');
    expect(book.signers('vote', 1, 0, otherDigest).get('a')).toBe('vote-other');
    expect(book.signers('confirmation', 1, 0, digest).get('a')).toBe('confirmation');
    expect(book.signers('vote', 2, 0, digest).get('a')).toBe('vote-2-0');
  });

  it('counts every signature held in size', () => {
    const book = new SignatureBook();
    for (const signer of ['a', 'b', 'c']) book.add('vote', 1, 0, digest, signer, `v-${signer}`);
    expect(book.size).toBe(3);
    for (const signer of ['a', 'b']) book.add('confirmation', 1, 0, digest, signer, `c-${signer}`);
    expect(book.size).toBe(5);
    book.add('vote', 1, 0, digest, 'a', 'again');
    expect(book.size).toBe(5);
    book.add('vote', 7, 0, digest, 'a', 'later');
    expect(book.size).toBe(6);
  });

  it('forgets ranks up to and including the rank dropped through, keeping later ones', () => {
    const book = new SignatureBook();
    for (const rank of [1, 2, 3, 4, 5]) {
      book.add('vote', rank, 0, digest, 'a', `v${rank}`);
      book.add('confirmation', rank, 2, otherDigest, 'b', `c${rank}`);
    }
    expect(book.size).toBe(10);
    book.dropThrough(3);
    expect(book.size).toBe(4);
    for (const rank of [1, 2, 3]) {
      expect(book.signers('vote', rank, 0, digest).size).toBe(0);
      expect(book.signers('confirmation', rank, 2, otherDigest).size).toBe(0);
    }
    for (const rank of [4, 5]) {
      expect(book.signers('vote', rank, 0, digest).get('a')).toBe(`v${rank}`);
      expect(book.signers('confirmation', rank, 2, otherDigest).get('b')).toBe(`c${rank}`);
    }
  });

  it('drops nothing below the lowest rank held', () => {
    const book = new SignatureBook();
    book.add('vote', 10, 0, digest, 'a', 'v10');
    book.dropThrough(9);
    expect(book.size).toBe(1);
    book.dropThrough(10);
    expect(book.size).toBe(0);
  });

  it('drops ranks added out of order', () => {
    const book = new SignatureBook();
    for (const rank of [5, 1, 4, 2, 3]) book.add('vote', rank, 0, digest, 'a', `v${rank}`);
    book.dropThrough(2);
    expect(book.size).toBe(3);
    expect(book.signers('vote', 1, 0, digest).size).toBe(0);
    expect(book.signers('vote', 3, 0, digest).get('a')).toBe('v3');
  });

  it('takes signatures for a dropped rank again, as new', () => {
    const book = new SignatureBook();
    book.add('vote', 1, 0, digest, 'a', 'old');
    book.dropThrough(1);
    book.add('vote', 1, 0, digest, 'a', 'new');
    expect(book.signers('vote', 1, 0, digest).get('a')).toBe('new');
    expect(book.size).toBe(1);
    book.dropThrough(1);
    expect(book.size).toBe(0);
  });

  it('is empty after dropping through the highest rank', () => {
    const book = new SignatureBook();
    for (const rank of [0, 1, 2]) book.add('nil_confirmation', rank, 0, NIL_DIGEST, 'a', `n${rank}`);
    book.dropThrough(Number.MAX_SAFE_INTEGER);
    expect(book.size).toBe(0);
    expect(book.signers('nil_confirmation', 0, 0, NIL_DIGEST).size).toBe(0);
  });
});
