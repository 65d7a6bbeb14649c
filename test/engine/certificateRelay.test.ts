// The certificate relay after a restart: a commit the log already held when
// the engine started is relayed only under linear messaging, where a peer's
// confirmations went to one aggregator and it may have no one else to ask.
import { SimulatedClock } from 'xstate';
import { CertificateRelay } from '../../engine/certificateRelay';
import type { CommitLog } from '../../engine/commitLog';
import type { RelayProvider } from '../../providers/relay';
import { Frame, Peer } from '../support/fixtures';
import { certificateOf, frameAt } from './signedHarness';

const FRAME = frameAt(1);
const CERTIFICATE = certificateOf(['bob', 'carol', 'dave'], { rank: 1, attempt: 0, value: FRAME.hash });

function relayAfterRestart(relaysLogged: boolean) {
  const clock = new SimulatedClock();
  const sent: Array<{ to: string; rank: number }> = [];
  const entry = { index: 1, certificate: CERTIFICATE, payload: FRAME };
  const log = { get: (rank: number) => (rank === 1 ? entry : undefined), tail: () => entry } as unknown as CommitLog<Frame, Peer>;
  const relay = {
    sendLockProof: () => {},
    sendCertificate: (to: Peer, _state: Frame, certificate: { rank: number }) => {
      sent.push({ to: to.name, rank: certificate.rank });
    },
  } as unknown as RelayProvider<Frame, Peer, unknown>;
  const certificates = new CertificateRelay<Frame, Peer>({
    self: 'alice',
    log,
    relay,
    clock,
    logger: { trace: () => {}, error: () => {} },
    peerOf: (id) => new Peer(id),
    delay: 100,
    interval: 200,
    bound: () => 64,
    relaysLogged,
  });
  return { clock, sent, certificates };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the certificate relay, after a restart', () => {
  it('relays nothing the log held before it started, as ever, without linear messaging', async () => {
    const { clock, sent, certificates } = relayAfterRestart(false);
    clock.increment(1_000);
    certificates.stillDeciding('bob', 1);
    await settle();
    expect(sent).toEqual([]);
  });

  it('relays it under linear messaging, once its delay has passed since the start, and once per interval', async () => {
    const { clock, sent, certificates } = relayAfterRestart(true);
    clock.increment(50);
    certificates.stillDeciding('bob', 1);
    await settle();
    expect(sent).toEqual([]);
    clock.increment(60);
    certificates.stillDeciding('bob', 1);
    certificates.stillDeciding('bob', 1);
    certificates.stillDeciding('bob', 2);
    await settle();
    expect(sent).toEqual([{ to: 'bob', rank: 1 }]);
    clock.increment(200);
    certificates.stillDeciding('bob', 1);
    await settle();
    expect(sent).toHaveLength(2);
  });
});
