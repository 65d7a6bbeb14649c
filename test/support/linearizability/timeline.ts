import type { Operation } from './history';

/**
 * A history as a timeline of call and return entries, in time order, that
 * the search lifts operations off and puts them back on. It is a doubly
 * linked list in index arrays, so both are O(1) (Knuth's dancing links: an
 * unlinked entry keeps its own links, which say where it goes back).
 */

export const HEAD = 0;
export const END = -1;
const RETURN = -2;

/** Calls and returns in time order; at equal times calls come first, so operations that touch are taken to overlap. */
export class Timeline {
  /** Index 0 is the head; entries are 1..count. */
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly operationOf: Int32Array;
  /** For a call, its return's entry, or END when the operation never returned; RETURN for a return. */
  readonly returnOf: Int32Array;

  constructor(operations: readonly Operation<unknown, unknown>[]) {
    const marks: Array<{ time: number; isReturn: boolean; operation: number }> = [];
    operations.forEach((operation, index) => {
      marks.push({ time: operation.call, isReturn: false, operation: index });
      if (operation.return !== undefined) marks.push({ time: operation.return, isReturn: true, operation: index });
    });
    marks.sort((a, b) => a.time - b.time || Number(a.isReturn) - Number(b.isReturn) || a.operation - b.operation);
    const size = marks.length + 1;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.operationOf = new Int32Array(size).fill(-1);
    this.returnOf = new Int32Array(size).fill(RETURN);
    const callEntry = new Int32Array(operations.length);
    marks.forEach((mark, at) => {
      const entry = at + 1;
      this.operationOf[entry] = mark.operation;
      if (mark.isReturn) this.returnOf[callEntry[mark.operation]] = entry;
      else {
        callEntry[mark.operation] = entry;
        this.returnOf[entry] = END;
      }
    });
    for (let entry = 0; entry < size; entry += 1) {
      this.next[entry] = entry + 1 < size ? entry + 1 : END;
      this.prev[entry] = entry - 1;
    }
  }

  isCall(entry: number): boolean {
    return this.returnOf[entry] !== RETURN;
  }

  lift(call: number): void {
    this.unlink(call);
    const ret = this.returnOf[call];
    if (ret !== END) this.unlink(ret);
  }

  /** Undoes `lift(call)`: in the reverse order, so each entry's own links are still the ones to restore. */
  putBack(call: number): void {
    const ret = this.returnOf[call];
    if (ret !== END) this.relink(ret);
    this.relink(call);
  }

  private unlink(entry: number): void {
    const before = this.prev[entry];
    const after = this.next[entry];
    this.next[before] = after;
    if (after !== END) this.prev[after] = before;
  }

  private relink(entry: number): void {
    const after = this.next[entry];
    this.next[this.prev[entry]] = entry;
    if (after !== END) this.prev[after] = entry;
  }
}
