import type { RoundStateName } from '../../../index';

/**
 * SPEC §2.2, transcribed once. Everything the model-based test checks (the
 * abstract model, the coverage goal, the structural comparison with the real
 * machine) is derived from these constants, so the SPEC table lives here only.
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
  | 'voting_timeout'
  | 'quorum_reached'
  | 'aggregation_done'
  | 'aggregation_timeout'
  | 'verification_done'
  | 'verification_timeout'
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

const row = (from: SpecState, event: SpecEvent, to: SpecState): SpecTransition => ({ from, event, to });

/** The table of SPEC §2.2, one (from, event, to) per row; "a / b / c" rows are split. */
export const SPEC_TRANSITIONS: readonly SpecTransition[] = [
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

/** 20 single rows + 9 × stop + 9 × induce_sync + cleanup_complete. */
export const SPEC_TRANSITION_COUNT = 39;

export function transitionKey(t: SpecTransition): string {
  return `${t.from} --${t.event}--> ${t.to}`;
}

/**
 * The rows SPEC calls "re-entered": a self-transition restarts the state's
 * invoked work and resets its timer. `induce_sync` from loading is one too.
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
  { node: 'verifying', delay: 'verifyingTimeout', timeout: 'verifying', event: 'verification_timeout' },
  { node: 'stopping', delay: 'stoppingTimeout', timeout: 'stopping', event: 'cleanup_complete' },
];
