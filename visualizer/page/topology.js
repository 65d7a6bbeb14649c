// The live view's network picture: every node on a ring and every link
// between two nodes, drawn cut (dashed, red) while a partition separates
// them, as the server's batches say (`links.cut`, visualizer/protocol.ts).
// A crashed node is drawn hollow. app.js calls `reset` on each hello and
// `render` when a batch arrives.
'use strict';

window.liveViewTopology = (() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const SIZE = 220;
  const RADIUS = 84;
  const root = document.getElementById('topology');
  const svg = document.getElementById('links');
  /** `a|b` (node order) → the line drawn for that link. */
  let lines = new Map();
  /** Node name → its circle. */
  let dots = new Map();

  function element(name, attributes) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  function reset(cluster) {
    lines = new Map();
    dots = new Map();
    svg.replaceChildren();
    root.hidden = cluster === null;
    if (cluster === null) return;
    const names = cluster.nodes;
    svg.setAttribute('viewBox', `0 0 ${SIZE} ${SIZE}`);
    const at = names.map((_, i) => {
      const angle = (2 * Math.PI * i) / names.length - Math.PI / 2;
      return [SIZE / 2 + RADIUS * Math.cos(angle), SIZE / 2 + RADIUS * Math.sin(angle)];
    });
    for (let i = 0; i < names.length; i += 1) {
      for (let j = i + 1; j < names.length; j += 1) {
        const line = element('line', { class: 'link', x1: at[i][0], y1: at[i][1], x2: at[j][0], y2: at[j][1], 'data-a': names[i], 'data-b': names[j], 'data-cut': 'false' });
        lines.set(`${names[i]}|${names[j]}`, line);
        svg.append(line);
      }
    }
    names.forEach((name, i) => {
      const group = element('g', { class: 'dot', 'data-node': name, 'data-byzantine': String(cluster.byzantine.includes(name)) });
      group.append(element('circle', { cx: at[i][0], cy: at[i][1], r: 13 }));
      const label = element('text', { x: at[i][0], y: at[i][1] + 4, 'text-anchor': 'middle' });
      label.textContent = name;
      group.append(label);
      dots.set(name, group);
      svg.append(group);
    });
  }

  function render(statuses, links) {
    const cut = new Set((links && links.cut ? links.cut : []).map(([a, b]) => `${a}|${b}`));
    for (const [key, line] of lines) line.dataset.cut = String(cut.has(key));
    for (const [name, group] of dots) {
      const status = statuses.get(name);
      group.dataset.down = String(Boolean(status && status.down));
      group.dataset.role = status ? status.role : '';
    }
  }

  return { reset, render };
})();
