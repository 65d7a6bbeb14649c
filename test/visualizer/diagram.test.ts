import { createActor } from 'xstate';
import { describeMachine, toDot, toMermaid, toSvg, type MachineModel } from '../../visualizer/diagram';
import { transitionLabel } from '../../visualizer/diagram/model';
import { awkwardNamesFixture, roundFixture } from './fixture.machine';

const ROUND_MERMAID = `stateDiagram-v2
  state round {
    [*] --> idle
    idle
    state proposing {
      [*] --> waiting
      waiting
      validating
      waiting --> validating : PROPOSAL [isLeader] / broadcastProposal
      waiting --> validating : PROPOSAL [not(isLeader)]
    }
    proposing : entry / resetTimer
    state voting {
      state prevote {
        [*] --> voting_prevote_collecting
        state "collecting" as voting_prevote_collecting
        voting_prevote_collecting : VOTE / recordVote
        prevoted
        prevoted --> [*]
        voting_prevote_collecting --> prevoted : VOTE [hasQuorum]
        voting_prevote_collecting --> voting_prevote_collecting : TICK / rebroadcast (reenter)
      }
      --
      state precommit {
        [*] --> voting_precommit_collecting
        state "collecting" as voting_precommit_collecting
        precommitted
        precommitted --> [*]
        voting_precommit_collecting --> precommitted : VOTE [or(hasQuorum, and(isLeader, not(isStale)))]
      }
    }
    proving
    proving : invoke proveNextState
    committed
    committed --> [*]
    idle --> proposing : START
    waiting --> voting : after proposeTimeout / logTimeout
    validating --> voting : always [isValid]
    voting --> proving : done
    proving --> committed : done#58; proveNextState / storeProof
    proving --> idle : error#58; proveNextState
  }
  round : PING / replyPong
`;

const ROUND_DOT = String.raw`digraph "round" {
  compound=true;
  fontname="Helvetica";
  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=9];
  subgraph "cluster_round" {
    label="round\nPING / replyPong";
    style=rounded;
    "round [*]" [shape=point];
    "round.idle" [label="idle"];
    subgraph "cluster_round.proposing" {
      label="proposing\nentry / resetTimer";
      style=rounded;
      "round.proposing [*]" [shape=point];
      "round.proposing.waiting" [label="waiting"];
      "round.proposing.validating" [label="validating"];
      "round.proposing [*]" -> "round.proposing.waiting";
    }
    subgraph "cluster_round.voting" {
      label="voting";
      style=rounded;
      "round.voting [*]" [shape=point, style=invis];
      subgraph "cluster_round.voting.prevote" {
        label="prevote";
        style="rounded,dashed";
        "round.voting.prevote [*]" [shape=point];
        "round.voting.prevote.collecting" [label="collecting\nVOTE / recordVote"];
        "round.voting.prevote.prevoted" [label="prevoted", peripheries=2];
        "round.voting.prevote [*]" -> "round.voting.prevote.collecting";
      }
      subgraph "cluster_round.voting.precommit" {
        label="precommit";
        style="rounded,dashed";
        "round.voting.precommit [*]" [shape=point];
        "round.voting.precommit.collecting" [label="collecting"];
        "round.voting.precommit.precommitted" [label="precommitted", peripheries=2];
        "round.voting.precommit [*]" -> "round.voting.precommit.collecting";
      }
    }
    "round.proving" [label="proving\ninvoke proveNextState"];
    "round.committed" [label="committed", peripheries=2];
    "round [*]" -> "round.idle";
  }
  "round.idle" -> "round.proposing [*]" [label="START", lhead="cluster_round.proposing"];
  "round.proposing.waiting" -> "round.proposing.validating" [label="PROPOSAL [isLeader] / broadcastProposal"];
  "round.proposing.waiting" -> "round.proposing.validating" [label="PROPOSAL [not(isLeader)]"];
  "round.proposing.waiting" -> "round.voting [*]" [label="after proposeTimeout / logTimeout", lhead="cluster_round.voting"];
  "round.proposing.validating" -> "round.voting [*]" [label="always [isValid]", lhead="cluster_round.voting"];
  "round.voting [*]" -> "round.proving" [label="done", ltail="cluster_round.voting"];
  "round.voting.prevote.collecting" -> "round.voting.prevote.prevoted" [label="VOTE [hasQuorum]"];
  "round.voting.prevote.collecting" -> "round.voting.prevote.collecting" [label="TICK / rebroadcast (reenter)"];
  "round.voting.precommit.collecting" -> "round.voting.precommit.precommitted" [label="VOTE [or(hasQuorum, and(isLeader, not(isStale)))]"];
  "round.proving" -> "round.committed" [label="done: proveNextState / storeProof"];
  "round.proving" -> "round.idle" [label="error: proveNextState"];
}
`;

