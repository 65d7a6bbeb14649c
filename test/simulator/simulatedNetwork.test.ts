import { createSeededRandom } from '../../providers/random';
import { networkEndpoint, SimulatedNetwork, type NetworkEvent, type SimulatedNetworkOptions } from '../../simulator/simulatedNetwork';
import { EventClock } from '../../simulator/EventClock';

type Received = { to: string; from: string; message: string; at: number };

function setup(options: Partial<SimulatedNetworkOptions<string>> = {}, nodes = ['a', 'b', 'c']) {
  const clock = new EventClock();
  const events: NetworkEvent<string>[] = [];
  const network = new SimulatedNetwork<string>({
    clock,
    random: createSeededRandom(7),
    observer: (event) => events.push(event),
    ...options,
  });
  const received: Received[] = [];
  for (const node of nodes) network.attach(node, (from, message) => received.push({ to: node, from, message, at: clock.now() }));
  const run = () => {
    while (clock.fireNext());
  };
  return { clock, network, received, events, run };
}

describe('SimulatedNetwork: a deterministic lossy transport on the simulated clock', () => {
  it('delivers after a latency drawn from the link range, the same draws for the same seed', () => {
    const first = setup({ latency: { min: 5, max: 50 } });
    for (let i = 0; i < 20; i += 1) first.network.send('a', 'b', `m${i}`);
    first.run();
    const second = setup({ latency: { min: 5, max: 50 } });
    for (let i = 0; i < 20; i += 1) second.network.send('a', 'b', `m${i}`);
    second.run();
    expect(first.received).toHaveLength(20);
    expect(first.received.every((r) => r.at >= 5 && r.at <= 50)).toBe(true);
    expect(second.received).toEqual(first.received);
    // With a range, later messages overtake earlier ones.
    expect(first.received.map((r) => r.message)).not.toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it('keeps each link FIFO when reordering is off', () => {
    const { network, received, run } = setup({ latency: { min: 5, max: 50 }, reorder: false });
    for (let i = 0; i < 20; i += 1) network.send('a', 'b', `m${i}`);
    run();
    expect(received.map((r) => r.message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it('drops a share of messages close to the drop rate and reports each drop', () => {
    const { network, received, events, run } = setup({ dropRate: 0.25 });
    for (let i = 0; i < 400; i += 1) network.send('a', 'b', `m${i}`);
    run();
    const drops = events.filter((e) => e.type === 'drop');
    expect(drops.length + received.length).toBe(400);
    expect(drops.every((e) => e.type === 'drop' && e.reason === 'loss')).toBe(true);
    // Seeded, so the count is exact; it is near 400 × 0.25 as a loss rate should be.
    expect(drops.length).toBe(100);
    expect(network.stats).toEqual({ sent: 400, delivered: received.length, dropped: drops.length, duplicated: 0 });
  });

  it('delivers a duplicated message twice', () => {
    const { network, received, run } = setup({ duplicateRate: 1 });
    network.send('a', 'b', 'hello');
    run();
    expect(received.map((r) => r.message)).toEqual(['hello', 'hello']);
    expect(network.stats.duplicated).toBe(1);
  });

  it('cuts links across groups during a partition, including messages in flight, and heals on time', () => {
    const { clock, network, received, events, run } = setup(
      { latency: { min: 10, max: 10 }, partitions: [{ from: 100, to: 200, groups: [['a'], ['b', 'c']] }] },
    );
    network.send('a', 'b', 'before'); // delivered at 10
    clock.setTimeout(() => network.send('a', 'b', 'in-flight'), 95); // would arrive at 105, inside the partition
    clock.setTimeout(() => network.send('b', 'c', 'same-side'), 150);
    clock.setTimeout(() => network.send('a', 'c', 'cut'), 150);
    clock.setTimeout(() => network.send('a', 'b', 'healed'), 200);
    run();
    expect(received.map((r) => `${r.message}@${r.at}`)).toEqual(['before@10', 'same-side@160', 'healed@210']);
    expect(events.filter((e) => e.type === 'drop').map((e) => (e.type === 'drop' ? `${e.message}:${e.reason}` : ''))).toEqual([
      'in-flight:partition',
      'cut:partition',
    ]);
  });

  it('puts nodes named in no group of a partition together in one more group', () => {
    const { network } = setup({ partitions: [{ from: 0, to: 100, groups: [['a']] }] }, ['a', 'b', 'c']);
    expect(network.isCut('a', 'b')).toBe(true);
    expect(network.isCut('b', 'c')).toBe(false);
    expect(network.isCut('a', 'a')).toBe(false);
  });

  it('loses what is sent to or from a detached (crashed) node until it attaches again', () => {
    const { network, received, events, run } = setup();
    network.detach('b');
    network.send('a', 'b', 'to-crashed');
    network.send('b', 'a', 'from-crashed');
    run();
    network.attach('b', (from, message) => received.push({ to: 'b', from, message, at: 0 }));
    network.send('a', 'b', 'after-restart');
    run();
    expect(received.map((r) => r.message)).toEqual(['after-restart']);
    expect(events.filter((e) => e.type === 'drop').map((e) => (e.type === 'drop' ? e.reason : ''))).toEqual(['detached', 'detached']);
  });

  it('lets one link be slower than the defaults', () => {
    const { network, received, run } = setup({ latency: { min: 1, max: 1 } });
    network.setLink('a', 'c', { latency: { min: 40, max: 40 } });
    network.send('a', 'c', 'slow');
    network.send('a', 'b', 'fast');
    run();
    expect(received.map((r) => `${r.message}@${r.at}`)).toEqual(['fast@1', 'slow@40']);
  });

  it('refuses impossible settings with a RangeError', () => {
    const clock = new EventClock();
    const random = createSeededRandom(1);
    expect(() => new SimulatedNetwork({ clock, random, dropRate: 1.5 })).toThrow('dropRate must be within [0, 1]');
    expect(() => new SimulatedNetwork({ clock, random, latency: { min: 9, max: 3 } })).toThrow('latency must satisfy');
    expect(() => new SimulatedNetwork({ clock, random, partitions: [{ from: 5, to: 5, groups: [] }] })).toThrow('0 <= from < to');
    expect(() => new SimulatedNetwork({ clock, random, partitions: [{ from: 0, to: 5, groups: [['a'], ['a']] }] })).toThrow(
      'node a is in two groups',
    );
  });
});

describe('a member\'s endpoint of the simulated network: the PeerTransport a node process uses over sockets', () => {
  it('sends to members only, delivers what the network delivers, counts, and reports peers cut by a partition as not connected', () => {
    const { clock, network, run } = setup({ partitions: [{ from: 10, to: 20, groups: [['a'], ['b', 'c']] }] }, []);
    const members = ['a', 'b', 'c'];
    const [a, b, c] = members.map((name) => networkEndpoint(network, name, members));
    const got: string[] = [];
    b.onMessage((from, message) => got.push(`${from}>b ${message}`));
    c.onMessage(() => {
      throw new Error('a handler that throws is counted, not thrown into the network');
    });
    a.onMessage(() => undefined);
    expect(a.send('b', 'hello')).toBe(true);
    expect(a.send('a', 'to myself')).toBe(false);
    expect(a.send('z', 'to a stranger')).toBe(false);
    expect(a.send('c', 'boom')).toBe(true);
    run();
    expect(got).toEqual(['a>b hello']);
    expect(a.stats()).toMatchObject({ messagesSent: 2, dropped: { unknown_peer: 2 } });
    expect(c.stats()).toMatchObject({ messagesReceived: 1, handlerErrors: 1 });
    expect(a.connectedPeers()).toEqual(['b', 'c']);
    clock.setTimeout(() => undefined, 15 - clock.now());
    clock.fireNext();
    expect(clock.now()).toBe(15);
    expect(a.connectedPeers()).toEqual([]);
    expect(b.connectedPeers()).toEqual(['c']);
  });

  it('after close nothing is sent or delivered, and the peer no longer counts as connected', async () => {
    const { network, run } = setup({}, []);
    const members = ['a', 'b'];
    const [a, b] = members.map((name) => networkEndpoint(network, name, members));
    const got: string[] = [];
    a.onMessage((_from, message) => got.push(message));
    b.onMessage(() => undefined);
    await a.close();
    expect(b.send('a', 'late')).toBe(true);
    expect(a.send('b', 'after close')).toBe(false);
    run();
    expect(got).toEqual([]);
    expect(b.connectedPeers()).toEqual([]);
    expect(a.stats().dropped.closed).toBe(1);
  });
});
