import { Batch, Frame, Peer } from '../../support/fixtures';
import { advanceUntil, flush } from '../../support/time';
import { MODEL_TIMEOUTS, PEERS, PROVERS, SELF, SKIP_EVIDENCE, THRESHOLDS, type RoundHarness } from './harness';
import {
  ATTEMPT_MESSAGES,
  ATTEMPT_STATES,
  RUNNING_STATES,
  SPEC_TIMEOUT_EVENTS,
  SPEC_TRANSITIONS,
  VOTED_STATES,
  attemptTimeoutFor,
  transitionKey,
  type SpecEvent,
  type SpecState,
  type SpecTransition,
} from './specTable';

/** What a driver made the engine do; the runner compares it with what the engine did. */
export interface DriverResult {
  /** The real transitions expected, in order; they end with the model's step. */
  transitions: SpecTransition[];
  /** Provider failures the driver caused on purpose, as the trace logger reports them. */
  providerErrors: string[];
}

/**
 * Makes the real engine take one SPEC row from the situation a path left it
 * in. `step` is the row followed by what the model says happens at once.
 */
export type Driver = (h: RoundHarness, step: SpecTransition[]) => Promise<DriverResult>;

const t = (from: SpecState, event: SpecEvent, to: SpecState): SpecTransition => ({ from, event, to });
const took = (transitions: SpecTransition[], providerErrors: string[] = []): DriverResult => ({ transitions, providerErrors });

type TimeoutKey = keyof typeof MODEL_TIMEOUTS;

/** The prover every peer votes for and confirms in attempt 0. */
const CHOSEN = PEERS[0];
/** The proposer of attempt 1 (harness.PROVERS rotated by one). */
const NEXT_PROPOSER = PROVERS[1];

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
    if (!h.sendersAt('proposals').includes(prover)) h.deliverProposal(prover);
  }
}

/**
 * While its vote is being saved or cast, voting only records what arrives
 * (a restart could send a second vote): messages delivered then change no
 * state, and the tally after the vote sees them all at once.
 */
function isVoteInProgress(h: RoundHarness): boolean {
  return h.state() === 'voting' && (h.subState() === 'recordingVote' || h.subState() === 'casting');
}

/** Finalizing's save of the lock (or of a nil) is under way: its timeout waits for it (SPEC §2.8, slow storage). */
function isLockSaveInProgress(h: RoundHarness): boolean {
  return h.state() === 'finalizing' && (h.subState() === 'locking' || h.subState() === 'recordingNil');
}

/** Lets the lock become durable; finalizing then aggregates (held), and its timeout applies again. */
async function finishLockSave(h: RoundHarness): Promise<void> {
  if (!isLockSaveInProgress(h)) return;
  await h.resolve('saveRoundSafety');
  expect(h.subState()).toBe('aggregating');
}

function requireVoteInProgress(h: RoundHarness, what: string): void {
  if (!isVoteInProgress(h)) {
    throw new Error(`${what} expects voting with its vote under way, not ${h.state()}.${h.subState() ?? ''}`);
  }
}

/**
 * Lets this node's vote go out: its attempt is saved as voted in first
 * (SPEC §2.8: safety data is written before the vote it allows), then the
 * provider votes for the first proposal offered, or nil when the lock
 * offers none. Voting moves on to its tally, no top-level transition, since
 * own votes are not echoed in this harness.
 */
async function finishOwnVote(h: RoundHarness): Promise<void> {
  const transitionsBefore = h.transitions.length;
  if (h.subState() === 'recordingVote') {
    const record = h.held('saveRoundSafety').args[0] as { rank: number; votedAttempt: number };
    expect({ saved: [record.rank, record.votedAttempt], voteSent: h.isHeld('decideAndSendVote') }).toEqual({
      saved: [h.nextRank(), h.attempt()],
      voteSent: false,
    });
    await h.resolve('saveRoundSafety');
  }
  if (h.subState() === 'casting') {
    const [offered, , position] = h.held('decideAndSendVote').args as [ReadonlyMap<string, Frame>, AbortSignal, unknown];
    expect(position).toEqual({ rank: h.nextRank(), attempt: h.attempt() });
    const [prover] = [...offered.keys()];
    const decision =
      prover === undefined
        ? { proposer: null, vote: h.nilBallot(SELF) }
        : { proposer: new Peer(prover), vote: h.ballot(SELF, prover, h.attempt()) };
    await h.resolve('decideAndSendVote', decision);
  }
  // The engine weighs the votes at once: it waits for more, or a quorum moved it on.
  if (h.transitions.length === transitionsBefore) expect(h.subState()).toBe('awaitingVotes');
}

