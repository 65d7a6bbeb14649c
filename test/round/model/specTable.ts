import type { RoundStateName } from '../../../index';

/**
 * SPEC §2.2, with the round change of SPEC §2.8, transcribed once.
 * Everything the model-based test checks (the abstract model, the coverage
 * goal, the structural comparison with the real machine) and what the diagram
 * tests hold the committed diagrams against is derived from these constants,
 * so the SPEC table lives here only.
 */

export const SPEC_STATES = [
  'stopped',
  'starting',
  'loading',
  'collecting',
  'liveness_check',
  'proving',
  'publishing',
  'voting',
  'finalizing',
  'verifying',
  'stopping',
] as const satisfies readonly RoundStateName[];
export type SpecState = (typeof SPEC_STATES)[number];

export type SpecEvent =
  | 'start'
  | 'init_complete'
  | 'sync_timeout'
  | 'sync_complete'
  | 'collection_done'
  | 'liveness_check_received'
  | 'liveness_timeout'
  | 'prover_signal'
  | 'proof_complete'
  | 'publish_timeout'
  | 'publish_complete'
  | 'proposal_received'
  | 'vote_received'
  | 'confirmation_received'
  | 'certificate_received'
  | 'voting_timeout'
  | 'quorum_reached'
  | 'aggregation_done'
  | 'aggregation_timeout'
  | 'verification_done'
  | 'verification_timeout'
  | 'attempt_timeout'
  | 'attempt_failed'
  | 'commit_quorum'
  | 'stop'
  | 'induce_sync'
  | 'cleanup_complete';

export interface SpecTransition {
  from: SpecState;
  event: SpecEvent;
  to: SpecState;
}

/** "any of starting … verifying" in the table. */
export const RUNNING_STATES = [
  'starting',
  'loading',
  'collecting',
  'liveness_check',
  'proving',
  'publishing',
  'voting',
  'finalizing',
  'verifying',
] as const satisfies readonly SpecState[];

/**
 * SPEC §2.8: the states an attempt of a rank is played in. A node proposes
 * (proving, publishing), then votes (voting = prevote), locks (finalizing)
 * and confirms (verifying); f + 1 peers heard at a higher attempt move it on
 * from any of them.
 */
export const ATTEMPT_STATES = ['proving', 'publishing', 'voting', 'finalizing', 'verifying'] as const satisfies readonly SpecState[];

/**
 * SPEC §2.8: the states after the vote, in which the attempt's timer runs and
 * can end it without a commit ("a timeout without a quorum moves to attempt a+1").
 */
export const VOTED_STATES = ['voting', 'finalizing', 'verifying'] as const satisfies readonly SpecState[];


/**
 * The voted states that tally (ask the provider whether a group of matching
 * messages is a quorum), so the only ones a finding can move: 2f + 1 nil
 * confirmations end the attempt, 2f + 1 matching confirmations commit.
 * Finalizing tallies nothing: it locks, and the confirmations that arrive
 * meanwhile wait for verifying, which tallies them first.
 */
export const TALLYING_STATES = ['voting', 'verifying'] as const satisfies readonly SpecState[];

/** The messages that carry an attempt: each counts as evidence of where its sender is. */
export const ATTEMPT_MESSAGES = ['proposal_received', 'vote_received', 'confirmation_received'] as const satisfies readonly SpecEvent[];

const row = (from: SpecState, event: SpecEvent, to: SpecState): SpecTransition => ({ from, event, to });

/** The table of SPEC §2.2, one (from, event, to) per row; "a / b / c" rows are split. */
export const REFERENCE_TRANSITIONS: readonly SpecTransition[] = [
  row('stopped', 'start', 'starting'),
  row('starting', 'init_complete', 'loading'),
  row('loading', 'sync_timeout', 'loading'),
  row('loading', 'sync_complete', 'collecting'),
  row('collecting', 'collection_done', 'liveness_check'),
  row('liveness_check', 'liveness_check_received', 'liveness_check'),
  row('liveness_check', 'liveness_timeout', 'liveness_check'),
  row('liveness_check', 'prover_signal', 'proving'),
  row('proving', 'proof_complete', 'publishing'),
  row('proving', 'publish_timeout', 'voting'),
  row('publishing', 'publish_complete', 'voting'),
  row('publishing', 'publish_timeout', 'voting'),
  row('voting', 'proposal_received', 'voting'),
  row('voting', 'vote_received', 'voting'),
  row('voting', 'voting_timeout', 'voting'),
  row('voting', 'quorum_reached', 'finalizing'),
  row('finalizing', 'aggregation_done', 'verifying'),
  row('finalizing', 'aggregation_timeout', 'finalizing'),
  row('verifying', 'verification_done', 'collecting'),
  row('verifying', 'verification_timeout', 'verifying'),
  ...RUNNING_STATES.map((from) => row(from, 'stop', 'stopping')),
  ...RUNNING_STATES.map((from) => row(from, 'induce_sync', 'loading')),
  row('stopping', 'cleanup_complete', 'stopped'),
];

/**
 * The rows SPEC §2.8 adds. Every move to a later attempt starts the attempt
 * over in proving, where its proposer proposes.
 */
