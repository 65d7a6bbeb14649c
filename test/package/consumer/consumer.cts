// A CommonJS consumer: resolves the package's types through its `require` condition.
import engine = require('statechart-consensus');

const timeouts: engine.RoundTimeouts = engine.DEFAULT_ROUND_TIMEOUTS;
const create: typeof engine.createConsensusEngine = engine.createConsensusEngine;
export const checked: [number, typeof create] = [timeouts.voting, create];
