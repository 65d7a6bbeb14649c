import type { UnsafeRoundRule } from '../../examples/ledger/LedgerNode';
import type { SimulationOptions } from '../../simulator/options';

/**
 * Split-commit plan: the attack locks exist for (`split-commit`: half the
 * cluster locks on a value, one of them commits it late, while the rest are
 * offered another), on n = 4 with latency 5–50 ms and 5 % loss.
 */
export function splitCommitPlan(seed: number, unsafeRule?: UnsafeRoundRule): Partial<SimulationOptions> {
  return {
    seed,
    nodes: 4,
    byzantine: 1,
    behaviour: 'split-commit',
    latency: { min: 5, max: 50 },
    dropRate: 0.05,
    rounds: 30,
    unsafeRule,
  };
}
