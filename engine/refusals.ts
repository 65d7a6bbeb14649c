import type { Membership } from '../guards/quorum';
import { isMemberOf } from '../guards/quorum';
import type { TraceLogger } from '../providers/trace';
import type { Identity } from '../providers/unique';
import type { ConsensusInputError } from './errors';

/**
 * Refusals that say the sender and this node do not understand each other
 * (a transport that passes the wrong shape, a codec that does not match,
 * membership lists that differ, keys or chain ids that differ), rather than the everyday late or repeated
 * message, which is refused without a word.
 */
const TELLING: ReadonlySet<ConsensusInputError['code']> = new Set(['malformed', 'not_member', 'invalid_signature']);

const PLURAL = { liveness: 'liveness announcements', proposal: 'proposals', vote: 'votes', confirmation: 'confirmations' } as const;

/**
 * Says once, per kind of message, sender and reason, that a node refuses what
 * it is sent. A node whose transport hands it messages it can never accept
 * (a wrong position, a codec that does not match) would otherwise sit silent
 * while nothing commits. Bounded: members × kinds × reasons, with every
 * non-member counted as one sender.
 */
export class RefusalNotices {
  private readonly told = new Set<string>();

  constructor(
    private readonly logger: TraceLogger,
    private readonly membership: Membership,
    private readonly enabled: boolean,
  ) {}

  note(error: ConsensusInputError, sender: Identity | null): void {
    if (!this.enabled || !TELLING.has(error.code)) return;
    const who = sender !== null && isMemberOf(this.membership, sender) ? sender : '(not a member)';
    const key = `${error.kind}\u0000${who}\u0000${error.code}`;
    if (this.told.has(key)) return;
    this.told.add(key);
    const message = `refusing ${PLURAL[error.kind]} from ${who} (${error.code}): ${error.message}; further ones are refused without a word`;
    if (this.logger.warn !== undefined) this.logger.warn(message);
    else console.warn(`statechart-consensus: ${message}`);
  }
}