const AWKWARD_MERMAID = `stateDiagram-v2
  state peer_link {
    [*] --> _state
    state "state" as _state
    state up_link {
      [*] --> up_link_state
      state "state" as up_link_state
    }
    _state --> up_link : peer#58;hello [anonymous]
    _state --> up_link : after 500ms
  }
`;

describe('describeMachine', () => {
  const model = describeMachine(roundFixture);

  test('lists states depth-first in definition order, with their types and initial children', () => {
    expect(model.states.map((s) => [s.id, s.type, s.initial])).toEqual([
      ['round', 'compound', 'round.idle'],
      ['round.idle', 'atomic', null],
      ['round.proposing', 'compound', 'round.proposing.waiting'],
      ['round.proposing.waiting', 'atomic', null],
      ['round.proposing.validating', 'atomic', null],
      ['round.voting', 'parallel', null],
      ['round.voting.prevote', 'compound', 'round.voting.prevote.collecting'],
      ['round.voting.prevote.collecting', 'atomic', null],
      ['round.voting.prevote.prevoted', 'final', null],
      ['round.voting.precommit', 'compound', 'round.voting.precommit.collecting'],
      ['round.voting.precommit.collecting', 'atomic', null],
      ['round.voting.precommit.precommitted', 'final', null],
      ['round.proving', 'atomic', null],
      ['round.committed', 'final', null],
    ]);
  });

  test("keeps invoked sources, author actions and delays, but not XState's own delay timers", () => {
    const state = (id: string) => model.states.find((s) => s.id === id)!;
    expect(state('round.proving').invokes).toEqual(['proveNextState']);
    expect(state('round.proposing').entry).toEqual(['resetTimer']);
    expect(state('round.proposing.waiting')).toMatchObject({ entry: [], exit: [], delays: ['proposeTimeout'] });
  });

  test('lists transitions in definition order with readable triggers and guards', () => {
    expect(model.transitions.map((t) => [t.source, t.trigger, t.guard, t.targets])).toEqual([
      ['round', 'PING', null, []],
      ['round.idle', 'START', null, ['round.proposing']],
      ['round.proposing.waiting', 'PROPOSAL', 'isLeader', ['round.proposing.validating']],
      ['round.proposing.waiting', 'PROPOSAL', 'not(isLeader)', ['round.proposing.validating']],
      ['round.proposing.waiting', 'after proposeTimeout', null, ['round.voting']],
      ['round.proposing.validating', 'always', 'isValid', ['round.voting']],
      ['round.voting', 'done', null, ['round.proving']],
      ['round.voting.prevote.collecting', 'VOTE', 'hasQuorum', ['round.voting.prevote.prevoted']],
      ['round.voting.prevote.collecting', 'VOTE', null, []],
      ['round.voting.prevote.collecting', 'TICK', null, ['round.voting.prevote.collecting']],
      [
        'round.voting.precommit.collecting',
        'VOTE',
        'or(hasQuorum, and(isLeader, not(isStale)))',
        ['round.voting.precommit.precommitted'],
      ],
      ['round.proving', 'done: proveNextState', null, ['round.committed']],
      ['round.proving', 'error: proveNextState', null, ['round.idle']],
    ]);
  });

  test('recovers the named delay of an after transition and the source of actor events', () => {
    expect(model.transitions.filter((t) => ['after', 'done.actor', 'error.actor'].includes(t.kind))).toEqual([
      {
        source: 'round.proposing.waiting',
        targets: ['round.voting'],
        eventType: 'xstate.after.proposeTimeout.round.proposing.waiting',
        kind: 'after',
        trigger: 'after proposeTimeout',
        guard: null,
        reenter: false,
        actions: ['logTimeout'],
        delay: 'proposeTimeout',
      },
      {
        source: 'round.proving',
        targets: ['round.committed'],
        eventType: 'xstate.done.actor.0.round.proving',
        kind: 'done.actor',
        trigger: 'done: proveNextState',
        guard: null,
        reenter: false,
        actions: ['storeProof'],
      },
      {
        source: 'round.proving',
        targets: ['round.idle'],
        eventType: 'xstate.error.actor.0.round.proving',
        kind: 'error.actor',
        trigger: 'error: proveNextState',
        guard: null,
        reenter: false,
        actions: [],
      },
    ]);
  });

  test('marks re-entering transitions, and eventless ones with an empty event type', () => {
    expect(model.transitions.filter((t) => t.reenter).map((t) => t.trigger)).toEqual(['TICK']);
    expect(model.transitions.filter((t) => t.kind === 'always').map((t) => t.eventType)).toEqual(['']);
  });

  test('names inline guards `anonymous` and millisecond delays `after <n>ms`', () => {
    expect(describeMachine(awkwardNamesFixture).transitions.map(transitionLabel)).toEqual([
      'peer:hello [anonymous]',
      'after 500ms',
    ]);
  });

  test('is plain data: a JSON round trip loses nothing and renders the same diagrams', () => {
    const copy = JSON.parse(JSON.stringify(model)) as MachineModel;
    expect(copy).toEqual(model);
    expect(toMermaid(copy)).toBe(toMermaid(roundFixture));
    expect(toDot(copy)).toBe(toDot(roundFixture));
  });
});

