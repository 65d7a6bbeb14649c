import { roundMachine } from '../../machines/round.machine';
import { ROUND_STATES } from '../../machines/round.types';
import { overviewDot, overviewModel, overviewSvg, ROUND_EVERYWHERE_EVENTS } from '../../visualizer/overviewDiagram';
import { SPEC_TRANSITIONS, transitionKey } from '../round/model/specTable';

describe("the live view's overview of the round machine", () => {
  const overview = overviewModel(roundMachine, ROUND_EVERYWHERE_EVENTS);

  test('has one box per top-level state, in SPEC §2.2 order', () => {
    expect(overview.states).toEqual([...ROUND_STATES]);
  });

  test('draws exactly the SPEC §2.2 and §2.8 transitions, but those from every running state (stop, induce_sync), which it names below', () => {
    const drawn = overview.edges.flatMap((edge) => edge.events.map((event) => `${edge.source} --${event}--> ${edge.target}`));
    const expected = SPEC_TRANSITIONS.filter((row) => !(ROUND_EVERYWHERE_EVENTS as readonly string[]).includes(row.event)).map(transitionKey);
    expect(drawn.sort()).toEqual(expected.sort());
    expect(overview.omitted).toEqual(['stop', 'induce_sync']);
  });

  test('joins the events of one pair of states on one edge', () => {
    const events = (source: string, target: string) =>
      overview.edges.find((edge) => edge.source === source && edge.target === target)?.events;
    expect(events('voting', 'voting')).toEqual(['proposal_received', 'vote_received', 'confirmation_received', 'certificate_received', 'voting_timeout']);
    // The round change: every way out of an attempt, on the one arrow back to proving.
    expect(events('voting', 'proving')).toEqual([
      'proposal_received',
      'vote_received',
      'confirmation_received',
      'attempt_timeout',
      'attempt_failed',
    ]);
    // Finalizing tallies nothing, so only its timer or skipping ahead ends its attempt, and no commit leaves it.
    expect(events('finalizing', 'proving')).toEqual(['proposal_received', 'vote_received', 'confirmation_received', 'attempt_timeout']);
    expect(events('finalizing', 'verifying')).toEqual(['aggregation_done']);
  });

  test('gives each state SVG group the classes the page highlights by', async () => {
    expect(overviewDot(overview)).toContain('"voting" [class="state state-voting"];');
    const svg = await overviewSvg(roundMachine, ROUND_EVERYWHERE_EVENTS);
    const groups = [...svg.matchAll(/<g id="node\d+" class="node state state&#45;(\w+)">/g)].map((match) => match[1]);
    expect(groups).toEqual([...ROUND_STATES]);
  });
});
