import type { Unique } from './unique';

/**
 * How the engine copies a value that came from a peer: to plain data and
 * back through the app's own code. Whatever object a peer's message carried,
 * the engine keeps, counts and hands to the app only what `decode` built
 * from plain data, so no method of a peer's object runs after the door: a
 * `clone()` that returns something else, an `identity()` that changes, a
 * getter that throws later all have nothing to act on.
 */
export interface ValueCodec<T extends Unique> {
  /**
   * The value as plain data (what JSON can carry). Optional: by default the
   * engine takes the value's own enumerable properties, as `JSON.stringify`
   * does. Give it for classes that keep their data elsewhere (private
   * fields, getters).
   */
  encode?(value: T): unknown;
  /**
   * The app's own value for `data`, which is plain data a peer chose: check
   * it as you would bytes off the wire and throw if it is not a value.
   */
  decode(data: unknown): T;
}

/** Codecs for the values a peer's proposals, confirmations and votes carry. */
export interface ValueCodecs<StateT extends Unique, VoteT extends Unique> {
  state: ValueCodec<StateT>;
  vote: ValueCodec<VoteT>;
}
