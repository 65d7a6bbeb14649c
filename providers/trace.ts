/** Where the engine reports what it does and what went wrong. */
export interface TraceLogger {
  trace(message: string): void;
  error(message: string, error: unknown): void;
}

export const silentTraceLogger: TraceLogger = {
  trace() {},
  error() {},
};
