// An ES module consumer: resolves the package's types through its `import` condition.
import { createConsensusEngine, ConsensusInputError, ROUND_STATES, roundMachine, type ConsensusEngine, type InputErrorCode, type Unique } from 'statechart-consensus';
import { runSimulation, type SimulationOptions, type SimulationReport } from 'statechart-consensus/simulator';
import { loadStatelyInspect, toMermaid, type StatelyInspectModule } from 'statechart-consensus/visualizer';

type Engine = ConsensusEngine<Unique, Unique, Unique, Unique>;
export const states: readonly string[] = ROUND_STATES;
export const create: (config: Parameters<typeof createConsensusEngine>[0]) => Engine = createConsensusEngine;
export const code = (error: unknown): InputErrorCode | undefined => (error instanceof ConsensusInputError ? error.code : undefined);
export const run: (options: Partial<SimulationOptions>) => Promise<SimulationReport> = runSimulation;
export const diagram: string = toMermaid(roundMachine);
export const inspect: () => Promise<StatelyInspectModule> = loadStatelyInspect;
