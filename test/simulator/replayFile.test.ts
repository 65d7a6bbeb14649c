import { resolveOptions } from '../../simulator/options';
import { replayFromReport } from '../../simulator/replayFile';

/** A report as `simulate --json` writes it, reduced to what a replay reads. */
function written(options: ReturnType<typeof resolveOptions>, rest: object = {}): unknown {
  return JSON.parse(JSON.stringify({ options, violations: [], stalled: false, roundsFinalized: { n0: 3, n1: 4 }, traceDigest: 'd', ...rest }));
}

describe('replayFromReport', () => {
  it('gives back the resolved options, a partition that never heals included (JSON writes its Infinity as null)', () => {
    const options = resolveOptions({ seed: 5, rounds: 3, partitions: [{ from: 100, to: Number.POSITIVE_INFINITY, groups: [['n0']] }], electionTiming: { heartbeatIntervalMs: 40 } });
    const replay = replayFromReport(written(options), 'run.json');
    expect(replay.options).toEqual(options);
    expect([replay.wentWrongAt, replay.outcome]).toEqual([null, 'reached its target']);
  });

  it("says where the run went wrong: the first violation's rank, else a stall's frontier", () => {
    const options = resolveOptions({});
    const violation = { kind: 'agreement', rank: 7, nodes: ['n1', 'n2'], detail: 'two frames' };
    expect(replayFromReport(written(options, { violations: [violation] }), 'f')).toMatchObject({ wentWrongAt: 7, outcome: 'agreement violation at 7' });
    expect(replayFromReport(written(options, { stalled: true }), 'f')).toMatchObject({ wentWrongAt: 4, outcome: 'stall at height 4' });
  });
});
