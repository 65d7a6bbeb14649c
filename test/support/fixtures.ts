import { createHash } from 'node:crypto';
import type { Unique, ValueCodecs } from '../../index';

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

export class Peer implements Unique {
  constructor(readonly name: string) {}
  identity() {
    return this.name;
  }
  clone() {
    return new Peer(this.name) as this;
  }
  rank() {
    return 0;
  }
}

/** A hash-chained frame: its identity covers its parent, payload and prover. */
export class Frame implements Unique {
  readonly hash: string;
  constructor(
    readonly height: number,
    readonly parent: string,
    readonly payload: string,
    readonly prover: string,
  ) {
    this.hash = digest(`${height}|${parent}|${payload}|${prover}`);
  }
  static genesis() {
    return new Frame(0, '', 'genesis', '');
  }
  identity() {
    return this.hash;
  }
  clone() {
    return new Frame(this.height, this.parent, this.payload, this.prover) as this;
  }
  rank() {
    return this.height;
  }
}

/** A vote endorses one frame of one proposer at one height. */
export class Ballot implements Unique {
  constructor(
    readonly height: number,
    readonly voter: string,
    readonly proposer: string,
    readonly frame: string,
  ) {}
  identity() {
    return `${this.voter}:${this.proposer}:${this.frame}`;
  }
  clone() {
    return new Ballot(this.height, this.voter, this.proposer, this.frame) as this;
  }
  rank() {
    return this.height;
  }
}

/** The mutations a prover collected for a height. */
export class Batch implements Unique {
  constructor(
    readonly height: number,
    readonly items: string[],
  ) {}
  identity() {
    return `${this.height}:${this.items.join(',')}`;
  }
  clone() {
    return new Batch(this.height, [...this.items]) as this;
  }
  rank() {
    return this.height;
  }
}

function fields(data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError('expected an object');
  return data as Record<string, unknown>;
}

function height(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new TypeError('height must be a non-negative integer');
  return value as number;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`);
  return value;
}

/**
 * How an engine rebuilds a peer's frames and ballots: from their plain
 * fields, checked as bytes off the wire would be, through these constructors.
 */
export const fixtureCodec: ValueCodecs<Frame, Ballot> = {
  state: {
    decode(data) {
      const d = fields(data);
      return new Frame(height(d.height), text(d.parent, 'parent'), text(d.payload, 'payload'), text(d.prover, 'prover'));
    },
  },
  vote: {
    decode(data) {
      const d = fields(data);
      return new Ballot(height(d.height), text(d.voter, 'voter'), text(d.proposer, 'proposer'), text(d.frame, 'frame'));
    },
  },
};
