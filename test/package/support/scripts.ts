// ES module scripts that a child `node --input-type=module -e` runs in a
// directory where `statechart-consensus` resolves: the project itself (its
// built dist/, by the package's own name) or an app that installed it.

export const ENTRIES = ['statechart-consensus', 'statechart-consensus/simulator', 'statechart-consensus/visualizer'];

/**
 * For each entry: whether `import` and `require` give the same names, the
 * names whose values differ between the two, and the names that another
 * entry also exports with a different value. Prints one JSON object.
 */
export const SAME_OBJECTS_SCRIPT = `
  import { createRequire } from 'node:module';
  const require = createRequire(process.cwd() + '/');
  const entries = ${JSON.stringify(ENTRIES)};
  const loaded = [];
  const result = {};
  for (const entry of entries) {
    const esm = await import(entry);
    const cjs = require(entry);
    const names = Object.keys(cjs).sort();
    result[entry] = {
      names: names.length,
      sameNames: JSON.stringify(Object.keys(esm).sort()) === JSON.stringify(names),
      differ: names.filter((name) => esm[name] !== cjs[name]),
      differFromOtherEntries: loaded.flatMap((other) => names.filter((name) => name in other && other[name] !== cjs[name])),
    };
    loaded.push(cjs, esm);
  }
  console.log(JSON.stringify(result));
`;

/**
 * Script lines that make \`engine\`, a two-member engine whose providers
 * never answer, from \`createConsensusEngine\` and \`SimulatedClock\` in scope.
 */
export const TINY_ENGINE = `
  const u = (id, rank = 0) => ({ identity: () => id, clone() { return this; }, rank: () => rank });
  const never = () => new Promise(() => {});
  const codec = { decode: (d) => u(String(d.id), Number(d.rank)) };
  const engine = createConsensusEngine({
    id: u('a'), members: [u('a'), u('b')], initialState: u('g'), clock: new SimulatedClock(),
    codec: { state: codec, vote: codec },
    providers: {
      sync: { synchronize: async (s) => s },
      leader: { getNextLeaders: async () => [u('a')], proveNextState: never },
      liveness: { collect: never, sendLiveness: async () => {} },
      voting: { sendProposal: never, decideAndSendVote: never, finalizeVotes: never, sendConfirmation: never },
    },
  });
`;

/**
 * An engine made through \`require\` refuses a malformed proposal; the error
 * is checked against the classes that \`import\` gives. Prints the engine's
 * state and what the error was found to be.
 */
export const ERROR_ACROSS_MODULE_SYSTEMS_SCRIPT = `
  import { createRequire } from 'node:module';
  import { ConsensusError, ConsensusInputError, MalformedMessageError } from 'statechart-consensus';
  const { createConsensusEngine, SimulatedClock } = createRequire(process.cwd() + '/')('statechart-consensus');
  ${TINY_ENGINE}
  let refused = 'nothing thrown';
  try {
    engine.receiveProposal(u('b'), {});
  } catch (error) {
    refused = [error instanceof ConsensusError, error instanceof ConsensusInputError, error instanceof MalformedMessageError, error.code].join(' ');
  }
  console.log(refused);
`;
