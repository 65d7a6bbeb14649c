// Run in a child process by durable-node-crash.test.ts (bundled with
// esbuild), which kills it with SIGKILL at a moment of its choosing. It opens
// four nodes with `openNode`, each on its own data directory under argv[2],
// and runs them on one in-process bus, a simulated clock stepped 1 ms per
// real millisecond. Every save a store reports durable is printed on stdout,
// so every line printed is something the node was promised it keeps:
//   hard <node> <term> <votedFor|->
//   safety <node> <rank> <votedAttempt> <confirmedAttempt> <lockAttempt|->
//   entry <node> <index> <valueDigest>
// First line, once all four are open: `open`.
import { join } from 'node:path';
import { openNode, type DurableNode } from '../../node/openNode';
import type { DurableSave } from '../../storage/nodeStore';
import { NodeCluster } from '../node/nodeCluster';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';

const [root, seed] = [process.argv[2], Number(process.argv[3])];
// Bounds, should the kill never come.
const MAX_MS = 20_000;

const line = (name: string, saved: DurableSave): string => {
  if (saved.kind === 'hard') return `hard ${name} ${saved.value.term} ${saved.value.votedFor ?? '-'}`;
  if (saved.kind === 'safety') {
    const { rank, votedAttempt, confirmedAttempt, lock } = saved.value;
    return `safety ${name} ${rank} ${votedAttempt} ${confirmedAttempt} ${lock?.attempt ?? '-'}`;
  }
  if (saved.kind === 'entry') return `entry ${name} ${saved.value.index} ${saved.value.valueDigest}`;
  return saved.kind === 'snapshot' ? `snapshot ${name} ${saved.index}` : `compact ${name} ${saved.below}`;
};

async function main(): Promise<void> {
  // Naive: a later attempt's proposer proves as fast as the first prover, so an attempt lost to a kill is soon replaced.
  const cluster = new NodeCluster({ seed, size: 4, naive: true });
  const nodes = new Map<string, DurableNode<Frame, Ballot, Peer, Batch>>();
  // Crash faults only, so a node behind after a restart may take the most advanced state in the process.
  const latest = (): Frame => {
    const states = [...nodes.values()].map((node) => node.getActiveState());
    return states.reduce((best, state) => (state.rank() > best.rank() ? state : best));
  };
  for (const name of cluster.names) {
    const config = cluster.configFor(name);
    const node = await openNode({
      ...config,
      // A restart forgets the votes it sent (the engine keeps only that it voted), so its attempt must time out soon.
      timeouts: { ...config.timeouts, attempt: 200, attemptGrowth: 1 },
      providers: { ...config.providers, sync: { synchronize: async () => fixtureCodec.state.decode(JSON.parse(JSON.stringify(latest()))) } },
      dataDir: join(root, name),
      store: { segmentBytes: 16 * 1024, onDurable: (saved) => process.stdout.write(`${line(name, saved)}\n`) },
    });
    nodes.set(name, node);
  }
  process.stdout.write('open\n');
  for (const [name, node] of nodes) cluster.attach(name, node);
  const started = Date.now();
  const timer = setInterval(() => {
    cluster.clock.increment(1);
    // A node left a rank behind by the kill catches up from the others.
    const front = latest().rank();
    if (cluster.clock.now() % 100 === 0) for (const node of nodes.values()) if (node.getActiveRank() < front) node.induceSync();
    if (Date.now() - started > MAX_MS) {
      clearInterval(timer);
      void Promise.all([...nodes.values()].map((node) => node.close())).then(() => process.exit(0));
    }
  }, 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
