import type { ElectionContext, ElectionEvent } from '../machines/election.types';
import type { ElectionMessage, LogPosition, RequestVote } from '../machines/election.schemas';
import type { HardState } from '../providers/storage';

/**
 * The election machine's guards: pure functions of context and event, named in
 * `setup()` so the inspector shows them and `machine.provide()` can swap them.
 * Section references are to the Raft paper (Ongaro & Ousterhout 2014) and
 * Ongaro's thesis (2014).
 */

export interface ElectionGuardArgs {
  readonly context: ElectionContext;
  readonly event: ElectionEvent;
}

/** A `receive` holds the payload as sent; only the copy its check admitted is read. */
function messageOf(event: ElectionEvent): ElectionMessage | null {
  return 'message' in event && event.type !== 'receive' ? event.message : null;
}

function requestOf(event: ElectionEvent): RequestVote | null {
  const message = messageOf(event);
  return message?.type === 'request_vote' ? message : null;
}

/** Votes needed to win: a strict majority of the whole cluster, self included. */
export function quorumSize(context: Pick<ElectionContext, 'peers'>): number {
  return Math.floor((context.peers.length + 1) / 2) + 1;
}

/** §5.4.1: the candidate's last entry has a later term, or the same term and an index at least as high. */
export function logIsAtLeastAsUpToDate(candidate: LogPosition, own: LogPosition): boolean {
  if (candidate.lastLogTerm !== own.lastLogTerm) return candidate.lastLogTerm > own.lastLogTerm;
  return candidate.lastLogIndex >= own.lastLogIndex;
}

/** Whether the term/vote in context differ from what storage last acknowledged. */
export function hasUndurableHardState({ context }: Pick<ElectionGuardArgs, 'context'>): boolean {
  return context.term !== context.durable.term || context.votedFor !== context.durable.votedFor;
}

export function isStopped({ context }: ElectionGuardArgs): boolean {
  return context.role === 'stopped';
}

export function isFollower({ context }: ElectionGuardArgs): boolean {
  return context.role === 'follower';
}

export function preVoteEnabled({ context }: ElectionGuardArgs): boolean {
  return context.preVote;
}

export function higherTerm({ context, event }: ElectionGuardArgs): boolean {
  const message = messageOf(event);
  return message !== null && message.term > context.term;
}

/** §5.1: a message from an older term is answered with ours, never acted on. */
export function staleTerm({ context, event }: ElectionGuardArgs): boolean {
  const message = messageOf(event);
  return message !== null && message.term < context.term;
}

export function currentTerm({ context, event }: ElectionGuardArgs): boolean {
  const message = messageOf(event);
  return message !== null && message.term === context.term;
}

/**
 * Thesis §9.6 leader stickiness: heard from the current leader within the
 * minimum election timeout, so an election now can only be disruptive.
 */
export function leaderIsLive({ context }: ElectionGuardArgs): boolean {
  return context.leaderLive;
}

/**
 * §5.1: a higher term in any message makes the node a follower in that term.
 * Three exceptions, all from thesis §9.6: a pre-vote request carries a term
 * nobody holds yet; a granted pre-vote echoes that proposed term; and a node
 * with a live leader ignores vote requests outright, term included, which is
 * what stops a rejoining node from deposing a healthy leader.
 */
export function mustAdoptTerm(args: ElectionGuardArgs): boolean {
  const message = messageOf(args.event);
  if (message === null || !higherTerm(args)) return false;
  switch (message.type) {
    case 'request_vote':
      return !message.preVote && !leaderIsLive(args);
    case 'request_vote_response':
      return !(message.preVote && message.granted);
    default:
      return true;
  }
}

export function candidateLogUpToDate({ context, event }: ElectionGuardArgs): boolean {
  const request = requestOf(event);
  return request !== null && logIsAtLeastAsUpToDate(request, context.logPosition);
}

/**
 * Whether this node is free to back `candidateId` in its current term: it
 * already did (a retransmitted request), or it has neither voted nor learned
 * of a leader in this term. The leader check is etcd-raft's: once a term has a
 * leader, a second candidate in it cannot win anything useful.
 */
function freeToVoteFor(context: ElectionContext, candidateId: string): boolean {
  return context.votedFor === candidateId || (context.votedFor === null && context.leader === null);
}

/**
 * §5.2 one vote per term, first come first served, and §5.4.1. Only for the
 * current term: a higher term has been adopted (or, with a live leader,
 * deliberately not) before this guard runs.
 */
export function canGrantVote(args: ElectionGuardArgs): boolean {
  const request = requestOf(args.event);
  return (
    request !== null &&
    !request.preVote &&
    request.term === args.context.term &&
    !leaderIsLive(args) &&
    freeToVoteFor(args.context, request.candidateId) &&
    candidateLogUpToDate(args)
  );
}

/**
 * Thesis §9.6: would this node vote for the sender in the proposed term? No
 * live leader, the proposed term is not behind ours (and, if equal, we are
 * still free to vote in it), and the sender's log is up to date.
 */
export function canGrantPreVote(args: ElectionGuardArgs): boolean {
  const request = requestOf(args.event);
  if (request === null || !request.preVote || leaderIsLive(args)) return false;
  const { context } = args;
  const termAllows =
    request.term > context.term || (request.term === context.term && freeToVoteFor(context, request.candidateId));
  return termAllows && candidateLogUpToDate(args);
}

/** A vote for this candidacy: granted, not a pre-vote, in our (candidate) term. */
export function isGrantedVote({ context, event }: ElectionGuardArgs): boolean {
  const message = messageOf(event);
  return (
    message?.type === 'request_vote_response' && !message.preVote && message.granted && message.term === context.term
  );
}

/** A pre-vote for the term we would campaign in (granted pre-votes echo it). */
export function isGrantedPreVote({ context, event }: ElectionGuardArgs): boolean {
  const message = messageOf(event);
  return (
    message?.type === 'request_vote_response' && message.preVote && message.granted && message.term === context.term + 1
  );
}

export function hasVoteMajority({ context }: ElectionGuardArgs): boolean {
  return context.votes.length >= quorumSize(context);
}

export function hasPreVoteMajority({ context }: ElectionGuardArgs): boolean {
  return context.preVotes.length >= quorumSize(context);
}

/** Check-quorum: the peers that answered this window, plus the leader itself. */
export function heardFromQuorum({ context }: ElectionGuardArgs): boolean {
  return context.quorumAcks.length + 1 >= quorumSize(context);
}

/** A save finished, but the term/vote moved on while it ran: save again before answering. */
export function savedStateIsStale({ context }: ElectionGuardArgs, saved: HardState): boolean {
  return saved.term !== context.term || saved.votedFor !== context.votedFor;
}