/**
 * Confirmations decide the commit: the one that makes a quorum of matching
 * ones re-enters verifying; those before it are only written into the books.
 */
function deliverToVerifying(h: RoundHarness, deliver: (peer: string) => void): SpecTransition[] {
  const before = h.transitions.length;
  for (const peer of PEERS) deliver(peer);
  const reentries = h.transitions.slice(before).filter((row) => row.event === 'confirmation_received');
  expect(reentries.length).toBe(1);
  return [t('verifying', 'confirmation_received', 'verifying')];
}

/** The own timeouts of the states an attempt's timer runs through: each re-enters its state. */
const OWN_TIMEOUT: Partial<Record<SpecState, { timeout: TimeoutKey; event: SpecEvent }>> = {
  voting: { timeout: 'voting', event: 'voting_timeout' },
  finalizing: { timeout: 'finalizing', event: 'aggregation_timeout' },
  verifying: { timeout: 'verifying', event: 'verification_timeout' },
};

/**
 * Waits for the attempt's timer, which runs from the moment the node started
 * voting in the attempt, across voting, finalizing and verifying. The state's
 * own timer keeps firing meanwhile: each time, the state is re-entered (but
 * voting's timer waits while a vote is under way). SPEC §2.8: the attempt
 * then moves to the next one.
 */
async function waitOutAttempt(h: RoundHarness): Promise<SpecTransition[]> {
  const from = h.state();
  const own = OWN_TIMEOUT[from];
  if (own === undefined || h.attemptStartedAt === null) throw new Error(`no attempt timer runs in ${from}`);
  const deadline = h.attemptStartedAt + attemptTimeoutFor(MODEL_TIMEOUTS, h.attempt());
  const reentries: SpecTransition[] = [];
  if (!isVoteInProgress(h) && !isLockSaveInProgress(h)) {
    const entered = h.clock.now() - h.engine.getStateTime();
    for (let at = entered + MODEL_TIMEOUTS[own.timeout]; at <= deadline; at += MODEL_TIMEOUTS[own.timeout]) {
      if (at === deadline) throw new Error(`${from}'s timeout and the attempt's fall due together: choose other timeouts`);
      reentries.push(t(from, own.event, from));
    }
  }
  const before = h.transitions.length;
  const changed = () => h.transitions.slice(before).some((row) => row.event === 'attempt_timeout');
  await advanceUntil(h.clock, changed, deadline - h.clock.now() + 1, 1);
  expect({ attemptTimerFiredAt: h.clock.now() }).toEqual({ attemptTimerFiredAt: deadline });
  return reentries;
}

/** When the current attempt's timer falls due. */
function attemptDeadline(h: RoundHarness): number {
  if (h.attemptStartedAt === null) throw new Error('no attempt has started');
  return h.attemptStartedAt + attemptTimeoutFor(MODEL_TIMEOUTS, h.attempt());
}

/**
 * Lets liveness_check's own timer re-enter it (announcing again each time)
 * until `until`, without the liveness that would complete its quorum.
 */
async function waitInLivenessCheckUntil(h: RoundHarness, until: number): Promise<SpecTransition[]> {
  const reentries: SpecTransition[] = [];
  const entered = h.clock.now() - h.engine.getStateTime();
  for (let at = entered + MODEL_TIMEOUTS.livenessCheck; at < until; at += MODEL_TIMEOUTS.livenessCheck) {
    reentries.push(t('liveness_check', 'liveness_timeout', 'liveness_check'));
  }
  await advanceUntil(h.clock, () => h.clock.now() >= until - 1, until - h.clock.now(), 1);
  return reentries;
}

/** After an attempt change: where it went, and why. */
function expectAttemptChange(h: RoundHarness, changesBefore: number, reason: string, to = 1): void {
  expect(h.attemptChanges.slice(changesBefore)).toEqual([{ from: to - 1, to, reason }]);
  expect(h.attempt()).toBe(to);
}

type AttemptMessage = (typeof ATTEMPT_MESSAGES)[number];

