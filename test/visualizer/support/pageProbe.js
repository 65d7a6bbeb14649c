// Injected into the live view by test/visualizer/browser.test.ts (before the
// page's own script): reads the page the way a person would, from what it
// draws, so the test can wait on conditions instead of sleeping.
'use strict';

window.liveViewProbe = {
  panels() {
    return [...document.querySelectorAll('.node-panel')].map((panel) => ({
      node: panel.dataset.node,
      state: panel.dataset.state,
      highlighted: [...panel.querySelectorAll('g.state.active')].map((group) =>
        [...group.classList].find((name) => name.startsWith('state-')).slice('state-'.length),
      ),
      role: panel.dataset.role,
      leader: panel.dataset.leader,
      finalized: Number(panel.dataset.finalized),
      partitioned: panel.dataset.partitioned,
      down: panel.dataset.down,
      byzantine: panel.dataset.byzantine,
    }));
  },

  highlightedPanels() {
    return document.querySelectorAll('.node-panel g.state.active').length;
  },

  /** From now on, every time a state of a panel's diagram becomes the highlighted one. */
  recordHighlights() {
    const seen = {};
    this.seen = seen;
    new MutationObserver((mutations) => {
      for (const mutation of mutations) {
        const group = mutation.target;
        const was = (mutation.oldValue || '').split(/\s+/);
        if (!group.classList.contains('active') || was.includes('active')) continue;
        const node = group.closest('.node-panel').dataset.node;
        const state = [...group.classList].find((name) => name.startsWith('state-')).slice('state-'.length);
        (seen[node] = seen[node] || []).push(state);
      }
    }).observe(document.getElementById('nodes'), { subtree: true, attributes: true, attributeFilter: ['class'], attributeOldValue: true });
  },

  highlights() {
    return this.seen;
  },

  /** The panels of nodes that run machines (the simulator's Byzantine nodes run none). */
  honestPanels() {
    return this.panels().filter((panel) => panel.byzantine !== 'true');
  },

  /** Every honest panel finalized `rounds` more than in `before` and its highlight moved `moves` times among `distinct` states. */
  advanced(before, rounds, moves, distinct) {
    return this.honestPanels().every((panel) => {
      const seen = this.seen[panel.node] || [];
      return panel.finalized >= before[panel.node] + rounds && seen.length >= moves && new Set(seen).size >= distinct;
    });
  },

  /** The node every honest panel names as leader, and which says it leads; null while they disagree. */
  agreedLeader() {
    const panels = this.honestPanels();
    const leaders = panels.filter((panel) => panel.role === 'leader');
    if (leaders.length !== 1) return null;
    return panels.every((panel) => panel.leader === leaders[0].node) ? leaders[0].node : null;
  },

  /** `old` is cut off and another node leads. */
  failedOver(old) {
    const panels = this.panels();
    return panels.find((panel) => panel.node === old).partitioned === 'true' && panels.some((panel) => panel.node !== old && panel.role === 'leader');
  },

  /** The other honest nodes follow `fresh`, and `old` no longer thinks it leads. */
  settled(old, fresh) {
    return this.honestPanels().every((panel) => (panel.node === old ? panel.role !== 'leader' : panel.leader === fresh));
  },

  isDown(node) {
    return this.panels().find((panel) => panel.node === node).down === 'true';
  },

  /**
   * Over `ms`: redraws per second of one panel (its data-finalized is written
   * on each), batches per second the server sent, and the most log lines any
   * panel keeps. Counts the view controls, not how long a busy machine made
   * anything take.
   */
  async responsiveness(node, ms) {
    let redraws = 0;
    const observer = new MutationObserver((mutations) => (redraws += mutations.length));
    observer.observe(document.querySelector(`.node-panel[data-node="${node}"]`), { attributes: true, attributeFilter: ['data-finalized'] });
    const sentBefore = this.sent.length;
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    observer.disconnect();
    const seconds = (performance.now() - start) / 1000;
    // The server's cadence, by its own send times: batches it sent late and a
    // busy page received in a burst are not counted twice in one window.
    const sent = this.sent.slice(sentBefore);
    const span = sent.length < 2 ? 0 : (sent[sent.length - 1] - sent[0]) / 1000;
    const logLines = Math.max(...[...document.querySelectorAll('.node-panel ol.log')].map((log) => log.children.length));
    return { redrawsPerSecond: redraws / seconds, batchesPerSecond: span === 0 ? 0 : (sent.length - 1) / span, logLines };
  },

  /** The coordination services panel as drawn: whose applied state, its lock rows and its barriers' bars. */
  services() {
    const root = document.getElementById('services');
    return {
      hidden: root.hidden,
      node: root.dataset.node,
      applied: Number(root.dataset.applied || 0),
      source: root.querySelector('#services-source').textContent,
      locks: [...root.querySelectorAll('#locks tr[data-lock]')].map((row) => ({
        lock: row.dataset.lock,
        holder: row.dataset.holder,
        token: Number(row.dataset.token || 0),
        text: row.textContent,
      })),
      barriers: [...root.querySelectorAll('#barriers li.barrier')].map((item) => ({
        barrier: item.dataset.barrier,
        generation: Number(item.dataset.generation),
        arrived: Number(item.dataset.arrived),
        required: Number(item.dataset.required),
        last: item.dataset.last,
        fill: parseFloat(item.querySelector('.bar .fill').style.width),
        text: item.textContent,
      })),
    };
  },

  /** The panel shows `node`'s services (any node's for ''), with a lock held and a barrier some participant arrived at. */
  showsServices(node) {
    const view = this.services();
    return (
      !view.hidden &&
      (node === '' || view.node === node) &&
      view.locks.some((lock) => lock.holder !== '') &&
      view.barriers.some((barrier) => barrier.arrived > 0)
    );
  },

  /** The links the network picture draws cut, as `a|b` in node order. */
  cutLinks() {
    return [...document.querySelectorAll('#links line.link[data-cut="true"]')].map((line) => `${line.dataset.a}|${line.dataset.b}`);
  },

  /** Simulated seconds as the toolbar shows them. */
  seconds() {
    return parseFloat(document.getElementById('now').textContent) || 0;
  },

  /** The run line: its command, and once it ended what identifies it (null before). */
  run() {
    const outcome = document.getElementById('run-outcome');
    return {
      command: document.getElementById('run-command').textContent,
      ended: outcome.dataset.verdict !== '',
      verdict: outcome.dataset.verdict,
      traceDigest: outcome.dataset.traceDigest,
      simulatedMs: Number(outcome.dataset.simulatedMs || 0),
      roundsFinalized: outcome.dataset.roundsFinalized ? JSON.parse(outcome.dataset.roundsFinalized) : null,
    };
  },

  /** Server send times of the batches the page's WebSocket has received (recorded by the wrapper below). */
  sent: [],
};

// Count what the server sends: wrap the page's WebSocket before its script makes one.
{
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const message = JSON.parse(event.data);
        if (message.type === '@visualizer.batch') window.liveViewProbe.sent.push(message.sentAt);
      });
    }
  };
}
