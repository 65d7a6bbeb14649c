import { kindOf, rankOfMessage, type LedgerMessage } from '../examples/ledger/messages';
import { ElectionMessageSchema } from '../machines/election.schemas';
import { LedgerFrame, LedgerVote } from '../examples/ledger/types';

/** A short, deterministic description of a message for the trace (never throws). */
export function describeMessage(message: unknown): string {
  const kind = kindOf(message);
  if (kind === 'garbage') return 'garbage';
  const m = message as LedgerMessage;
  const rank = rankOfMessage(m);
  const attempt = 'attempt' in m && typeof m.attempt === 'number' && m.attempt > 0 ? `a${m.attempt}` : '';
  const at = rank === null ? '' : ` r${rank}${attempt}`;
  switch (m.kind) {
    case 'proposal':
      return m.proposal instanceof LedgerFrame ? `proposal${at} ${m.proposal.hash}` : `proposal${at} (malformed)`;
    case 'vote':
      return m.vote instanceof LedgerVote ? `vote${at} ${m.vote.frame}` : `vote${at} (malformed)`;
    case 'nil_vote':
      return `nil vote${at}`;
    case 'confirmation':
      return m.state instanceof LedgerFrame ? `confirmation${at} ${m.state.hash}` : `confirmation${at} (malformed)`;
    case 'nil_confirmation':
      return `nil confirmation${at}`;
    case 'certificate':
      return `certificate${at} ${Array.isArray(m.signatures) ? m.signatures.length : '(malformed)'} signatures`;
    case 'lock_proof':
      return `lock_proof${at} ${typeof m.frame === 'string' ? m.frame : '(malformed)'} ${Array.isArray(m.votes) ? m.votes.length : '(malformed)'} votes`;
    case 'liveness':
      return `liveness${at}`;
    case 'sync_request':
      return `sync_request after ${String(rank ?? '(malformed)')}`;
    case 'sync_response':
      return `sync_response ${Array.isArray(m.frames) ? m.frames.length : '(malformed)'} frames`;
  }
}

/** A short description of an election message for the trace (never throws; junk is `junk`). */
export function describeElectionMessage(raw: unknown): string {
  const parsed = ElectionMessageSchema.safeParse(raw);
  if (!parsed.success) return 'election junk';
  const m = parsed.data;
  switch (m.type) {
    case 'request_vote':
      return `${m.preVote ? 'pre-vote' : 'vote'} request t${m.term} for ${m.candidateId}`;
    case 'request_vote_response':
      return `${m.preVote ? 'pre-vote' : 'vote'} ${m.granted ? 'granted' : 'denied'} t${m.term}`;
    case 'heartbeat':
      return `heartbeat t${m.term} from ${m.leaderId}`;
    case 'heartbeat_response':
      return `heartbeat ${m.success ? 'ack' : 'nack'} t${m.term}`;
  }
}
