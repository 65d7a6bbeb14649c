#!/usr/bin/env node
// The `statechart-consensus` command. All the work is in ./program so tests
// can run it in-process with captured output.
import { EXIT, runCli } from './program';

// `statechart-consensus simulate --help | head`: a closed pipe ends the
// output, it is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug, not bad input: say so plainly, with the stack for the report.
    process.stderr.write(`statechart-consensus: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.internal;
  },
);