/**
 * Delivers f + 1 messages of attempt 1 from two peers, the one of `kind`
 * last. The first is of a kind the state only records, so it moves nothing;
 * the second completes the evidence and moves the node to attempt 1 (SPEC
 * §2.8). A proposal of attempt 1 can only come from its proposer.
 */
function deliverSkipEvidence(h: RoundHarness, kind: AttemptMessage): void {
  if (h.state() === 'voting') requireVoteInProgress(h, 'skipping ahead from voting');
  const attempt = h.attempt() + 1;
  const witness = PEERS.find((peer) => peer !== NEXT_PROPOSER)!;
  const changes = h.attemptChanges.length;
  const transitions = h.transitions.length;
  const firstMovesNothing = () =>
    expect({ attemptChanges: h.attemptChanges.length - changes, transitions: h.transitions.length - transitions }).toEqual({
      attemptChanges: 0,
      transitions: 0,
    });
  if (kind === 'proposal_received') {
    h.deliverVote(witness, NEXT_PROPOSER, attempt);
    firstMovesNothing();
    h.deliverProposal(NEXT_PROPOSER, attempt);
    return;
  }
  h.deliverProposal(NEXT_PROPOSER, attempt);
  firstMovesNothing();
  if (kind === 'vote_received') h.deliverVote(witness, NEXT_PROPOSER, attempt);
  else h.deliverConfirmation(witness, NEXT_PROPOSER, attempt);
}

