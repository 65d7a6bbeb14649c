// The live view's run line: the simulate command that makes the run shown,
// and once it ends what identifies it (verdict, heights, trace digest), to
// set beside `simulate --json` with the same options (`outcome` of the
// server's batches, visualizer/live/runOutcome.ts). app.js calls `reset` on
// each hello and `render` when a batch arrives.
'use strict';

window.liveViewRun = (() => {
  const dom = {
    root: document.getElementById('run'),
    command: document.getElementById('run-command'),
    outcome: document.getElementById('run-outcome'),
  };

  function reset(cluster) {
    const command = cluster && cluster.command;
    dom.root.hidden = !command;
    dom.command.textContent = command || '';
    render(null, []);
  }

  function render(outcome, faults) {
    const byHand = (faults || []).filter((fault) => fault.byHand);
    dom.root.dataset.changedByHand = String(byHand.length > 0);
    dom.command.title = byHand.length > 0 ? 'faults set by hand since: this command does not replay the run shown' : '';
    const data = dom.outcome.dataset;
    data.verdict = outcome ? outcome.verdict : '';
    data.traceDigest = outcome ? outcome.traceDigest : '';
    data.simulatedMs = outcome ? String(outcome.simulatedMs) : '';
    data.roundsFinalized = outcome ? JSON.stringify(outcome.roundsFinalized) : '';
    const note = byHand.length === 0 ? '' : ` · changed by hand (${byHand.map((fault) => `${fault.kind} ${fault.node} at ${Math.round(fault.at)} ms`).join(', ')}): the command above does not replay it`;
    if (!outcome) {
      dom.outcome.textContent = `running…${note}`;
      return;
    }
    const heights = Object.entries(outcome.roundsFinalized)
      .map(([node, rounds]) => `${node} ${rounds}`)
      .join(', ');
    const why = outcome.verdict === 'violation' ? `: ${outcome.violations[0]}` : outcome.verdict === 'stalled' ? `: ${outcome.stallReason}` : '';
    dom.outcome.textContent =
      `${outcome.verdict}${why} · ${Math.round(outcome.simulatedMs)} simulated ms, ${outcome.events} events · ` +
      `heights ${heights} · trace ${outcome.traceDigest.slice(0, 16)}…${note}`;
    dom.outcome.title = `trace digest ${outcome.traceDigest}`;
  }

  return { reset, render };
})();
