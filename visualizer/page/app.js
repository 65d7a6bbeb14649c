// The live view's page: plain JavaScript, no build step. It reads the
// inspection events the Stately inspector reads (@xstate.actor,
// @xstate.snapshot, @xstate.event) from the server's /live socket, so it draws
// any app that streams them; when the server runs a simulated cluster it also
// gets the cluster's status and offers its controls.
//
// Message shapes: visualizer/protocol.ts and visualizer/inspector.ts.
'use strict';

(() => {
  /** At most this many redraws per second, however fast events arrive. */
  const RENDER_INTERVAL_MS = 100;
  /** Lines kept per node's log. */
  const LOG_LINES = 60;
  /** Actor systems drawn at once when relaying an app's stream (the oldest go first). */
  const MAX_PANELS = 64;

  const dom = {
    nodes: document.getElementById('nodes'),
    template: document.getElementById('panel-template'),
    playback: document.getElementById('playback'),
    pause: document.getElementById('pause'),
    step: document.getElementById('step'),
    seek: document.getElementById('seek'),
    seekHeight: document.getElementById('seek-height'),
    seekGo: document.getElementById('seek-go'),
    speed: document.getElementById('speed'),
    connection: document.getElementById('connection'),
  };

  const { describe, splitValue, worthLogging } = window.liveViewDescribe;

  let view = freshView();
  let socket = null;
  let overviewTemplate = null;
  let overviewUrl = null;

  function freshView() {
    return {
      mode: null,
      cluster: null,
      clock: null,
      /** Node name → the server's status for it (cluster mode only). */
      status: new Map(),
      /** Session id → { sessionId, rootId, kind: 'root' | 'round' | 'election', name }: only the actors drawn. */
      sessions: new Map(),
      /** Panel key (node id) → panel. */
      panels: new Map(),
      /** Root session id → panel key. */
      roots: new Map(),
      /** Cut links and the run's outcome, from the latest batch. */
      links: null,
      outcome: null,
      faults: null,
      toolbarDirty: true,
      servicesDirty: false,
      networkDirty: false,
    };
  }

  // ---- connection ------------------------------------------------------

  function connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`;
    socket = new WebSocket(url);
    socket.addEventListener('open', () => setConnection(true));
    socket.addEventListener('close', () => {
      setConnection(false);
      setTimeout(connect, 1000);
    });
    socket.addEventListener('message', (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      receive(data);
    });
  }

  function setConnection(connected) {
    dom.connection.dataset.connected = String(connected);
    dom.connection.textContent = connected ? 'connected' : 'disconnected, retrying…';
  }

  function sendControl(action, extra) {
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: 'control', action, ...extra }));
  }

  function receive(message) {
    if (Array.isArray(message)) {
      for (const event of message) applyInspection(event);
    } else if (message.type === '@visualizer.hello') {
      hello(message);
    } else if (message.type === '@visualizer.batch') {
      if (Array.isArray(message.status)) {
        applyStatus(message.status);
        view.servicesDirty = true;
      }
      for (const event of message.events) applyInspection(event);
      if (message.clock) view.clock = message.clock;
      if (message.links !== undefined) view.links = message.links;
      if (message.outcome !== undefined) view.outcome = message.outcome;
      if (message.faults !== undefined) view.faults = message.faults;
      view.networkDirty = true;
      view.toolbarDirty = true;
    } else {
      applyInspection(message);
    }
    scheduleRender();
  }

  function hello(message) {
    for (const panel of view.panels.values()) panel.el.root.remove();
    view = freshView();
    view.mode = message.mode;
    view.cluster = message.cluster;
    dom.speed.replaceChildren(
      ...message.speeds.map((speed) => {
        const option = document.createElement('option');
        option.value = String(speed);
        option.textContent = `${speed}×`;
        return option;
      }),
    );
    const controls = message.mode === 'cluster';
    for (const control of [dom.pause, dom.step, dom.speed, dom.seekHeight, dom.seekGo]) control.disabled = !controls;
    // Relaying an app, there is no clock here to pause or speed up.
    dom.playback.hidden = !controls;
    if (message.cluster) for (const name of message.cluster.nodes) panelFor(name);
    window.liveViewServices.reset(message.cluster);
    window.liveViewTopology.reset(message.cluster);
    window.liveViewRun.reset(message.cluster);
    if (overviewUrl !== message.overview) loadOverview(message.overview);
  }

  async function loadOverview(url) {
    overviewUrl = url;
    const response = await fetch(url);
    const text = await response.text();
    const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    // Sized by the panel, not by Graphviz's points.
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    overviewTemplate = svg;
    for (const panel of view.panels.values()) attachDiagram(panel);
    scheduleRender();
  }

  // ---- the model ---------------------------------------------------------

  function applyStatus(statuses) {
    view.status = new Map(statuses.map((status) => [status.name, status]));
    for (const status of statuses) {
      const panel = panelFor(status.name);
      if (status.rootId !== null && status.rootId !== panel.rootId) bindRoot(panel, status.rootId);
      panel.dirty = true;
    }
  }

  function applyInspection(event) {
    if (event === null || typeof event !== 'object' || typeof event.sessionId !== 'string') return;
    switch (event.type) {
      case '@xstate.actor':
        return registerActor(event);
      case '@xstate.snapshot':
        return applySnapshot(event);
      case '@xstate.event':
        return applyEvent(event);
    }
  }

  /** Which node an actor system is: its root's `context.id` (a node) or `selfId` (a bare round engine). */
  function nodeKeyOf(event) {
    for (const [name, status] of view.status) if (status.rootId === event.sessionId) return name;
    const context = event.snapshot && event.snapshot.context;
    if (context && typeof context.id === 'string') return context.id;
    if (context && typeof context.selfId === 'string') return context.selfId;
    return event.sessionId;
  }

  function registerActor(event) {
    const rootId = event.rootId || event.sessionId;
    if (event.sessionId === rootId) {
      const key = view.roots.get(rootId) || nodeKeyOf(event);
      const panel = panelFor(key);
      if (panel.rootId !== rootId) bindRoot(panel, rootId);
      view.sessions.set(rootId, { sessionId: rootId, rootId, kind: 'root', name: event.name });
      // A bare round engine is its own root.
      if (event.name === 'round') panel.roundId = rootId;
      applySnapshotTo(panel, view.sessions.get(rootId), event.snapshot, null, event);
      return;
    }
    const key = view.roots.get(rootId);
    if (key === undefined) return;
    const panel = view.panels.get(key);
    if (event.parentId !== rootId) return;
    if (event.name === 'round' || event.name === 'election') {
      const session = { sessionId: event.sessionId, rootId, kind: event.name, name: event.name };
      view.sessions.set(event.sessionId, session);
      if (event.name === 'round') panel.roundId = event.sessionId;
      else panel.electionId = event.sessionId;
      applySnapshotTo(panel, session, event.snapshot, null, event);
    }
  }

  function bindRoot(panel, rootId) {
    if (panel.rootId !== null) {
      for (const [sessionId, session] of view.sessions) if (session.rootId === panel.rootId) view.sessions.delete(sessionId);
      view.roots.delete(panel.rootId);
      log(panel, null, 'fault', `new actor system ${rootId} (was ${panel.rootId})`);
    }
    panel.rootId = rootId;
    panel.roundId = null;
    panel.electionId = null;
    view.roots.set(rootId, panel.key);
    panel.dirty = true;
  }

  function applySnapshot(event) {
    const session = view.sessions.get(event.sessionId);
    if (session === undefined) return;
    const panel = view.panels.get(view.roots.get(session.rootId));
    if (panel === undefined) return;
    applySnapshotTo(panel, session, event.snapshot, event.event, event);
  }

  function applySnapshotTo(panel, session, snapshot, cause, event) {
    if (!snapshot || typeof snapshot !== 'object') return;
    const context = snapshot.context && typeof snapshot.context === 'object' ? snapshot.context : {};
    const isRound = session.sessionId === panel.roundId;
    if (isRound) {
      const { top, sub } = splitValue(snapshot.value);
      if (top !== panel.top && panel.top !== null) {
        log(panel, event, 'transition', `round: ${panel.top} → ${top}${cause ? ` (${describe(cause)})` : ''}`);
        // States passed through between two redraws are drawn as a trail, or the short ones would never show.
        panel.trail.add(panel.top);
      }
      panel.top = top;
      panel.sub = sub;
      if (typeof context.activeRank === 'number') {
        if (panel.lastRank !== null && context.activeRank > panel.lastRank) panel.finalized += context.activeRank - panel.lastRank;
        panel.lastRank = context.activeRank;
        panel.rank = context.activeRank;
      }
    }
    const isElection = session.sessionId === panel.electionId;
    // The node machine mirrors the election's role, term and leader; the election's own snapshot wins.
    if (isElection || (session.kind === 'root' && panel.electionId === null)) {
      const role = typeof context.role === 'string' ? context.role : panel.role;
      const term = typeof context.term === 'number' ? context.term : panel.term;
      const leader = context.leader === null || typeof context.leader === 'string' ? context.leader : panel.leader;
      if (role !== panel.role && panel.role !== null) log(panel, event, 'election', `election: ${panel.role} → ${role} (term ${term})`);
      else if (leader !== panel.leader && leader !== undefined && panel.role !== null) {
        log(panel, event, 'election', `election: leader ${leader === null ? 'none' : leader} (term ${term})`);
      }
      panel.role = role;
      panel.term = term;
      panel.leader = leader === undefined ? null : leader;
    }
    panel.dirty = true;
  }

  function applyEvent(event) {
    const session = view.sessions.get(event.sessionId);
    if (session === undefined) return;
    const panel = view.panels.get(view.roots.get(session.rootId));
    if (panel === undefined) return;
    const who = session.kind === 'root' ? 'node' : session.kind;
    if (!worthLogging(who, event.event)) return;
    log(panel, event, '', `${who} ← ${describe(event.event)}`);
  }

  function log(panel, event, cls, text) {
    const at = event && typeof event.at === 'number' ? `${Math.round(event.at)}` : event && event.createdAt ? new Date(Number(event.createdAt)).toISOString().slice(11, 23) : '';
    panel.log.push({ cls, text, at });
    if (panel.log.length > LOG_LINES) panel.log.splice(0, panel.log.length - LOG_LINES);
    panel.logVersion += 1;
    panel.dirty = true;
  }

  // ---- panels ------------------------------------------------------------

  function panelFor(key) {
    let panel = view.panels.get(key);
    if (panel !== undefined) return panel;
    if (view.mode !== 'cluster' && view.panels.size >= MAX_PANELS) dropOldestPanel();
    const root = dom.template.content.firstElementChild.cloneNode(true);
    root.dataset.node = key;
    const el = {
      root,
      name: root.querySelector('.node-name'),
      role: root.querySelector('.badge.role'),
      byzantine: root.querySelector('.badge.byzantine'),
      fault: root.querySelector('.badge.fault'),
      term: root.querySelector('.term'),
      leader: root.querySelector('.leader'),
      rank: root.querySelector('.rank'),
      finalized: root.querySelector('.finalized'),
      stateName: root.querySelector('.state-name'),
      diagram: root.querySelector('.diagram'),
      controls: root.querySelector('.node-controls'),
      partition: root.querySelector('button.partition'),
      crash: root.querySelector('button.crash'),
      log: root.querySelector('.log'),
    };
    el.name.textContent = key;
    el.partition.addEventListener('click', () => {
      const status = view.status.get(key);
      sendControl(status && status.isolated ? 'heal' : 'partition', { node: key });
    });
    el.crash.addEventListener('click', () => {
      const status = view.status.get(key);
      sendControl(status && status.down ? 'restart' : 'crash', { node: key });
    });
    panel = {
      key,
      rootId: null,
      roundId: null,
      electionId: null,
      role: null,
      term: null,
      leader: null,
      top: null,
      sub: null,
      rank: null,
      lastRank: null,
      finalized: 0,
      log: [],
      logVersion: 0,
      renderedLogVersion: -1,
      states: new Map(),
      highlighted: null,
      /** Top-level states left since the last redraw. */
      trail: new Set(),
      drawnTrail: [],
      el,
      dirty: true,
    };
    view.panels.set(key, panel);
    insertSorted(panel);
    attachDiagram(panel);
    return panel;
  }

  function dropOldestPanel() {
    const [key, panel] = view.panels.entries().next().value;
    panel.el.root.remove();
    view.panels.delete(key);
    if (panel.rootId !== null) view.roots.delete(panel.rootId);
  }

  const collator = new Intl.Collator(undefined, { numeric: true });
  function insertSorted(panel) {
    const after = [...dom.nodes.children].find((child) => collator.compare(child.dataset.node, panel.key) > 0);
    dom.nodes.insertBefore(panel.el.root, after || null);
  }

  function attachDiagram(panel) {
    if (overviewTemplate === null || panel.states.size > 0) return;
    const svg = overviewTemplate.cloneNode(true);
    panel.el.diagram.replaceChildren(svg);
    for (const group of svg.querySelectorAll('g.state')) {
      const key = [...group.classList].find((name) => name.startsWith('state-'));
      if (key) panel.states.set(key.slice('state-'.length), group);
    }
    panel.highlighted = null;
    panel.dirty = true;
  }

  // ---- rendering -----------------------------------------------------------

  let renderTimer = null;
  let lastRender = 0;

  function scheduleRender() {
    if (renderTimer !== null) return;
    const wait = Math.max(0, RENDER_INTERVAL_MS - (performance.now() - lastRender));
    renderTimer = setTimeout(() => {
      renderTimer = null;
      lastRender = performance.now();
      render();
    }, wait);
  }

  function render() {
    if (view.toolbarDirty) {
      view.toolbarDirty = false;
      window.liveViewToolbar.render(view);
    }
    if (view.networkDirty) {
      view.networkDirty = false;
      window.liveViewTopology.render(view.status, view.links);
      window.liveViewRun.render(view.outcome, view.faults);
    }
    if (view.servicesDirty) {
      view.servicesDirty = false;
      window.liveViewServices.render(view.status);
    }
    let again = false;
    for (const panel of view.panels.values()) {
      if (!panel.dirty) continue;
      renderPanel(panel);
      // Next time round, the trail drawn now is cleared.
      if (panel.drawnTrail.length > 0) {
        panel.dirty = true;
        again = true;
      }
    }
    if (again) scheduleRender();
  }

  function renderPanel(panel) {
    panel.dirty = false;
    const { el } = panel;
    const status = view.status.get(panel.key);
    const down = status ? status.down : false;
    const partitioned = status ? status.partitioned : false;
    const role = down ? 'stopped' : panel.role || 'unknown';
    const data = el.root.dataset;
    data.root = panel.rootId || '';
    data.state = panel.top || '';
    data.sub = panel.sub || '';
    data.role = role;
    data.term = panel.term === null ? '' : String(panel.term);
    data.leader = panel.leader || '';
    data.rank = panel.rank === null ? '' : String(panel.rank);
    data.finalized = String(panel.finalized);
    data.down = String(down);
    data.partitioned = String(partitioned);
    data.byzantine = String(status ? status.byzantine : false);

    // A simulator run's Byzantine node is its behaviour, with no machines to draw.
    const behaviour = status && status.byzantine && view.cluster && view.cluster.behaviour;
    el.role.textContent = behaviour ? `${behaviour}: no machines` : role.replace('_', '-');
    el.diagram.hidden = Boolean(behaviour);
    el.role.dataset.role = role;
    el.byzantine.hidden = !(status && status.byzantine);
    el.fault.hidden = !(down || partitioned);
    el.fault.textContent = down ? 'crashed' : 'partitioned';
    el.term.textContent = panel.term === null ? '–' : String(panel.term);
    el.leader.textContent = panel.leader || '–';
    el.rank.textContent = panel.rank === null ? '–' : String(panel.rank);
    el.finalized.textContent = String(panel.finalized);
    el.stateName.textContent = panel.top === null ? '–' : panel.sub ? `${panel.top} · ${panel.sub}` : panel.top;
    el.controls.hidden = !status || !(view.cluster && view.cluster.manualFaults);
    // A Byzantine node that runs no machines has no node to crash; it can still be cut off.
    el.crash.hidden = Boolean(behaviour);
    // Heal undoes a cut made by hand; a planned partition heals when its options say.
    el.partition.textContent = status && status.isolated ? 'heal' : 'partition';
    el.partition.disabled = down;
    el.crash.textContent = down ? 'restart' : 'crash';

    const highlight = down ? null : panel.top;
    if (highlight !== panel.highlighted) {
      if (panel.highlighted !== null) panel.states.get(panel.highlighted)?.classList.remove('active');
      const group = highlight === null ? undefined : panel.states.get(highlight);
      group?.classList.add('active');
      panel.highlighted = group ? highlight : null;
    }
    for (const state of panel.drawnTrail) panel.states.get(state)?.classList.remove('recent');
    panel.drawnTrail = [...panel.trail].filter((state) => state !== highlight);
    for (const state of panel.drawnTrail) panel.states.get(state)?.classList.add('recent');
    panel.trail.clear();

    if (panel.renderedLogVersion !== panel.logVersion) {
      panel.renderedLogVersion = panel.logVersion;
      const atBottom = el.log.scrollTop + el.log.clientHeight >= el.log.scrollHeight - 4;
      const items = panel.log.map((line) => {
        const item = document.createElement('li');
        if (line.cls) item.className = line.cls;
        const time = document.createElement('span');
        time.className = 't';
        time.textContent = line.at ? `${line.at} ` : '';
        item.append(time, line.text);
        item.title = line.text;
        return item;
      });
      el.log.replaceChildren(...items);
      if (atBottom) el.log.scrollTop = el.log.scrollHeight;
    }
  }

  // ---- toolbar controls --------------------------------------------------

  dom.pause.addEventListener('click', () => sendControl(dom.pause.dataset.paused === 'true' ? 'resume' : 'pause'));
  dom.step.addEventListener('click', () => sendControl('step'));
  dom.seek.addEventListener('submit', (event) => {
    event.preventDefault();
    sendControl('seek', { height: Number(dom.seekHeight.value) });
  });
  dom.speed.addEventListener('change', () => sendControl('speed', { speed: Number(dom.speed.value) }));

  connect();
})();
