import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ENTRIES, ERROR_ACROSS_MODULE_SYSTEMS_SCRIPT, SAME_OBJECTS_SCRIPT, TINY_ENGINE } from './support/scripts';

// These tests load the BUILT package (dist/, made by `npm run build`, which
// `npm test` runs first) by its name, the way a user's code would.
const root = join(__dirname, '..', '..');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('the built package', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    }
  });

  it('loads from CommonJS with require()', () => {
    const out = node([
      '-e',
      "const p = require('statechart-consensus'); console.log(typeof p.createConsensusEngine, p.ROUND_STATES.length, p.roundMachine.id)",
    ]);
    expect(out).toBe('function 11 round');
  });

  it('loads from an ES module with import', () => {
    const out = node([
      '--input-type=module',
      '-e',
      "import { createConsensusEngine, ROUND_STATES, roundMachine } from 'statechart-consensus'; console.log(typeof createConsensusEngine, ROUND_STATES.length, roundMachine.id)",
    ]);
    expect(out).toBe('function 11 round');
  });

  it('runs an engine from the ES module build', () => {
    const script = `
      import { createConsensusEngine, SimulatedClock, MalformedMessageError } from 'statechart-consensus';
      ${TINY_ENGINE}
      let refused = '';
      try { engine.receiveProposal(u('b'), {}); } catch (e) { refused = e instanceof MalformedMessageError ? e.code : 'other'; }
      engine.start();
      console.log(engine.getState(), refused);
    `;
    expect(node(['--input-type=module', '-e', script])).toBe('starting malformed');
  });

  it('gives import and require of each entry the same objects, shared between the entries too', () => {
    const result = JSON.parse(node(['--input-type=module', '-e', SAME_OBJECTS_SCRIPT])) as Record<string, { names: number }>;
    expect(Object.keys(result)).toEqual(ENTRIES);
    for (const entry of ENTRIES) {
      expect([entry, result[entry]]).toEqual([entry, { names: expect.any(Number), sameNames: true, differ: [], differFromOtherEntries: [] }]);
      expect(result[entry]!.names).toBeGreaterThan(40);
    }
  });

  it('throws, from an engine made through require, errors that are instances of the classes import gives', () => {
    expect(node(['--input-type=module', '-e', ERROR_ACROSS_MODULE_SYSTEMS_SCRIPT])).toBe('true true true malformed');
  });

  it('ships type declarations that resolve for both CommonJS and ES module consumers', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    // Throws, with tsc's diagnostics, if either consumer fails to type-check.
    node([tsc, '-p', join(root, 'test', 'package', 'consumer', 'tsconfig.json')]);
  });
});
