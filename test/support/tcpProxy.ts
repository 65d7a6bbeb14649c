import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 that a test places between two node processes and
 * can cut. Cut, it keeps every socket open but throws away what arrives on
 * it, as a network that loses packets does: the ends notice only by their
 * own heartbeats. Healed, it closes the connections it was blackholing (their
 * byte streams lost frames midway) and relays new ones again.
 */
export class TcpProxy {
  private cut = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly server: Server;
  /** Bytes thrown away while cut: a partition that discards nothing was not one. */
  discarded = 0;

  private constructor(private readonly target: number) {
    this.server = createServer((client) => this.relay(client));
  }

  /** A proxy listening on a free loopback port, relaying to `target`. */
  static async start(target: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  partition(): void {
    this.cut = true;
  }

  heal(): void {
    if (!this.cut) return;
    this.cut = false;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (this.cut) this.discarded += chunk.length;
        else if (!to.destroyed) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
