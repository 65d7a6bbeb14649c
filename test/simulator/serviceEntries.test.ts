import { ProposalError } from '../../engine/errors';
import { serviceCommandsIn, serviceEntry, ledgerCoordination } from '../../examples/ledger/serviceEntries';
import { isEntry, MAX_SERVICE_TEXT } from '../../examples/ledger/rules';
import { LedgerFrame } from '../../examples/ledger/types';
import { commands, queries } from '../../services/commandBuilders';

describe('coordination entries in ledger frames', () => {
  it('a command and a read are entries the ledger takes, read back in frame order under their entry', () => {
    const put = serviceEntry('command', commands.put('k', 'café', { writer: 'w' }), 'p1');
    const get = serviceEntry('read', queries.get('k'), 'g1');
    expect(put).toMatch(/^s:p1:\{/);
    expect(put).toContain('caf\\u00e9');
    expect(isEntry(put) && isEntry(get)).toBe(true);
    const frame = LedgerFrame.create(1, LedgerFrame.genesis().hash, 'n0', 1_000, ['tx:n0:1:0', put, 'c:x:"hi"', get]);
    expect(serviceCommandsIn(frame)).toEqual([
      { name: put, kind: 'command', body: commands.put('k', 'café', { writer: 'w' }) },
      { name: get, kind: 'read', body: queries.get('k') },
    ]);
  });

  it('refuses what it cannot carry with a typed error', () => {
    expect(() => serviceEntry('command', { big: 'x'.repeat(MAX_SERVICE_TEXT) }, 'n')).toThrow(ProposalError);
    expect(() => serviceEntry('command', {}, 'bad name')).toThrow(/name/);
    expect(() => serviceEntry('command', () => 1, 'n')).toThrow(ProposalError);
    expect(isEntry(`s:n:${'x'.repeat(MAX_SERVICE_TEXT + 1)}`)).toBe(false);
  });

  it("applies a frame's commands at the frame's time", () => {
    const host = ledgerCoordination();
    const acquire = serviceEntry('command', commands.acquire('L', 'o', { leaseMs: 100 }), 'a');
    const results = new Map(host.apply(LedgerFrame.create(1, LedgerFrame.genesis().hash, 'n0', 5_000, [acquire]), 1));
    expect(results.get(acquire)).toMatchObject({ ok: true, value: { status: 'granted', expiresAt: 5_100 } });
  });
});
