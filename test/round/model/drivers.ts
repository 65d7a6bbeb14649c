import { Batch, Frame, Peer } from '../../support/fixtures';
import { flush } from '../../support/time';
import { MODEL_TIMEOUTS, PEERS, SELF, THRESHOLDS, type RoundHarness } from './harness';
import {
  RUNNING_STATES,
  SPEC_TIMEOUT_EVENTS,
  SPEC_TRANSITIONS,
  transitionKey,
  type SpecEvent,
  type SpecState,
  type SpecTransition,
} from './specTable';

/** What a driver made the engine do; the runner compares it with what the engine did. */
export interface DriverResult {
  /** The real transitions expected, in order; the last one is the model's step. */
  transitions: SpecTransition[];
  /** Provider failures the driver caused on purpose, as the trace logger reports them. */
  providerErrors: string[];
}

/** Makes the real engine take one SPEC transition from the situation a path left it in. */
export type Driver = (h: RoundHarness) => Promise<DriverResult>;

const t = (from: SpecState, event: SpecEvent, to: SpecState): SpecTransition => ({ from, event, to });
const only = (transition: SpecTransition, providerErrors: string[] = []): DriverResult => ({
  transitions: [transition],
  providerErrors,
});

type TimeoutKey = keyof typeof MODEL_TIMEOUTS;

/**
 * Lets the state's own timer fire, and checks it fired exactly when the
 * state's timeout says, counted from the state's last (re-)entry.
 */
async function waitOut(h: RoundHarness, timeout: TimeoutKey): Promise<void> {
  const alreadyIn = h.engine.getStateTime();
  const elapsed = await h.waitForTransition(MODEL_TIMEOUTS[timeout] * 2);
  expect({ timeout, firedAfter: alreadyIn + elapsed }).toEqual({ timeout, firedAfter: MODEL_TIMEOUTS[timeout] });
}

function firstPeerWithout(h: RoundHarness, book: 'liveness' | 'proposals' | 'votes'): string {
  const recorded = h.sendersAt(book);
  const peer = PEERS.find((name) => !recorded.includes(name));
  if (peer === undefined) throw new Error(`every peer already has a ${book} entry for rank ${h.nextRank()}`);
  return peer;
}

/** The proposals voting needs on entry: recorded by the root handlers in any state before voting. */
function deliverPeerProposals(h: RoundHarness): void {
  for (const prover of PEERS.slice(0, THRESHOLDS.proposalThreshold)) {
    if (!h.sendersAt('proposals').includes(prover)) {
      expect(h.engine.receiveProposal(new Peer(prover), h.peerProposal(prover))).toBe('accepted');
    }
  }
}

/**
 * Casting has its own handlers that record data without re-entering voting
 * (a restart could send a second vote), so a driver that needs voting to
 * react first lets our vote go out: voting moves on to tallying, no
 * top-level transition, since own votes are not echoed in this harness.
 * The voting timeout is also waited out from tallying, so the model holds
 * whether or not casting restarts on a timeout (see model-findings.test.ts).
 */
async function castOwnVoteIfCasting(h: RoundHarness): Promise<void> {
  if (h.subState() !== 'casting') return;
  await h.resolve('decideAndSendVote', { proposer: new Peer(PEERS[0]), vote: h.ballot(SELF, PEERS[0]) });
  expect(h.subState()).toBe('tallying');
}