const drivers: Record<string, Driver> = {
  'stopped --start--> starting': async (h) => {
    h.engine.start();
    await flush();
    // The round's safety data is read before anything else (SPEC §2.8).
    expect(h.isHeld('loadRoundSafety')).toBe(true);
    return took([t('stopped', 'start', 'starting')]);
  },

  'starting --init_complete--> loading': async (h) => {
    await h.resolve('loadRoundSafety', null);
    await waitOut(h, 'starting');
    return took([t('starting', 'init_complete', 'loading')]);
  },

  // The safety data is still being read: starting waits for it, reading again.
  'starting --init_complete--> starting': async (h) => {
    expect(h.isHeld('loadRoundSafety')).toBe(true);
    await waitOut(h, 'starting');
    expect(h.isHeld('loadRoundSafety')).toBe(true);
    return took([t('starting', 'init_complete', 'starting')]);
  },

  // A sync that fails is retried after syncRetry by re-entering loading (SPEC §2.3).
  'loading --sync_timeout--> loading': async (h) => {
    await h.reject('synchronize', new Error('peers unreachable'));
    const elapsed = await h.waitForTransition(MODEL_TIMEOUTS.syncRetry * 2);
    expect(elapsed).toBe(MODEL_TIMEOUTS.syncRetry);
    return took([t('loading', 'sync_timeout', 'loading')], ['loading: synchronize failed']);
  },

  // Peers are one rank ahead: adopting their state drops whatever this node
  // had heard for the rank it was deciding, so every round starts clean.
  'loading --sync_complete--> collecting': async (h) => {
    const active = h.engine.getActiveState();
    await h.resolve('synchronize', new Frame(active.height + 1, active.hash, `synced-${active.height + 1}`, PEERS[0]));
    return took([t('loading', 'sync_complete', 'collecting')]);
  },

  'collecting --collection_done--> liveness_check': async (h) => {
    await h.resolve('collect', new Batch(h.nextRank(), [`tx-${h.nextRank()}`]));
    await h.resolve('getNextLeaders', PROVERS.map((name) => new Peer(name)));
    await h.resolve('sendLiveness');
    return took([t('collecting', 'collection_done', 'liveness_check')]);
  },

  'liveness_check --liveness_check_received--> liveness_check': async (h) => {
    if (h.sendersAt('liveness').length + 1 >= THRESHOLDS.livenessThreshold) {
      throw new Error('one more liveness would complete the quorum: this path cannot re-enter liveness_check alone');
    }
    const peer = firstPeerWithout(h, 'liveness');
    // Through the engine it would only be written down: it completes nothing.
    h.sendLivenessEvent(peer);
    return took([t('liveness_check', 'liveness_check_received', 'liveness_check')]);
  },

  'liveness_check --liveness_timeout--> liveness_check': async (h) => {
    await waitOut(h, 'livenessCheck');
    return took([t('liveness_check', 'liveness_timeout', 'liveness_check')]);
  },

  // prover_signal is raised on entering liveness_check, and the engine sends
  // the actor the liveness that completes the quorum, which re-enters the
  // state: so the signal always follows that re-entry, in the same
  // macrostep. It cannot be caused on its own. The livenesses before it are
  // only written into the books.
  'liveness_check --prover_signal--> proving': async (h) => {
    deliverPeerProposals(h);
    const missing = THRESHOLDS.livenessThreshold - h.sendersAt('liveness').length;
    for (let i = 0; i < missing; i += 1) {
      const before = h.transitions.length;
      const peer = firstPeerWithout(h, 'liveness');
      expect(h.engine.receiveLivenessCheck(new Peer(peer), h.peerLiveness(peer))).toBe('accepted');
      await flush();
      if (i < missing - 1) expect(h.transitions.length).toBe(before);
    }
    return took([
      t('liveness_check', 'liveness_check_received', 'liveness_check'),
      t('liveness_check', 'prover_signal', 'proving'),
    ]);
  },

  'proving --proof_complete--> publishing': async (h) => {
    const collected = h.context().collected as Batch;
    const active = h.engine.getActiveState();
    await h.resolve('proveNextState', new Frame(h.nextRank(), active.hash, collected.items.join(','), SELF));
    return took([t('proving', 'proof_complete', 'publishing')]);
  },

  // No liveness quorum within the attempt: the next attempt's proposer may propose without one.
  'liveness_check --attempt_timeout--> proving': async (h, step) => {
    const changes = h.attemptChanges.length;
    const reentries = await waitInLivenessCheckUntil(h, attemptDeadline(h));
    await advanceUntil(h.clock, () => h.attemptChanges.length > changes, 2, 1);
    expectAttemptChange(h, changes, 'timeout');
    return took([...reentries, ...step]);
  },

  'proving --publish_timeout--> voting': async (h) => {
    await waitOut(h, 'proving');
    return took([t('proving', 'publish_timeout', 'voting')]);
  },

  'publishing --publish_complete--> voting': async (h) => {
    // The proposal is kept durably before it leaves (SPEC §2.8).
    const record = h.held('saveRoundSafety').args[0] as { proposal: { attempt: number; contentId: string } | null };
    expect({ proposal: record.proposal && { attempt: record.proposal.attempt, contentId: record.proposal.contentId }, sent: h.isHeld('sendProposal') }).toEqual({
      proposal: { attempt: h.attempt(), contentId: h.context().proposals[`${h.nextRank()}/${h.attempt()}`][SELF].contentId },
      sent: false,
    });
    await h.resolve('saveRoundSafety');
    await h.resolve('sendProposal');
    return took([t('publishing', 'publish_complete', 'voting')]);
  },

  'publishing --publish_timeout--> voting': async (h) => {
    await waitOut(h, 'publishing');
    return took([t('publishing', 'publish_timeout', 'voting')]);
  },

  'voting --proposal_received--> voting': async (h) => {
    await finishOwnVote(h);
    h.deliverProposal(firstPeerWithout(h, 'proposals'));
    return took([t('voting', 'proposal_received', 'voting')]);
  },

  'voting --vote_received--> voting': async (h) => {
    await finishOwnVote(h);
    // One vote completes no quorum: through the engine it would only be written down.
    h.sendVoteEvent(firstPeerWithout(h, 'votes'), CHOSEN);
    return took([t('voting', 'vote_received', 'voting')]);
  },

  'voting --confirmation_received--> voting': async (h) => {
    await finishOwnVote(h);
    h.sendConfirmationEvent(PEERS[0], CHOSEN);
    return took([t('voting', 'confirmation_received', 'voting')]);
  },

  // 2f + 1 votes for a value this node never saw proposed: remembered, not locked on.
  'voting --certificate_received--> voting': async (h) => {
    await finishOwnVote(h);
    h.deliverLockProofForUnknownValue(h.attempt());
    expect(h.context().polka).toMatchObject({ attempt: h.attempt() });
    expect(h.state()).toBe('voting');
    return took([t('voting', 'certificate_received', 'voting')]);
  },

  'voting --voting_timeout--> voting': async (h) => {
    await finishOwnVote(h);
    await waitOut(h, 'voting');
    return took([t('voting', 'voting_timeout', 'voting')]);
  },

  // 2f + 1 votes for one proposal, by the engine's count, lock this node on
  // it (SPEC §2.8: finalizing = lock).
  'voting --quorum_reached--> finalizing': async (h) => {
    requireVoteInProgress(h, 'quorum_reached');
    for (const voter of PEERS) h.deliverVote(voter, CHOSEN);
    await finishOwnVote(h);
    // The lock is written before anything it allows is sent.
    const record = h.held('saveRoundSafety').args[0] as { lock: { contentId: string; attempt: number; value?: Frame } | null };
    expect({ lock: record.lock, confirmationSent: h.isHeld('sendConfirmation') }).toEqual({
      // The value itself is kept, so that a restart can still re-propose it.
      lock: { contentId: h.peerProposal(CHOSEN).identity(), proposerId: CHOSEN, attempt: 0, value: h.peerProposal(CHOSEN) },
      confirmationSent: false,
    });
    return took([t('voting', 'quorum_reached', 'finalizing')]);
  },

  // 2f + 1 peers confirmed while this node was still voting: a commit.
  'voting --commit_quorum--> verifying': async (h, step) => {
    requireVoteInProgress(h, 'commit_quorum');
    const rank = h.nextRank();
    const confirmed = h.peerProposal(CHOSEN);
    for (const peer of PEERS) h.deliverConfirmation(peer, CHOSEN);
    await finishOwnVote(h);
    expect(h.commits.map((c) => [c.rank, c.state.identity(), c.proposer?.identity(), c.attempt])).toEqual([
      [rank, confirmed.identity(), CHOSEN, 0],
    ]);
    return took(step);
  },

  // 2f + 1 nil confirmations: nothing can be confirmed in this attempt.
  'voting --attempt_failed--> proving': async (h, step) => {
    requireVoteInProgress(h, 'attempt_failed');
    const changes = h.attemptChanges.length;
    for (const peer of PEERS) h.deliverNilConfirmation(peer);
    await finishOwnVote(h);
    expectAttemptChange(h, changes, 'nil_confirmations');
    return took(step);
  },

  'finalizing --aggregation_done--> verifying': async (h) => {
    expect(h.subState()).toBe('locking');
    await h.resolve('saveRoundSafety');
    await h.resolve('finalizeVotes', { state: h.peerProposal(CHOSEN), proposer: new Peer(CHOSEN) });
    return took([t('finalizing', 'aggregation_done', 'verifying')]);
  },

  // A lock save under way is never cut short; once it is durable, a slow aggregation is retried.
  'finalizing --aggregation_timeout--> finalizing': async (h) => {
    await finishLockSave(h);
    await waitOut(h, 'finalizing');
    return took([t('finalizing', 'aggregation_timeout', 'finalizing')]);
  },

  // The commit rule: 2f + 1 matching confirmations, which the engine weighs.
  'verifying --verification_done--> collecting': async (h) => {
    const rank = h.nextRank();
    const confirmed = h.peerProposal(CHOSEN);
    const commitsBefore = h.commits.length;
    const reentries = deliverToVerifying(h, (peer) => h.deliverConfirmation(peer, CHOSEN));
    await flush();
    const [finalized, , position] = h.held('sendConfirmation').args as [Frame, AbortSignal, unknown];
    expect([finalized.identity(), position]).toEqual([confirmed.identity(), { rank, attempt: 0 }]);
    await h.resolve('sendConfirmation');
    expect(h.commits.slice(commitsBefore).map((c) => [c.rank, c.state.identity(), c.proposer?.identity(), c.attempt])).toEqual([
      [rank, confirmed.identity(), CHOSEN, 0],
    ]);
    expect(h.engine.getActiveRank()).toBe(rank);
    return took([...reentries, t('verifying', 'verification_done', 'collecting')]);
  },

  'verifying --verification_timeout--> verifying': async (h) => {
    await waitOut(h, 'verifying');
    return took([t('verifying', 'verification_timeout', 'verifying')]);
  },

  'verifying --confirmation_received--> verifying': async (h) => {
    h.sendConfirmationEvent(PEERS[0], CHOSEN);
    return took([t('verifying', 'confirmation_received', 'verifying')]);
  },

  'verifying --certificate_received--> verifying': async (h) => {
    h.deliverLockProofForUnknownValue(h.attempt());
    return took([t('verifying', 'certificate_received', 'verifying')]);
  },

  'verifying --attempt_failed--> proving': async (h, step) => {
    const changes = h.attemptChanges.length;
    const reentries = deliverToVerifying(h, (peer) => h.deliverNilConfirmation(peer));
    await h.resolve('sendConfirmation');
    expectAttemptChange(h, changes, 'nil_confirmations');
    return took([...reentries, ...step]);
  },

  'stopping --cleanup_complete--> stopped': async (h) => {
    await h.resolve('cleanup');
    expect(await h.stopOutcomeSoFar()).toBe('resolved');
    return took([t('stopping', 'cleanup_complete', 'stopped')]);
  },
};

