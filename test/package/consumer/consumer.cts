// A CommonJS consumer: resolves the package's types through its `require` condition.
import engine = require('statechart-consensus');
import simulator = require('statechart-consensus/simulator');
import visualizer = require('statechart-consensus/visualizer');

const timeouts: engine.RoundTimeouts = engine.DEFAULT_ROUND_TIMEOUTS;
const create: typeof engine.createConsensusEngine = engine.createConsensusEngine;
export const checked: [number, typeof create] = [timeouts.voting, create];
export const code = (error: unknown): engine.InputErrorCode | undefined => (error instanceof engine.ConsensusInputError ? error.code : undefined);
export const run: (options: Partial<simulator.SimulationOptions>) => Promise<simulator.SimulationReport> = simulator.runSimulation;
export const diagram: string = visualizer.toMermaid(engine.roundMachine);
