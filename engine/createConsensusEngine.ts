import { createActor } from 'xstate';
import type { Unique } from '../providers/unique';
import type { ConsensusEngine } from './api';
import { buildRoundEngineMachine } from './build';
import type { ConsensusEngineConfig } from './config';
import { createEngineFacade } from './facade';
import { attachEngineMetrics } from './attachMetrics';

export * from './api';
export * from './config';
export { buildRoundEngineMachine, type RoundEngineBuild } from './build';
export * from './signing/index';
export type { CommitLogView, LogEntry } from './commitLog';
export * from './proposals/options';
export type { MembershipChange, CheckedChange } from './membership/change';
export type { MembershipChangeNotice, MembershipRecord } from './membership/history';
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
  PayloadT = never,
>(config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>): ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT, PayloadT> {
  const build = buildRoundEngineMachine(config as ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>);

  // The app's inspector, if any, sees the whole system; the engine itself follows the round through what it emits.
  const inspect = config.inspect === undefined ? {} : { inspect: config.inspect };
  const roundActor = createActor(build.machine, { clock: build.clock, ...inspect, input: build.input });
  const facade = createEngineFacade(build, roundActor);
  // Before the start, so the first rank is timed too.
  if (config.metrics !== undefined) attachEngineMetrics(facade.api, config.metrics, { clock: build.clock });
  roundActor.start();
  return facade.api;
}