for (const from of RUNNING_STATES) {
  drivers[`${from} --stop--> stopping`] = async (h) => {
    h.requestStop();
    // stop() resolves at `stopped`, and cleanup is still held.
    expect(await h.stopOutcomeSoFar()).toBe('pending');
    return took([t(from, 'stop', 'stopping')]);
  };
  drivers[`${from} --induce_sync--> loading`] = async (h) => {
    if (from === 'starting') await ignoreSyncUntilRestored(h);
    h.engine.induceSync();
    return took([t(from, 'induce_sync', 'loading')]);
  };
}

/**
 * A sync asked for while starting still reads the safety data is ignored:
 * the read goes on (a restarted node must not skip reading its lock and last
 * vote, SPEC §2.8), and only once it is done is the sync honoured.
 */
async function ignoreSyncUntilRestored(h: RoundHarness): Promise<void> {
  expect(h.subState()).toBe('restoring');
  const reading = h.held('loadRoundSafety');
  const transitions = h.transitions.length;
  h.engine.induceSync();
  await flush();
  expect({
    transitions: h.transitions.slice(transitions),
    subState: h.subState(),
    readAborted: reading.signal.aborted,
    stillReading: h.isHeld('loadRoundSafety'),
  }).toEqual({ transitions: [], subState: 'restoring', readAborted: false, stillReading: true });
  await h.resolve('loadRoundSafety', null);
  expect(h.subState()).toBe('restored');
}

