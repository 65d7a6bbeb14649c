import { SingleBar } from 'cli-progress';

/** Where progress goes: stderr, so that stdout keeps only the report (or the JSON). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** A bar on a terminal; nothing elsewhere (a log gets the report, not redraws). */
export function progressBar(stream: ProgressStream, format: string): SingleBar | null {
  if (!stream.isTTY) return null;
  return new SingleBar({
    format,
    stream: stream as NodeJS.WriteStream,
    hideCursor: true,
    clearOnComplete: true,
  });
}

/**
 * Wall seconds a sweep run takes, roughly, at `rounds` heights. Measured on a
 * 2-core machine over seeds 1–20: 1.1 s a run at 4 heights, 1.2 s at 12, 3.6 s
 * at 30. Runs differ a lot (cluster size, faults, Byzantine behaviour), so
 * this only gives the order of magnitude before the first runs are timed.
 */
export function sweepSecondsPerRun(rounds: number): number {
  return Math.max(1, rounds / 9);
}

/** `40 s`, `12 min`, `3.5 h`: a duration as a person reads an estimate. */
export function roughDuration(seconds: number): string {
  if (seconds < 1) return 'under 1 s';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The line printed before a sweep starts: how long it may take. */
export function sweepEstimate(runs: number, rounds: number): string {
  const perRun = sweepSecondsPerRun(rounds);
  return (
    `sweep: ${runs} run${runs === 1 ? '' : 's'} of ${rounds} height${rounds === 1 ? '' : 's'}, roughly ${roughDuration(runs * perRun)} ` +
    `(about ${perRun.toFixed(1)} s a run on a 2-core machine; bigger clusters and more faults take longer)\n`
  );
}

export interface SweepProgress {
  /** After run `done` of `total` (1-based), with `failed` runs so far that were unsafe or stalled. */
  update(done: number, failed: number): void;
  stop(): void;
}

/**
 * Sweep progress on stderr: a bar with its ETA on a terminal, otherwise a
 * line at every tenth of the runs (a CI log shows it is alive, and for how
 * long yet). `now` is the wall clock in ms; the ETA extrapolates the runs so far.
 */
export function sweepProgress(stream: ProgressStream, total: number, now: () => number = Date.now): SweepProgress {
  const bar = progressBar(stream, 'sweep [{bar}] {value}/{total} runs, {failed} failed, {eta_formatted} left');
  if (bar !== null) {
    bar.start(total, 0, { failed: 0 });
    return { update: (done, failed) => bar.update(done, { failed }), stop: () => bar.stop() };
  }
  const started = now();
  const every = Math.max(1, Math.ceil(total / 10));
  return {
    update(done, failed) {
      if (done % every !== 0 && done !== total) return;
      const elapsed = (now() - started) / 1000;
      const remaining = (elapsed / done) * (total - done);
      const left = done === total ? '' : `, ${remaining < 1 ? '' : 'about '}${roughDuration(remaining)} left`;
      stream.write(`sweep: ${done}/${total} runs, ${failed} failed, ${roughDuration(elapsed)} so far${left}\n`);
    },
    stop() {},
  };
}
