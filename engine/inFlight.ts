import type { Candidate, InFlightMessages, MessageKind } from '../guards/admission';
import { contentKeyOf, slotOf } from '../guards/admission';
import type { Identity } from '../providers/unique';

/**
 * Messages sent to the round actor that it has not processed yet. An actor
 * that is busy (a receive made from a listener, or from a provider callback
 * mid-step) queues events; until each is recorded, admission must still see it.
 */
export class InFlightLedger implements InFlightMessages {
  private readonly bySlot = new Map<string, string>();
  private readonly perRank = new Map<string, number>();
  private readonly byEvent = new Map<object, Candidate>();

  contentAt(kind: MessageKind, slot: string, sender: Identity): string | undefined {
    return this.bySlot.get(senderKey(kind, slot, sender));
  }

  countAt(kind: MessageKind, slot: string): number {
    return this.perRank.get(kindKey(kind, slot)) ?? 0;
  }

  add(event: object, candidate: Candidate): void {
    this.byEvent.set(event, candidate);
    this.bySlot.set(senderKey(candidate.kind, slotOf(candidate), candidate.sender), contentKeyOf(candidate));
    const key = kindKey(candidate.kind, slotOf(candidate));
    this.perRank.set(key, (this.perRank.get(key) ?? 0) + 1);
  }

  /** The actor finished the step that processed `event`: it is in the books or refused. */
  settle(event: object): void {
    const candidate = this.byEvent.get(event);
    if (candidate === undefined) return;
    this.byEvent.delete(event);
    this.bySlot.delete(senderKey(candidate.kind, slotOf(candidate), candidate.sender));
    const key = kindKey(candidate.kind, slotOf(candidate));
    const left = (this.perRank.get(key) ?? 1) - 1;
    if (left === 0) this.perRank.delete(key);
    else this.perRank.set(key, left);
  }
}

const senderKey = (kind: MessageKind, slot: string, sender: Identity) => `${kind}\u0000${slot}\u0000${sender}`;
const kindKey = (kind: MessageKind, slot: string) => `${kind}\u0000${slot}`;