export const ROUND_CHANGE_TRANSITIONS: readonly SpecTransition[] = [
  // The lock and last vote are safety data: nothing is voted before they are
  // read back, so starting waits (re-entered, reading again) until they are.
  row('starting', 'init_complete', 'starting'),
  ...VOTED_STATES.map((from) => row(from, 'attempt_timeout', 'proving')),
  // A silent prover set costs one attempt too.
  row('liveness_check', 'attempt_timeout', 'proving'),
  ...TALLYING_STATES.map((from) => row(from, 'attempt_failed', 'proving')),
  // "verifying = commit: 2f+1 confirmations for v at (rank, any a)": a commit
  // found before verifying (peers confirmed while this node was voting) goes there.
  row('voting', 'commit_quorum', 'verifying'),
  // Confirmations decide the commit, so they are news to the states that
  // look for one (SPEC §2.7: data re-evaluates the waiting state at once).
  row('voting', 'confirmation_received', 'voting'),
  row('verifying', 'confirmation_received', 'verifying'),
  // SPEC §2.10: lock proofs and commit certificates are engine behaviour; a
  // new one is news to the states that weigh quorums.
  row('voting', 'certificate_received', 'voting'),
  row('verifying', 'certificate_received', 'verifying'),
  // "f+1 messages from a higher attempt make a node skip to it": whichever
  // message completes the f + 1.
  ...ATTEMPT_STATES.flatMap((from) => ATTEMPT_MESSAGES.map((event) => row(from, event, 'proving'))),
];

export const SPEC_TRANSITIONS: readonly SpecTransition[] = [...REFERENCE_TRANSITIONS, ...ROUND_CHANGE_TRANSITIONS];

/**
 * SPEC §2.2: 20 single rows + 9 × stop + 9 × induce_sync + cleanup_complete.
 * SPEC §2.8: starting's wait for its safety data, 3 × attempt_timeout,
 * 2 × attempt_failed, 1 × commit_quorum, 2 confirmation re-entries, and
 * 5 attempt states × 3 messages that skip ahead, and an attempt_timeout in
 * liveness_check. SPEC §2.10: 2 certificate re-entries.
 */
export const REFERENCE_TRANSITION_COUNT = 39;
export const SPEC_TRANSITION_COUNT = REFERENCE_TRANSITION_COUNT + 1 + 3 + 2 + 1 + 2 + 5 * 3 + 1 + 2;

export function transitionKey(t: SpecTransition): string {
  return `${t.from} --${t.event}--> ${t.to}`;
}

/**
 * The rows SPEC calls "re-entered": a self-transition restarts the state's
 * invoked work and resets its timer. `induce_sync` from loading is one too,
 * and so is a skip ahead taken in proving.
 */
export function isReentry(t: SpecTransition): boolean {
  return t.from === t.to;
}

/** SPEC §2.5: each state's timeout and the §2.2 event it produces. */
export const SPEC_TIMEOUT_EVENTS: ReadonlyArray<{
  /** Dotted path of the state node that owns the delay. */
  node: string;
  delay: string;
  /** The key of `RoundTimeouts` the delay reads. */
  timeout: string;
  event: SpecEvent;
}> = [
  { node: 'starting', delay: 'startingTimeout', timeout: 'starting', event: 'init_complete' },
  { node: 'loading', delay: 'loadingTimeout', timeout: 'loading', event: 'sync_timeout' },
  // SPEC §2.3: a failed sync is retried by re-entering loading on sync_timeout.
  { node: 'loading.retrying', delay: 'syncRetryDelay', timeout: 'syncRetry', event: 'sync_timeout' },
  { node: 'collecting', delay: 'collectingTimeout', timeout: 'collecting', event: 'collection_done' },
  { node: 'liveness_check', delay: 'livenessCheckTimeout', timeout: 'livenessCheck', event: 'liveness_timeout' },
  { node: 'proving', delay: 'provingTimeout', timeout: 'proving', event: 'publish_timeout' },
  { node: 'publishing', delay: 'publishingTimeout', timeout: 'publishing', event: 'publish_timeout' },
  { node: 'voting', delay: 'votingTimeout', timeout: 'voting', event: 'voting_timeout' },
  { node: 'finalizing', delay: 'finalizingTimeout', timeout: 'finalizing', event: 'aggregation_timeout' },
  // A failed lock save or aggregation is retried a finalizing timeout later (the state's own timer
  // may have fired, unheeded, while a save was under way).
  { node: 'finalizing.failed', delay: 'finalizingTimeout', timeout: 'finalizing', event: 'aggregation_timeout' },
  { node: 'verifying', delay: 'verifyingTimeout', timeout: 'verifying', event: 'verification_timeout' },
  { node: 'stopping', delay: 'stoppingTimeout', timeout: 'stopping', event: 'cleanup_complete' },
];

/**
 * SPEC §2.8: "timeouts grow with a, reset on commit". The attempt's own
 * timer is not a state's: it runs while the node waits for its provers'
 * liveness, and again from the moment it starts voting, across voting,
 * finalizing and verifying.
 * Attempt a waits `attempt × attemptGrowth^a`, never more than `attemptMax`.
 */
export const SPEC_ATTEMPT_TIMEOUT = { delay: 'attemptTimeout', event: 'attempt_timeout' } as const;
export function attemptTimeoutFor(timeouts: { attempt: number; attemptGrowth: number; attemptMax: number }, attempt: number): number {
  return Math.min(timeouts.attemptMax, timeouts.attempt * timeouts.attemptGrowth ** attempt);
}
