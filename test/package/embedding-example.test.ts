import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEmbeddedNode } from '../../examples/embedding';

const root = join(__dirname, '..', '..');

describe('the README embedding example', () => {
  it('compiles and commits the requested rounds with the expected totals', async () => {
    const debug = jest.spyOn(console, 'debug').mockImplementation(() => {});
    const blocks = await runEmbeddedNode(3);
    debug.mockRestore();
    expect(blocks.map((b) => [b.height, b.total])).toEqual([
      [1, 15],
      [2, 30],
      [3, 45],
    ]);
  });

  it('is quoted verbatim in the README', () => {
    const example = readFileSync(join(root, 'examples', 'embedding.ts'), 'utf8').trim();
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain(example);
  });
});
