// The live view's coordination services panel: the lock holders and barrier
// generations of one node's applied services, as the server's status carries
// them (`services` of ClusterNodeStatus, visualizer/live/servicesView.ts).
// app.js calls `reset` on each hello and `render` when a status arrives.
'use strict';

window.liveViewServices = (() => {
  const dom = {
    root: document.getElementById('services'),
    node: document.getElementById('services-node'),
    source: document.getElementById('services-source'),
    locks: document.getElementById('locks'),
    locksMore: document.getElementById('locks-more'),
    barriers: document.getElementById('barriers'),
    barriersMore: document.getElementById('barriers-more'),
  };
  const CLUSTER = '';
  let statuses = new Map();

  dom.node.addEventListener('change', () => draw());

  function reset(cluster) {
    statuses = new Map();
    dom.root.hidden = cluster === null || !cluster.services;
    const options = [option(CLUSTER, 'cluster (furthest honest node)')];
    if (cluster) for (const name of cluster.nodes) if (!cluster.byzantine.includes(name)) options.push(option(name, name));
    dom.node.replaceChildren(...options);
    draw();
  }

  function render(status) {
    statuses = status;
    draw();
  }

  /** The chosen node, or for the cluster the running honest node that applied the most (ties: the first by name). */
  function chosen() {
    if (dom.node.value !== CLUSTER) return statuses.get(dom.node.value) || null;
    let best = null;
    for (const status of statuses.values()) {
      if (status.services && (best === null || status.services.applied > best.services.applied)) best = status;
    }
    return best;
  }

  function draw() {
    const status = chosen();
    const services = status ? status.services : null;
    dom.root.dataset.node = status ? status.name : '';
    dom.root.dataset.applied = services ? String(services.applied) : '';
    if (!services) {
      dom.source.textContent = status && status.down ? `${status.name} is down: its services went with it` : 'no services applied yet';
      dom.locks.replaceChildren();
      dom.barriers.replaceChildren();
      dom.locksMore.textContent = '';
      dom.barriersMore.textContent = '';
      return;
    }
    const time = services.time === null ? '' : `, committed time ${seconds(services.time)}`;
    dom.source.textContent = `as ${status.name} applied them: log index ${services.applied}${time}`;
    dom.locks.replaceChildren(...(services.locks.length === 0 ? [emptyRow(5, 'no lock held')] : services.locks.map((lock) => lockRow(lock, services.time))));
    dom.locksMore.textContent = more(services.lockCount, services.locks.length, 'locks');
    dom.barriers.replaceChildren(...services.barriers.map(barrierItem));
    if (services.barriers.length === 0) dom.barriers.append(element('li', 'empty', 'no barrier'));
    dom.barriersMore.textContent = more(services.barrierCount, services.barriers.length, 'barriers');
  }

  function lockRow(lock, now) {
    const row = document.createElement('tr');
    row.dataset.lock = lock.lock;
    row.dataset.holder = lock.holder || '';
    row.dataset.token = lock.token === null ? '' : String(lock.token);
    const lease = lock.expiresAt === null ? '–' : now === null ? seconds(lock.expiresAt) : `${seconds(lock.expiresAt)} (in ${seconds(lock.expiresAt - now)})`;
    row.append(
      element('td', 'name', lock.lock),
      element('td', 'holder', lock.holder || 'free'),
      element('td', 'token', lock.token === null ? '–' : `#${lock.token}`),
      element('td', 'lease', lease),
      element('td', 'waiters', String(lock.waiters)),
    );
    return row;
  }

  function barrierItem(barrier) {
    const item = document.createElement('li');
    item.className = 'barrier';
    Object.assign(item.dataset, {
      barrier: barrier.barrier,
      generation: String(barrier.generation),
      arrived: String(barrier.arrived),
      required: String(barrier.required),
      open: String(barrier.open),
      last: barrier.last ? barrier.last.outcome : '',
    });
    const head = element('div', 'barrier-head', '');
    head.append(element('span', 'name', barrier.barrier), element('span', 'generation', `generation ${barrier.generation}`));
    if (barrier.after !== null) head.append(element('span', 'stage', `stage after ${barrier.after}`));
    const bar = element('div', 'bar', '');
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', String(barrier.required));
    bar.setAttribute('aria-valuenow', String(barrier.arrived));
    const fill = element('div', 'fill', '');
    fill.style.width = `${Math.min(100, (100 * barrier.arrived) / Math.max(1, barrier.required))}%`;
    bar.append(fill);
    const state = barrier.open ? 'open' : barrier.after === null ? 'not open' : `waits for ${barrier.after}`;
    const progress = element('div', 'progress', `${barrier.arrived}/${barrier.required} arrived of ${barrier.participants} · ${state}`);
    const who = element('div', 'participants', '');
    for (const name of barrier.participantNames) {
      who.append(element('span', barrier.arrivedNames.includes(name) ? 'participant arrived' : 'participant', name));
    }
    if (barrier.participants > barrier.participantNames.length) who.append(element('span', 'participant', `+${barrier.participants - barrier.participantNames.length}`));
    item.append(head, bar, progress, who);
    if (barrier.last) {
      const { generation, outcome, reason } = barrier.last;
      const last = element('div', `last ${outcome}`, `generation ${generation} ${outcome} (${reason.replace('_', ' ')})`);
      item.append(last);
    }
    return item;
  }

  function option(value, text) {
    const node = document.createElement('option');
    node.value = value;
    node.textContent = text;
    return node;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function emptyRow(columns, text) {
    const row = document.createElement('tr');
    const cell = element('td', 'empty', text);
    cell.colSpan = columns;
    row.append(cell);
    return row;
  }

  const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const more = (count, shown, what) => (count > shown ? `${count - shown} more ${what} not shown (the server sends the first ${shown} by name)` : '');

  return { reset, render };
})();
