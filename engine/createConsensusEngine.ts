import { createActor } from 'xstate';
import type { Unique } from '../providers/unique';
import type { ConsensusEngine } from './api';
import { buildRoundEngineMachine } from './build';
import type { ConsensusEngineConfig } from './config';
import { createEngineFacade } from './facade';

export * from './api';
export * from './config';
export { buildRoundEngineMachine, type RoundEngineBuild } from './build';
export { createEngineFacade, type EngineFacade, type RoundActorRef, type RoundEngineApi } from './facade';

/**
 * Creates a node's round engine: the round machine wired to the app's
 * providers, clock, logger and inspector, with a typed, validated API for
 * peers' messages.
 */
export function createConsensusEngine<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>): ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT> {
  const build = buildRoundEngineMachine(config);

  // The app's inspector, if any, sees the whole system; the engine itself follows the round through what it emits.
  const inspect = config.inspect === undefined ? {} : { inspect: config.inspect };
  const roundActor = createActor(build.machine, { clock: build.clock, ...inspect, input: build.input });
  const facade = createEngineFacade(build, roundActor);
  roundActor.start();
  return facade.api;
}
