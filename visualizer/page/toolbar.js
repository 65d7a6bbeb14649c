// The live view's toolbar: simulated time, pace, what cluster is shown, and
// the playback controls' labels, from the page's view (app.js), which calls
// `render` when a batch changed them. The controls' clicks stay in app.js,
// which owns the socket.
'use strict';

window.liveViewToolbar = (() => {
  const dom = {
    pause: document.getElementById('pause'),
    step: document.getElementById('step'),
    speed: document.getElementById('speed'),
    now: document.getElementById('now'),
    pace: document.getElementById('pace'),
    cluster: document.getElementById('cluster'),
  };

  function render(view) {
    const clock = view.clock;
    dom.now.textContent = clock ? `${(clock.now / 1000).toFixed(2)} s` : '–';
    dom.pace.textContent = clock ? (clock.paused ? 'paused' : `${Math.round(clock.pace * 100)}%`) : '–';
    if (view.cluster) {
      const byzantine = view.cluster.byzantine.length;
      dom.cluster.textContent = `${view.cluster.nodes.length} nodes, ${byzantine} byzantine, seed ${view.cluster.seed}`;
    } else {
      dom.cluster.textContent = view.mode === 'relay' ? 'relaying apps (ws://…/inspect)' : '–';
    }
    if (clock) {
      dom.pause.textContent = clock.paused ? 'resume' : 'pause';
      dom.pause.dataset.paused = String(clock.paused);
      dom.step.disabled = !clock.paused;
      if (document.activeElement !== dom.speed) {
        const value = String(clock.speed);
        // A speed given on the command line may not be one of the offered ones.
        if (![...dom.speed.options].some((option) => option.value === value)) {
          const option = document.createElement('option');
          option.value = value;
          option.textContent = `${value}×`;
          dom.speed.append(option);
        }
        dom.speed.value = value;
      }
    }
  }

  return { render };
})();
