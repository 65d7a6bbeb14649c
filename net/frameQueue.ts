/**
 * Framed messages waiting for one peer, oldest first. Dropping from the
 * front is what a full queue does: a newer consensus message supersedes an
 * older one, so the oldest is the one worth least.
 */
export class FrameQueue {
  private items: Array<Buffer | undefined> = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(frame: Buffer): void {
    this.items.push(frame);
    this.bytes += frame.length;
  }

  shift(): Buffer | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head] as Buffer;
    this.items[this.head] = undefined;
    this.head += 1;
    this.bytes -= frame.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  /**
   * Appends `frame`, then drops the oldest frames until the queue is within
   * `limit`; returns how many were dropped. `frame` itself always stays:
   * callers refuse a frame larger than `limit.bytes` before pushing it.
   */
  pushWithin(frame: Buffer, limit: { messages: number; bytes: number }): number {
    this.push(frame);
    let dropped = 0;
    while (this.length > 1 && (this.length > limit.messages || this.bytes > limit.bytes)) {
      this.shift();
      dropped += 1;
    }
    return dropped;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}

