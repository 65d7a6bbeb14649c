import type { Command } from 'commander';
import { coordinationRequest, type CoordinationResult } from './coordinationCommands';

interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** How long the node may take to commit a change before it answers 504. */
const CHANGE_WAIT_MS = 30_000;

/**
 * `members list|add|remove`: a node's membership, and changes to it through
 * the log, over its client API at `--url` (a node started with `founders`).
 * Prints the node's answer as one line of JSON and exits 0, or why not on
 * stderr and exits 1.
 */
export function addMemberCommands(program: Command, io: CommandIO, setExitCode: (code: number) => void): void {
  const print = (result: CoordinationResult) => {
    if (result.stdout !== undefined) io.stdout.write(`${result.stdout}\n`);
    if (result.stderr !== undefined) io.stderr.write(`${result.stderr}\n`);
    setExitCode(result.exitCode);
  };
  const withUrl = (command: Command) => command.requiredOption('--url <url>', "a node's client URL");
  const members = program.command('members').description("A node's membership: who votes, and changes to it through the commit log.");
  withUrl(members.command('list').description('The members deciding the rank in progress, their quorum, and any change scheduled.')).action(
    async (flags: { url: string }) => print(await coordinationRequest(flags.url, 'GET', '/v1/members')),
  );
  for (const op of ['add', 'remove'] as const) {
    const what = op === 'add' ? 'Add a node of the configuration as a member' : 'Remove a member';
    withUrl(members.command(op).description(`${what}; answers once the change committed, with the rank it takes effect from.`).argument('<id>')).action(
      async (id: string, flags: { url: string }) => print(await coordinationRequest(flags.url, 'POST', '/v1/members', { op, id, timeoutMs: CHANGE_WAIT_MS })),
    );
  }
}
