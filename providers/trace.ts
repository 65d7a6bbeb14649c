/** Where the engine reports what it does and what went wrong. */
export interface TraceLogger {
  trace(message: string): void;
  error(message: string, error: unknown): void;
  /**
   * Something an operator should hear of, once (e.g. that a node refuses a
   * peer's messages). Without it, such notices go to `console.warn` unless
   * the engine is told not to give them (`warnOnRefusals: false`).
   */
  warn?(message: string): void;
}

export const silentTraceLogger: TraceLogger = {
  trace() {},
  error() {},
};
