import { z } from 'zod';
import { ElectionMessageError, parseElectionMessage, type ElectionMessage } from '../machines/election.schemas';

/**
 * The frame one node sends another, whatever protocol it carries: UTF-8
 * JSON `{"v":1,"c":"round"|"election","b":<body>}`. A peer's bytes are
 * checked in order of cost: their length before anything is decoded, their
 * nesting before they are parsed, forbidden keys while they are parsed, the
 * envelope, and only then the body, by the channel's own codec. Anything
 * refused is a `WireError`, never another exception: a transport drops the
 * frame and counts the code.
 */

export const WIRE_VERSION = 1;
/** 1 MiB: far above the largest honest frame (a sync answer of 64 full frames), far below what hurts to parse. */
export const DEFAULT_MAX_WIRE_BYTES = 1 << 20;
/** The envelope is level 1; no honest body nests more than a handful of levels below it. */
export const MAX_WIRE_DEPTH = 32;

export const WIRE_CHANNELS = ['round', 'election'] as const;
export type WireChannel = (typeof WIRE_CHANNELS)[number];

export type WireErrorCode =
  /** More bytes than the limit: refused before they were decoded. */
  | 'oversize'
  /** Not UTF-8, or not JSON. */
  | 'not_json'
  /** JSON, but not a frame: wrong shape, unknown channel, a forbidden key, nested too deep. */
  | 'bad_envelope'
  /** A frame of another version of this format. */
  | 'version'
  /** The body is not a message of its channel. */
  | 'bad_body';

/** Peer-chosen text ends up in error messages, which hosts log: kept short. */
const MAX_ERROR_MESSAGE = 300;

/** Why a frame was refused (or, encoding, could not be made). */
export class WireError extends Error {
  override readonly name = 'WireError';
  /** The member the frame came from, when the caller said. */
  readonly from: string | undefined;

  constructor(
    readonly code: WireErrorCode,
    message: string,
    options: { from?: string; cause?: unknown } = {},
  ) {
    super(message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}…` : message, { cause: options.cause });
    this.from = options.from;
  }
}

export interface WireOptions {
  /** Largest frame, in bytes, made or accepted. Default `DEFAULT_MAX_WIRE_BYTES`. */
  maxBytes?: number;
}

/** A decoded frame: the body is still whatever JSON the peer sent. */
export interface WireFrame {
  channel: WireChannel;
  body: unknown;
}

/**
 * Keys that reach `Object.prototype` when a parsed object is later merged or
 * assigned somewhere: no message has a field so named, so none is accepted.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function maxBytesOf(options: WireOptions): number {
  const max = options.maxBytes ?? DEFAULT_MAX_WIRE_BYTES;
  if (!Number.isSafeInteger(max) || max < 16) throw new RangeError(`maxBytes must be an integer of at least 16, got ${String(max)}`);
  return max;
}

/** Makes a frame. Throws `WireError`: `bad_body` if the body is not JSON data, `oversize` past the limit. */
export function encodeWire(channel: WireChannel, body: unknown, options: WireOptions = {}): Buffer {
  const maxBytes = maxBytesOf(options);
  if (!WIRE_CHANNELS.includes(channel)) throw new WireError('bad_envelope', `unknown channel ${String(channel).slice(0, 32)}`);
  let bodyText: string | undefined;
  try {
    bodyText = JSON.stringify(body);
  } catch (error) {
    throw new WireError('bad_body', `the ${channel} body is not JSON data: ${(error as Error).message}`, { cause: error });
  }
  // `undefined`, a function or a symbol: JSON.stringify gives nothing, and a frame without a body is not one.
  if (typeof bodyText !== 'string') throw new WireError('bad_body', `the ${channel} body is not JSON data`);
  const text = `{"v":${WIRE_VERSION},"c":${JSON.stringify(channel)},"b":${bodyText}}`;
  const bytes = Buffer.from(text, 'utf8');
  // A peer would refuse it: better the sender knows.
  if (bytes.byteLength > maxBytes) throw new WireError('oversize', `a ${channel} frame of ${bytes.byteLength} bytes, more than ${maxBytes}`);
  return bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether brackets nest deeper than `limit` outside strings: exact for valid JSON, and parsing catches the rest. */
function nestsDeeper(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/** Thrown from the reviver, so that a forbidden key is told apart from a syntax error. */
class ForbiddenKey {
  constructor(readonly key: string) {}
}

function refuseForbidden(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key);
  return value;
}

/** Version first, on its own: a later version may change every other field. */
const versionSchema = z.looseObject({ v: z.int().min(0) });
const envelopeSchema = z.strictObject({ v: z.literal(WIRE_VERSION), c: z.enum(WIRE_CHANNELS), b: z.unknown() });

/**
 * Reads a frame: `bytes` off the wire (or text, for transports that carry
 * text). Whatever the bytes, throws `WireError` and nothing else (only an
 * unusable `maxBytes` is a `RangeError`). The body is JSON data, not yet a
 * message: the channel's codec checks it. `from` goes into the error.
 */
export function decodeWire(bytes: Uint8Array | string, options: WireOptions & { from?: string } = {}): WireFrame {
  const maxBytes = maxBytesOf(options);
  const { from } = options;
  const refuse = (code: WireErrorCode, message: string, cause?: unknown): WireError => new WireError(code, message, { from, cause });
  if (typeof bytes !== 'string' && !(bytes instanceof Uint8Array)) throw refuse('not_json', 'a frame must be bytes or text');
  // A string's UTF-8 form is at least as long as the string: the cheap test first.
  const oversize = typeof bytes === 'string' ? bytes.length > maxBytes || Buffer.byteLength(bytes, 'utf8') > maxBytes : bytes.byteLength > maxBytes;
  if (oversize) throw refuse('oversize', `a frame of more than ${maxBytes} bytes`);
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch (error) {
    throw refuse('not_json', 'a frame that is not UTF-8', error);
  }
  if (nestsDeeper(text, MAX_WIRE_DEPTH)) throw refuse('bad_envelope', `a frame nested deeper than ${MAX_WIRE_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => refuseForbidden(key, value));
  } catch (error) {
    if (error instanceof ForbiddenKey) throw refuse('bad_envelope', `a frame with a key named ${error.key}`);
    throw refuse('not_json', 'a frame that is not JSON', error);
  }
  const version = versionSchema.safeParse(parsed);
  if (!version.success) throw refuse('bad_envelope', 'a frame must be an object with a version number v');
  if (version.data.v !== WIRE_VERSION) throw refuse('version', `a frame of version ${version.data.v}; this node reads version ${WIRE_VERSION}`);
  const envelope = envelopeSchema.safeParse(parsed);
  if (!envelope.success) {
    const issues = envelope.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')} ${issue.message}`.slice(0, 100));
    throw refuse('bad_envelope', `not a version ${WIRE_VERSION} frame: ${issues.join('; ')}`);
  }
  return { channel: envelope.data.c, body: envelope.data.b };
}

