import * as fs from 'node:fs';

/**
 * The file operations the log uses, on file descriptors: a test swaps one for
 * a version that fails or counts, and the log cannot tell.
 */
export interface WalFs {
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** `flags` as `fs.open` takes them: 'r', 'r+', 'wx'. */
  open(path: string, flags: string): Promise<number>;
  close(fd: number): Promise<void>;
  /** Size in bytes of the open file. */
  size(fd: number): Promise<number>;
  /** Reads up to `length` bytes at `position` into `buffer[offset…]`; resolves with the count read. */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes up to `length` bytes of `buffer[offset…]` at `position`; resolves with the count written. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Data and the metadata needed to read it back (the size), as `fdatasync(2)`. */
  fdatasync(fd: number): Promise<void>;
  /** Everything about the file, as `fsync(2)`; the log uses it on directories. */
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

const settle =
  <T>(resolve: (value: T) => void, reject: (error: unknown) => void) =>
  (error: NodeJS.ErrnoException | null, value?: T) =>
    error ? reject(error) : resolve(value as T);

/** `node:fs` itself. */
export const nodeWalFs: WalFs = {
  mkdir: (path) => new Promise((resolve, reject) => fs.mkdir(path, { recursive: true }, (error) => (error ? reject(error) : resolve()))),
  readdir: (path) => new Promise((resolve, reject) => fs.readdir(path, settle(resolve, reject))),
  open: (path, flags) => new Promise((resolve, reject) => fs.open(path, flags, 0o644, settle(resolve, reject))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, settle(resolve, reject))),
  size: (fd) => new Promise((resolve, reject) => fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size)))),
  read: (fd, buffer, offset, length, position) => new Promise((resolve, reject) => fs.read(fd, buffer, offset, length, position, settle(resolve, reject))),
  write: (fd, buffer, offset, length, position) => new Promise((resolve, reject) => fs.write(fd, buffer, offset, length, position, settle(resolve, reject))),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, settle(resolve, reject))),
  fsync: (fd) => new Promise((resolve, reject) => fs.fsync(fd, settle(resolve, reject))),
  ftruncate: (fd, length) => new Promise((resolve, reject) => fs.ftruncate(fd, length, settle(resolve, reject))),
  rename: (from, to) => new Promise((resolve, reject) => fs.rename(from, to, settle(resolve, reject))),
  unlink: (path) => new Promise((resolve, reject) => fs.unlink(path, settle(resolve, reject))),
};
