import { sweepPlan } from '../../simulator/sweep';
import { SERVICES_SWEEP_FILES, servicesSweepSeeds } from './servicesSweepCase';

describe('the services sweep’s seeds', () => {
  it('cover 1 to 300 once, and every file meets every cluster size and every Byzantine behaviour', () => {
    const all = Array.from({ length: SERVICES_SWEEP_FILES }, (_, i) => servicesSweepSeeds(i + 1)).flat();
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    for (let file = 1; file <= SERVICES_SWEEP_FILES; file += 1) {
      const plans = servicesSweepSeeds(file).map((seed) => sweepPlan(seed, 10));
      expect(new Set(plans.map((plan) => plan.nodes))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      // Nine behaviours and one block without Byzantine nodes: the block decides, whatever the size.
      const blocks = servicesSweepSeeds(file).map((seed) => Math.floor((seed - 1) / 10) % 10);
      expect(new Set(blocks).size).toBe(10);
    }
  });
});
