import { defaultRounds } from '../../bench/rounds';

describe('rounds per cluster size', () => {
  it('is the preset for n = 4, 7, 16, 64 and about as long a run for any other n', () => {
    expect([4, 7, 16, 64].map(defaultRounds)).toEqual([400, 200, 60, 6]);
    // 3000 / n², at least 4.
    expect(defaultRounds(5)).toBe(120);
    expect(defaultRounds(100)).toBe(4);
  });
});
