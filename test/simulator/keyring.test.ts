import { Keyring, votePayload } from '../../examples/ledger/signing';

const members = ['n0', 'n1', 'n2', 'n3'];

describe('Keyring verdict cache', () => {
  const payload = votePayload('n0', 1, 0, 'n1', 'frame');

  it('gives the same verdict from the cache as from Ed25519, for good and forged signatures', () => {
    const keys = new Keyring(members);
    const good = keys.signerFor('n0').sign(payload);
    const forged = keys.signerFor('n1').sign(payload);
    for (let i = 0; i < 3; i += 1) {
      expect(keys.verify('n0', payload, good)).toBe(true);
      expect(keys.verify('n0', payload, forged)).toBe(false);
      // The same signature over another payload, or claimed by another signer, is judged on its own.
      expect(keys.verify('n0', `${payload}x`, good)).toBe(false);
      expect(keys.verify('n1', payload, good)).toBe(false);
    }
    expect(keys.cachedVerdicts).toBe(4);
  });

  it('holds at most its bound whatever a flood of forgeries sends', () => {
    const keys = new Keyring(members, 'bounded', 16);
    const good = keys.signerFor('n2').sign(payload);
    for (let i = 0; i < 200; i += 1) expect(keys.verify('n2', payload, `${good.slice(0, -4)}${String(i).padStart(4, 'A')}`)).toBe(false);
    expect(keys.cachedVerdicts).toBe(16);
    expect(keys.verify('n2', payload, good)).toBe(true);
    expect(keys.cachedVerdicts).toBe(16);
  });

  it('does not cache what it refuses before any key is looked up', () => {
    const keys = new Keyring(members);
    expect(keys.verify('stranger', payload, 'sig')).toBe(false);
    expect(keys.verify(42, payload, 'sig')).toBe(false);
    expect(keys.verify('n0', payload, 'x'.repeat(201))).toBe(false);
    expect(keys.cachedVerdicts).toBe(0);
  });
});
