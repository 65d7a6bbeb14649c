import { ProposalError } from '../../engine/errors';
import type { LedgerSync } from './ledgerSync';
import type { LedgerMessage } from './messages';
import type { DeliveryOutcome, LedgerRounds } from './nodeTypes';

/** The kinds that carry no vote: catching up, reads by index and forwarded payloads. */
export type ServiceMessage = Extract<LedgerMessage, { kind: 'sync_request' | 'sync_response' | 'entries_request' | 'entries' | 'read_index_request' | 'read_index' | 'payload' }>;

/**
 * Hands a message that carries no vote to the sync or the engine, as it is:
 * the engine checks what it reads (certificates, members), the sync answers
 * and collects frames. Refusals the engine throws go to the caller, which
 * counts them as for any other message.
 */
export function deliverServiceMessage(engine: LedgerRounds, sync: LedgerSync, from: string, m: ServiceMessage): DeliveryOutcome {
  switch (m.kind) {
    case 'sync_request':
      return sync.answer(from, m.id, m.after);
    case 'sync_response':
      return sync.collectResponse(from, m.id, m.frames);
    case 'entries_request':
      engine.receiveEntriesRequest(from, m.first as number, m.last as number);
      return 'accepted';
    case 'read_index_request':
      engine.receiveReadIndexRequest(from, m.nonce as string);
      return 'accepted';
    case 'read_index':
      return engine.receiveReadIndex(from, m.nonce as string, m.index as number) === 'accepted' ? 'accepted' : 'ignored';
    case 'entries':
      return engine.receiveEntries(from, m.entries as Parameters<LedgerRounds['receiveEntries']>[1]) > 0 ? 'accepted' : 'duplicate';
    case 'payload':
      try {
        return engine.receivePayload(from, m.payload as string);
      } catch (error) {
        if (error instanceof ProposalError) return `payload_${error.code}`;
        throw error;
      }
  }
}