const drivers: Record<string, Driver> = {
  'stopped:start': async (h) => {
    h.engine.start();
    return only(t('stopped', 'start', 'starting'));
  },

  'starting:init_complete': async (h) => {
    await waitOut(h, 'starting');
    return only(t('starting', 'init_complete', 'loading'));
  },

  // A sync that fails is retried after syncRetry by re-entering loading (SPEC §2.3).
  'loading:sync_timeout': async (h) => {
    await h.reject('synchronize', new Error('peers unreachable'));
    const elapsed = await h.waitForTransition(MODEL_TIMEOUTS.syncRetry * 2);
    expect(elapsed).toBe(MODEL_TIMEOUTS.syncRetry);
    return only(t('loading', 'sync_timeout', 'loading'), ['loading: synchronize failed']);
  },

  // Peers are one rank ahead: adopting their state drops whatever this node
  // had heard for the rank it was deciding, so every round starts clean.
  'loading:sync_complete': async (h) => {
    const active = h.engine.getActiveState();
    await h.resolve('synchronize', new Frame(active.height + 1, active.hash, `synced-${active.height + 1}`, PEERS[0]));
    return only(t('loading', 'sync_complete', 'collecting'));
  },

  'collecting:collection_done': async (h) => {
    await h.resolve('collect', new Batch(h.nextRank(), [`tx-${h.nextRank()}`]));
    await h.resolve('getNextLeaders', [SELF, ...PEERS].map((name) => new Peer(name)));
    await h.resolve('sendLiveness');
    return only(t('collecting', 'collection_done', 'liveness_check'));
  },

  'liveness_check:liveness_check_received': async (h) => {
    if (h.sendersAt('liveness').length + 1 >= THRESHOLDS.livenessThreshold) {
      throw new Error('one more liveness would complete the quorum: this path cannot re-enter liveness_check alone');
    }
    const peer = firstPeerWithout(h, 'liveness');
    expect(h.engine.receiveLivenessCheck(new Peer(peer), h.peerLiveness(peer))).toBe('accepted');
    return only(t('liveness_check', 'liveness_check_received', 'liveness_check'));
  },

  'liveness_check:liveness_timeout': async (h) => {
    await waitOut(h, 'livenessCheck');
    return only(t('liveness_check', 'liveness_timeout', 'liveness_check'));
  },

  // prover_signal is raised on entering liveness_check, and only a liveness
  // for the next rank adds to the count, re-entering the state as it does:
  // so the signal always follows the re-entry that completed the quorum, in
  // the same macrostep. It cannot be caused on its own.
  'liveness_check:prover_signal': async (h) => {
    deliverPeerProposals(h);
    const missing = THRESHOLDS.livenessThreshold - h.sendersAt('liveness').length;
    const transitions: SpecTransition[] = [];
    for (let i = 0; i < missing; i += 1) {
      const peer = firstPeerWithout(h, 'liveness');
      expect(h.engine.receiveLivenessCheck(new Peer(peer), h.peerLiveness(peer))).toBe('accepted');
      await flush();
      transitions.push(t('liveness_check', 'liveness_check_received', 'liveness_check'));
    }
    transitions.push(t('liveness_check', 'prover_signal', 'proving'));
    expect(h.isHeld('proveNextState')).toBe(true);
    return { transitions, providerErrors: [] };
  },

  'proving:proof_complete': async (h) => {
    const collected = h.context().collected as Batch;
    const active = h.engine.getActiveState();
    await h.resolve('proveNextState', new Frame(h.nextRank(), active.hash, collected.items.join(','), SELF));
    return only(t('proving', 'proof_complete', 'publishing'));
  },

  'proving:publish_timeout': async (h) => {
    await waitOut(h, 'proving');
    return only(t('proving', 'publish_timeout', 'voting'));
  },

  'publishing:publish_complete': async (h) => {
    await h.resolve('sendProposal');
    return only(t('publishing', 'publish_complete', 'voting'));
  },

  'publishing:publish_timeout': async (h) => {
    await waitOut(h, 'publishing');
    return only(t('publishing', 'publish_timeout', 'voting'));
  },

  'voting:proposal_received': async (h) => {
    await castOwnVoteIfCasting(h);
    const prover = firstPeerWithout(h, 'proposals');
    expect(h.engine.receiveProposal(new Peer(prover), h.peerProposal(prover))).toBe('accepted');
    return only(t('voting', 'proposal_received', 'voting'));
  },

  'voting:vote_received': async (h) => {
    await castOwnVoteIfCasting(h);
    const voter = firstPeerWithout(h, 'votes');
    expect(h.engine.receiveVote(new Peer(PEERS[0]), new Peer(voter), h.ballot(voter, PEERS[0]))).toBe('accepted');
    return only(t('voting', 'vote_received', 'voting'));
  },

  'voting:voting_timeout': async (h) => {
    await castOwnVoteIfCasting(h);
    await waitOut(h, 'voting');
    return only(t('voting', 'voting_timeout', 'voting'));
  },

  'voting:quorum_reached': async (h) => {
    await castOwnVoteIfCasting(h);
    await h.resolve('isQuorum', true);
    return only(t('voting', 'quorum_reached', 'finalizing'));
  },

  'finalizing:aggregation_done': async (h) => {
    await h.resolve('finalizeVotes', { state: h.peerProposal(PEERS[0]), proposer: new Peer(PEERS[0]) });
    return only(t('finalizing', 'aggregation_done', 'verifying'));
  },

  'finalizing:aggregation_timeout': async (h) => {
    await waitOut(h, 'finalizing');
    return only(t('finalizing', 'aggregation_timeout', 'finalizing'));
  },

  'verifying:verification_done': async (h) => {
    const rank = h.nextRank();
    const finalized = h.peerProposal(PEERS[0]);
    const commitsBefore = h.commits.length;
    await h.resolve('sendConfirmation');
    expect(h.commits.slice(commitsBefore).map((c) => [c.rank, c.state.identity(), c.proposer?.identity()])).toEqual([
      [rank, finalized.identity(), PEERS[0]],
    ]);
    expect(h.engine.getActiveRank()).toBe(rank);
    return only(t('verifying', 'verification_done', 'collecting'));
  },

  'verifying:verification_timeout': async (h) => {
    await waitOut(h, 'verifying');
    return only(t('verifying', 'verification_timeout', 'verifying'));
  },

  'stopping:cleanup_complete': async (h) => {
    await h.resolve('cleanup');
    expect(await h.stopOutcomeSoFar()).toBe('resolved');
    return only(t('stopping', 'cleanup_complete', 'stopped'));
  },
};

