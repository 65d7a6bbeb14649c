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
      return `certificate${at} ${countOf(m.certificate, 'signers')} signers`;
    case 'lock_proof':
      return `lock_proof${at} ${countOf(m.proof, 'voters')} voters`;
    case 'liveness':
      return `liveness${at}`;
    case 'sync_request':
      return `sync_request after ${String(rank ?? '(malformed)')}`;
    case 'sync_response':
      return `sync_response ${Array.isArray(m.frames) ? m.frames.length : '(malformed)'} frames`;
    case 'entries_request':
      return `entries_request ${String(m.first)}..${String(m.last)}`;
    case 'entries':
      return `entries ${Array.isArray(m.entries) ? m.entries.length : '(malformed)'}`;
    case 'payload':
      return typeof m.payload === 'string' ? `payload ${m.payload}` : 'payload (malformed)';
    case 'read_index_request':
      return `read_index_request ${String(m.nonce).slice(0, 64)}`;
    case 'read_index':
      return `read_index ${String(m.nonce).slice(0, 64)} at ${String(m.index)}`;
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

/** How many entries a certificate's or proof's list holds, as text (never throws). */
function countOf(value: unknown, field: string): string {
  try {
    const list = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
    return Array.isArray(list) ? String(list.length) : '(malformed)';
  } catch {
    return '(malformed)';
  }
}
