import { LEADER, parseCrashes, resolveOptions, SimulationOptionsError } from '../../simulator/options';
import { replayCommand } from '../../simulator/replay';

const names = ['n0', 'n1', 'n2', 'n3'];

describe('simulation options for the election', () => {
  it('parses `leader` as a crash target, resolved when the crash happens, and allows several', () => {
    expect(parseCrashes('leader@2000-6000', names)).toEqual([{ node: LEADER, at: 2000, restartAt: 6000 }]);
    expect(parseCrashes('leader@100;n1@200-300;leader@400', names)).toEqual([
      { node: 'leader', at: 100, restartAt: null },
      { node: 'n1', at: 200, restartAt: 300 },
      { node: 'leader', at: 400, restartAt: null },
    ]);
    const options = resolveOptions({ crashes: parseCrashes('leader@100-200;leader@300-400', names) });
    expect(replayCommand(options)).toBe(
      "statechart-consensus simulate --nodes 4 --byzantine 1 --rounds 100 --seed 42 --behaviour invalid --latency 5-50 --drop 0 --crash 'leader@100-200;leader@300-400'",
    );
  });

  it('accepts --rounds 0 (the election alone), not a negative one', () => {
    expect(resolveOptions({ rounds: 0 }).rounds).toBe(0);
    expect(() => resolveOptions({ rounds: -1 })).toThrow(new SimulationOptionsError('--rounds must be a non-negative integer, got -1'));
  });

  it('checks election timing overrides against the election schema, and names them in the replay as API only', () => {
    expect(() => resolveOptions({ electionTiming: { electionTimeoutMinMs: 400 } })).toThrow(
      'electionTiming: electionTimeoutMinMs must not exceed electionTimeoutMaxMs',
    );
    expect(() => resolveOptions({ electionTiming: { heartbeatIntervalMs: 150 } })).toThrow(
      'electionTiming: heartbeatIntervalMs must be below electionTimeoutMinMs, or followers time out between heartbeats',
    );
    const options = resolveOptions({ seed: 3, electionTiming: { electionTimeoutMaxMs: 500 } });
    expect(replayCommand(options)).toBe(
      'statechart-consensus simulate --nodes 4 --byzantine 1 --rounds 100 --seed 3 --behaviour invalid --latency 5-50 --drop 0  # plus electionTiming {"electionTimeoutMaxMs":500} (API only)',
    );
  });
});
