/** Base of every error the write-ahead log gives its callers. */
export class WalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The log holds bytes it cannot vouch for somewhere other than its torn tail:
 * a record that fails its checksum with valid data after it, a bad record in
 * a segment that is not the last, a bad segment header, a missing segment.
 * Nothing is repaired and no record past the damage is served: which records
 * are lost is for an operator (or a snapshot from a peer) to decide.
 */
export class WalCorruptionError extends WalError {
  constructor(
    /** The segment file, as a full path. */
    readonly file: string,
    /** Where in that file the damage starts. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`write-ahead log corrupt at ${file} byte ${offset}: ${reason}`);
  }
}

/**
 * A write or a sync failed. What reached the disk is unknown (after a failed
 * fsync the kernel may already have dropped the dirty pages and will not
 * report it again), so the log refuses every later append: a node must stop
 * voting rather than vote without a durable record. Reopening the directory
 * recovers whatever was durable.
 */
export class WalWriteError extends WalError {
  constructor(
    readonly operation: string,
    readonly file: string,
    cause: unknown,
  ) {
    super(`write-ahead log ${operation} failed on ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The log was closed: nothing more can be appended. */
export class WalClosedError extends WalError {
  constructor() {
    super('write-ahead log is closed');
  }
}
