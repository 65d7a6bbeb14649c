import { WebSocket } from 'ws';
import type { BatchMessage, HelloMessage, ServerMessage } from '../../../visualizer/protocol';

/**
 * What a page sees on the live view's socket: every message, and a way to
 * wait (on the wall clock: the server plays the cluster back in real time)
 * until they satisfy a condition.
 */
export class PageClient {
  readonly messages: ServerMessage[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<PageClient> {
    // Listening before the socket opens: the server greets in the same breath.
    const client = new PageClient(new WebSocket(url, { headers }));
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve());
      client.socket.once('error', reject);
    });
    return client;
  }

  get hello(): HelloMessage | undefined {
    return this.messages.find((m): m is HelloMessage => m.type === '@visualizer.hello');
  }

  get batches(): BatchMessage[] {
    return this.messages.filter((m): m is BatchMessage => m.type === '@visualizer.batch');
  }

  get lastBatch(): BatchMessage | undefined {
    return this.batches.at(-1);
  }

  /** Every inspection event received so far, in order. */
  get events() {
    return this.batches.flatMap((batch) => batch.events);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Resolves once `done()` holds after some message; rejects after `timeoutMs`, naming `what`. */
  until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.socket.terminate();
  }
}