describe('toMermaid', () => {
  test('draws the fixture as nested and parallel states with labelled edges', () => {
    expect(toMermaid(roundFixture)).toBe(ROUND_MERMAID);
  });

  test('renames states Mermaid cannot take as they are, keeping their keys as labels', () => {
    expect(toMermaid(awkwardNamesFixture)).toBe(AWKWARD_MERMAID);
  });

  test.each([
    ['round', roundFixture],
    ['awkward names', awkwardNamesFixture],
  ])('output for %s is well formed: balanced blocks, escaped labels, every referenced state declared', (_, machine) => {
    expect(mermaidShape(toMermaid(machine)).problems).toEqual([]);
  });

  test('the well-formedness check itself catches what Mermaid would reject', () => {
    const broken = 'stateDiagram-v2\n  state a {\n    a --> b : x: y\n';
    expect(mermaidShape(broken).problems).toEqual([
      'unescaped label: x: y',
      '1 unclosed block(s)',
      'undeclared state: b',
    ]);
  });

  test('shows every state once and every transition once per target', () => {
    const model = describeMachine(roundFixture);
    const shape = mermaidShape(toMermaid(roundFixture));
    expect(shape.names.sort()).toEqual(model.states.map((s) => s.key).sort());
    const edges = model.transitions.flatMap((t) => t.targets.map(() => transitionLabel(t)));
    expect(shape.edgeLabels.sort()).toEqual(edges.sort());
    for (const t of model.transitions.filter((t) => t.targets.length === 0)) {
      expect(shape.descriptions).toContain(transitionLabel(t));
    }
  });
});