for (const from of RUNNING_STATES) {
  drivers[`${from}:stop`] = async (h) => {
    h.requestStop();
    // stop() resolves at `stopped`, and cleanup is still held.
    expect(await h.stopOutcomeSoFar()).toBe('pending');
    return only(t(from, 'stop', 'stopping'));
  };
  drivers[`${from}:induce_sync`] = async (h) => {
    h.engine.induceSync();
    return only(t(from, 'induce_sync', 'loading'));
  };
}

/**
 * Where a path ends, lets the state's own timeout fire: it must fire exactly
 * that timeout after the last (re-)entry and take the state's SPEC timeout
 * row. After a re-entering step this shows the timer was reset (SPEC §2.2).
 */
export async function waitOutFinalState(h: RoundHarness): Promise<DriverResult> {
  const from = h.state();
  const timer = SPEC_TIMEOUT_EVENTS.find((entry) => entry.node === from);
  if (timer === undefined) return { transitions: [], providerErrors: [] };
  const row = SPEC_TRANSITIONS.find((r) => r.from === from && r.event === timer.event);
  if (row === undefined) throw new Error(`SPEC has no row for ${from} on ${timer.event}`);
  await castOwnVoteIfCasting(h);
  await waitOut(h, timer.timeout as TimeoutKey);
  return only(row);
}

export function driverFor(transition: SpecTransition): Driver {
  const driver = drivers[`${transition.from}:${transition.event}`];
  if (driver === undefined) throw new Error(`no driver for ${transitionKey(transition)}`);
  return driver;
}

export function hasDriver(transition: SpecTransition): boolean {
  return `${transition.from}:${transition.event}` in drivers;
}