/**
 * One protocol's messages as JSON data and back. `fromWire` gets data a peer
 * chose: it checks it as it would bytes, and throws `WireError('bad_body')`
 * on anything that is not a message (other errors are turned into that).
 */
export interface BodyCodec<T> {
  /** The message as JSON-safe plain data. */
  toWire(message: T): unknown;
  fromWire(data: unknown): T;
}

export type WireMessage<R, E> = { channel: 'round'; body: R } | { channel: 'election'; body: E };

/** What a transport needs: messages to frames and back. */
export interface WireCodec<R, E> {
  encode(message: WireMessage<R, E>): Buffer;
  /** Throws `WireError` only; `from` goes into the error for the logs. */
  decode(bytes: Uint8Array | string, from?: string): WireMessage<R, E>;
}

export interface WireCodecOptions<R, E> extends WireOptions {
  round: BodyCodec<R>;
  election: BodyCodec<E>;
}

function asWireError(error: unknown, what: string, from?: string): WireError {
  if (error instanceof WireError) return error;
  let reason: string;
  try {
    reason = error instanceof Error ? error.message : String(error);
  } catch {
    reason = 'an error that cannot be printed';
  }
  return new WireError('bad_body', `${what}: ${reason}`, { from, cause: error });
}

/** The transport's `encode`/`decode` for the round's and the election's messages. */
export function wireCodec<R, E>(options: WireCodecOptions<R, E>): WireCodec<R, E> {
  const maxBytes = maxBytesOf(options);
  const { round, election } = options;
  return {
    encode(message) {
      let data: unknown;
      try {
        data = message.channel === 'round' ? round.toWire(message.body) : election.toWire(message.body);
      } catch (error) {
        throw asWireError(error, `a ${message.channel} message that cannot be sent`);
      }
      return encodeWire(message.channel, data, { maxBytes });
    },
    decode(bytes, from) {
      const frame = decodeWire(bytes, { maxBytes, from });
      try {
        return frame.channel === 'round'
          ? { channel: 'round', body: round.fromWire(frame.body) }
          : { channel: 'election', body: election.fromWire(frame.body) };
      } catch (error) {
        throw asWireError(error, `not a ${frame.channel} message`, from);
      }
    },
  };
}

/**
 * The election's messages: flat records of strings, numbers and booleans,
 * checked by the election's own schema, which `receiveElectionMessage`
 * recognises and does not parse twice.
 */
export const electionBodyCodec: BodyCodec<ElectionMessage> = {
  toWire: (message) => ({ ...message }),
  fromWire(data) {
    try {
      return parseElectionMessage(data);
    } catch (error) {
      if (error instanceof ElectionMessageError) throw new WireError('bad_body', error.message, { cause: error });
      throw error;
    }
  },
};