describe('toDot', () => {
  test('draws the fixture as clusters with initial points and labelled edges', () => {
    expect(toDot(roundFixture)).toBe(ROUND_DOT);
  });

  test('shows every state once and every transition once per target', () => {
    const model = describeMachine(roundFixture);
    const dot = toDot(roundFixture);
    const lines = dot.split('\n').map((line) => line.trim());
    for (const s of model.states) {
      const declarations = lines.filter(
        (line) => line.startsWith(`"${s.id}" [label=`) || line === `subgraph "cluster_${s.id}" {`,
      );
      expect([s.id, declarations.length]).toEqual([s.id, 1]);
    }
    const edgeLabels = [...dot.matchAll(/ -> .*\[label="([^"]*)"/g)].map((m) => m[1]!);
    const edges = model.transitions.flatMap((t) => t.targets.map(() => transitionLabel(t)));
    expect(edgeLabels.sort()).toEqual(edges.sort());
  });
});

describe('determinism', () => {
  test('the same machine gives byte-identical output on every call', () => {
    expect(JSON.stringify(describeMachine(roundFixture))).toBe(JSON.stringify(describeMachine(roundFixture)));
    expect(toMermaid(roundFixture)).toBe(toMermaid(roundFixture));
    expect(toDot(roundFixture)).toBe(toDot(roundFixture));
  });

  test('running the machine does not change its diagrams', () => {
    const before = [toMermaid(roundFixture), toDot(roundFixture)];
    const actor = createActor(roundFixture).start();
    actor.send({ type: 'START' });
    actor.send({ type: 'PROPOSAL' });
    actor.send({ type: 'TICK' });
    actor.stop();
    expect([toMermaid(roundFixture), toDot(roundFixture)]).toEqual(before);
  });
});

describe('toSvg', () => {
  test('renders an SVG document offline that names every state', async () => {
    const svg = await toSvg(roundFixture);
    expect(svg).toMatch(/^<\?xml[^]*<svg /);
    for (const s of describeMachine(roundFixture).states) expect(svg).toContain(`>${s.key}</text>`);
  });
});

/**
 * Reads back the subset of Mermaid's stateDiagram-v2 grammar that toMermaid
 * writes, line by line, and reports anything outside it.
 */
function mermaidShape(text: string) {
  const problems: string[] = [];
  const declared = new Set<string>();
  const referenced: string[] = [];
  const names: string[] = [];
  const edgeLabels: string[] = [];
  const descriptions: string[] = [];
  const label = (escaped: string): string => {
    // Mermaid ends a label at ':' or ';'; '#' may only start an entity code.
    if (/[:;#{}"<>]/.test(escaped.replace(/#\d+;/g, ''))) problems.push(`unescaped label: ${escaped}`);
    return escaped.replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  };
  const [header, ...body] = text.trimEnd().split('\n');
  if (header !== 'stateDiagram-v2') problems.push(`header: ${header}`);
  let depth = 0;
  for (const line of body.map((l) => l.trim())) {
    let m: RegExpExecArray | null;
    if ((m = /^state (\w+) \{$/.exec(line))) {
      declared.add(m[1]!);
      names.push(m[1]!);
      depth++;
    } else if (line === '}') {
      if (--depth < 0) problems.push('unbalanced }');
    } else if (line === '--') {
      if (depth === 0) problems.push('-- outside a state');
    } else if ((m = /^state "([^"]*)" as (\w+)$/.exec(line))) {
      declared.add(m[2]!);
      names.push(label(m[1]!));
    } else if ((m = /^(\w+)$/.exec(line))) {
      declared.add(m[1]!);
      names.push(m[1]!);
    } else if ((m = /^(\[\*\]|\w+) --> (\[\*\]|\w+)(?: : (.+))?$/.exec(line))) {
      referenced.push(m[1]!, m[2]!);
      if (m[3] !== undefined) edgeLabels.push(label(m[3]));
    } else if ((m = /^(\w+) : (.+)$/.exec(line))) {
      referenced.push(m[1]!);
      descriptions.push(label(m[2]!));
    } else {
      problems.push(`unrecognised line: ${line}`);
    }
  }
  if (depth !== 0) problems.push(`${depth} unclosed block(s)`);
  for (const id of referenced) if (id !== '[*]' && !declared.has(id)) problems.push(`undeclared state: ${id}`);
  return { problems, names, edgeLabels, descriptions };
}