for (const from of VOTED_STATES) {
  drivers[`${from} --attempt_timeout--> proving`] = async (h, step) => {
    const changes = h.attemptChanges.length;
    const reentries = await waitOutAttempt(h);
    expectAttemptChange(h, changes, 'timeout');
    return took([...reentries, ...step]);
  };
}

for (const from of ATTEMPT_STATES) {
  for (const kind of ATTEMPT_MESSAGES) {
    drivers[`${from} --${kind}--> proving`] = async (h, step) => {
      const changes = h.attemptChanges.length;
      deliverSkipEvidence(h, kind);
      await flush();
      expect(Object.keys(h.context().attemptsSeen[String(h.nextRank())] ?? {}).length).toBeGreaterThanOrEqual(SKIP_EVIDENCE);
      expectAttemptChange(h, changes, 'skip_ahead');
      return took(step);
    };
  }
}

/**
 * Where a path ends, lets the state's own timeout fire: it must fire exactly
 * that timeout after the last (re-)entry and take the state's SPEC timeout
 * row. After a re-entering step this shows the timer was reset (SPEC §2.2).
 */
export async function waitOutFinalState(h: RoundHarness): Promise<DriverResult> {
  const from = h.state();
  const timer = SPEC_TIMEOUT_EVENTS.find((entry) => entry.node === from);
  if (timer === undefined) return took([]);
  // Starting moves on only once its safety data is read; until then it waits again.
  const row =
    from === 'starting'
      ? t('starting', 'init_complete', h.subState() === 'restored' ? 'loading' : 'starting')
      : SPEC_TRANSITIONS.find((r) => r.from === from && r.event === timer.event);
  if (row === undefined || !SPEC_TRANSITIONS.some((r) => transitionKey(r) === transitionKey(row))) {
    throw new Error(`SPEC has no row for ${from} on ${timer.event}`);
  }
  if (isVoteInProgress(h)) await finishOwnVote(h);
  if (isLockSaveInProgress(h)) await finishLockSave(h);
  await waitOut(h, timer.timeout as TimeoutKey);
  return took([row]);
}

export function driverFor(transition: SpecTransition): Driver {
  const driver = drivers[transitionKey(transition)];
  if (driver === undefined) throw new Error(`no driver for ${transitionKey(transition)}`);
  return driver;
}

export function hasDriver(transition: SpecTransition): boolean {
  return transitionKey(transition) in drivers;
}

