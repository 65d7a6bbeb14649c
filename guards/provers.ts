import type { Identity } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';
import { nextRank } from './rank';
import { takesPart } from './membership';

/** Provers are only trusted for the rank they were fetched for. */
export function proversKnown(context: RoundContext): boolean {
  return context.nextProversRank === nextRank(context) && context.nextProvers.length > 0;
}

export function isKnownProver(context: RoundContext, peer: Identity): boolean {
  return context.nextProvers.some((prover) => prover.identity() === peer);
}

/** This node is among the provers of the rank being decided. */
export function isProver(context: RoundContext): boolean {
  return proversKnown(context) && isKnownProver(context, context.selfId);
}

/** The prover list is missing, stale or shorter than `minimumProvers`. */
export function lacksProvers(context: RoundContext): boolean {
  return !proversKnown(context) || context.nextProvers.length < context.thresholds.provers;
}

/** A prover with collected mutations proves; anyone else moves straight on to voting. */
export function canProve(context: RoundContext): boolean {
  return isProver(context) && context.collected !== null;
}

/** Announce once per round (a liveness timeout clears the flag to announce again); only a voter of the rank does. */
export function shouldAnnounceLiveness(context: RoundContext): boolean {
  return canProve(context) && !context.livenessAnnounced && takesPart(context);
}

/** A prover whose collect failed collects again before announcing or proving. */
export function needsCollection(context: RoundContext): boolean {
  return isProver(context) && context.collected === null;
}
