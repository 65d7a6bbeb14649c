import type { Identity } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';
import { isMemberOf } from './quorum';

/** Only members speak: anyone else is refused at the door, whatever they send. */
export function isMember(context: RoundContext, peer: Identity): boolean {
  return isMemberOf(context.membership, peer);
}
