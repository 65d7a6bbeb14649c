import type { Identity } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';

/** Without a declared membership every sender may speak (bounded per rank). */
export function isMember(context: RoundContext, peer: Identity): boolean {
  return context.members === null || context.members.includes(peer);
}
