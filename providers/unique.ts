/** A string that names one value: a state's hash, a peer's id, a vote's key. */
export type Identity = string;

/**
 * What every type the engine handles must offer: the replicated state, votes,
 * peer ids and collected mutations alike.
 */
export interface Unique {
  /** A stable, content-derived name; two values with one identity are one value. */
  identity(): Identity;
  /** A copy the engine can hand to a provider without sharing its own. */
  clone(): this;
  /** The ordinal this value belongs to (frame number, height). */
  rank(): number | bigint;
}
