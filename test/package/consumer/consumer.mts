// An ES module consumer: resolves the package's types through its `import` condition.
import { createConsensusEngine, ROUND_STATES, type ConsensusEngine, type Unique } from 'statechart-consensus';

type Engine = ConsensusEngine<Unique, Unique, Unique, Unique>;
export const states: readonly string[] = ROUND_STATES;
export const create: (config: Parameters<typeof createConsensusEngine>[0]) => Engine = createConsensusEngine;
