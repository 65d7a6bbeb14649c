import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { RoundMachine } from '../machines/round.machine';
import type { Unique } from '../providers/unique';
import type { ConsensusEngine } from './api';
import { buildRoundEngineMachine } from './build';
import type { ConsensusEngineConfig } from './config';
import { createEngineFacade, type EngineFacade } from './facade';

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

  // The facade needs the actor, and the actor needs the inspector that feeds
  // the facade: the inspector forwards once the facade exists, which is before
  // the actor starts and so before its first microstep.
  let facade: EngineFacade<StateT, VoteT, PeerIDT, CollectedT, Actor<RoundMachine>> | undefined;
  const userInspect = config.inspect;
  const inspect = (inspection: InspectionEvent) => {
    facade?.observe(inspection);
    if (typeof userInspect === 'function') userInspect(inspection);
    else userInspect?.next?.(inspection);
  };

  const roundActor = createActor(build.machine, { clock: build.clock, inspect, input: build.input });
  facade = createEngineFacade(build, roundActor);
  roundActor.start();
  return facade.api;
}
