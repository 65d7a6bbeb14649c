import { createHash } from 'node:crypto';
import type { Unique } from '../../index';

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
