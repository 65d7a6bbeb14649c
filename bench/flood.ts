import { SimulatedClock } from 'xstate';
import { createConsensusEngine, heldMessageBound, DEFAULT_RANK_WINDOW } from '../engine/createConsensusEngine';
import { ConsensusInputError } from '../engine/errors';
import { ledgerCodec } from '../examples/ledger/codec';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../examples/ledger/types';
import { idleProviders } from '../simulator/idleApp';

/** Messages per measured batch: enough for a steady µs figure. */
const BATCH = 100_000;

export interface FloodBatchRow {
  phase: 'strangers' | 'members';
  /** Messages sent so far in the phase, this batch included. */
  sent: number;
  usPerMessage: number;
  heapMB: number;
  held: number;
}

export interface FloodBenchResult {
  rows: FloodBatchRow[];
  /** The bound `getHeldMessageCount()` may never pass for this engine. */
  bound: number;
  /** Refusal codes by phase. */
  outcomes: Record<string, Record<string, number>>;
  /** Last batch's µs per message over the first's, per phase: flat is about 1. */
  costRatio: Record<string, number>;
  heapGrowthMB: Record<string, number>;
}

function heapMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
}

/**
 * A flood against one engine of four members, parked where every message is
 * judged by admission alone: first `messages` from ever-new senders that are
 * not members, then `messages` from the members themselves, for every rank
 * in the window and ever higher attempts (most of them only skip evidence).
 * What it shows: the cost per message stays flat (no structure grows with
 * the flood), the heap does not grow, and what the engine holds stays under
 * `heldMessageBound`. Run with `--expose-gc` for steady heap figures.
 */
export function runFloodBench(messages = 1_000_000, onRow?: (row: FloodBatchRow) => void): FloodBenchResult {
  const members = ['n0', 'n1', 'n2', 'n3'];
  const engine = createConsensusEngine<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>({
    id: new LedgerPeer('n0'),
    members: members.map((name) => new LedgerPeer(name)),
    initialState: LedgerFrame.genesis(),
    providers: idleProviders(),
    codec: ledgerCodec,
    clock: new SimulatedClock(),
    warnOnRefusals: false,
  });
  engine.start();
  const rows: FloodBatchRow[] = [];
  const outcomes: Record<string, Record<string, number>> = { strangers: {}, members: {} };
  const count = (phase: string, outcome: string) => (outcomes[phase][outcome] = (outcomes[phase][outcome] ?? 0) + 1);

  const phases: Array<{ phase: FloodBatchRow['phase']; send: (i: number) => unknown }> = [
    {
      phase: 'strangers',
      send: (i) => {
        const sender = `stranger-${i}`;
        const rank = 1 + (i % DEFAULT_RANK_WINDOW);
        const frame = new LedgerFrame(rank, 'p', sender, 0, [], `h${i}`);
        switch (i % 4) {
          case 0:
            return engine.receiveLivenessCheck(sender, new LedgerBatch(rank, sender, []));
          case 1:
            return engine.receiveProposal(sender, frame, { attempt: i % 1_000 });
          case 2:
            return engine.receiveVote(sender, sender, new LedgerVote(rank, sender, sender, frame.hash), { attempt: i });
          default:
            return engine.receiveConfirmation(sender, frame, { attempt: i % 1_000_000 });
        }
      },
    },
    {
      phase: 'members',
      send: (i) => {
        const sender = members[1 + (i % 3)];
        const rank = 1 + (Math.floor(i / 3) % DEFAULT_RANK_WINDOW);
        const attempt = Math.floor(i / 48) % 1_000_000;
        const frame = new LedgerFrame(rank, 'p', sender, 0, [], `h${rank}-${attempt}`);
        switch (Math.floor(i / 3) % 3) {
          case 0:
            return engine.receiveProposal(sender, frame, { attempt });
          case 1:
            return engine.receiveVote(sender, sender, new LedgerVote(rank, sender, sender, frame.hash), { attempt, proposal: frame.hash });
          default:
            return engine.receiveConfirmation(sender, frame, { attempt });
        }
      },
    },
  ];

  const heapBefore: Record<string, number> = {};
  const heapAfter: Record<string, number> = {};
  for (const { phase, send } of phases) {
    heapBefore[phase] = heapMB();
    for (let start = 0; start < messages; start += BATCH) {
      const end = Math.min(messages, start + BATCH);
      const began = process.hrtime.bigint();
      for (let i = start; i < end; i += 1) {
        try {
          count(phase, String(send(i)));
        } catch (error) {
          if (!(error instanceof ConsensusInputError)) throw error;
          count(phase, error.code);
        }
      }
      const us = Number(process.hrtime.bigint() - began) / 1_000 / (end - start);
      const row: FloodBatchRow = { phase, sent: end, usPerMessage: Math.round(us * 100) / 100, heapMB: heapMB(), held: engine.getHeldMessageCount() };
      rows.push(row);
      onRow?.(row);
    }
    heapAfter[phase] = heapMB();
  }
  const costRatio: Record<string, number> = {};
  const heapGrowthMB: Record<string, number> = {};
  for (const { phase } of phases) {
    const phaseRows = rows.filter((row) => row.phase === phase);
    costRatio[phase] = Math.round((phaseRows.at(-1)!.usPerMessage / phaseRows[0].usPerMessage) * 100) / 100;
    heapGrowthMB[phase] = Math.round((heapAfter[phase] - heapBefore[phase]) * 10) / 10;
  }
  void engine.stop();
  return { rows, bound: heldMessageBound(DEFAULT_RANK_WINDOW, members.length), outcomes, costRatio, heapGrowthMB };
}
