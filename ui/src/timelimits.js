// Time limits of a case (GET /process-instances/{id}/time-limits) on its diagram: the steps each
// limit covers are marked with the limit's state and carry a note; a step under several limits
// shows the most urgent one.
const URGENCY = { breached: 5, warning: 4, running: 3, paused: 2, met: 1, cancelled: 0 };

// running past its reminder (80 %) reads as warning.
export function limitState(limit, now = Date.now()) {
  const warned = limit.warned_at || (limit.warn_at && Date.parse(limit.warn_at) <= now);
  if (limit.status === 'running' && warned) return 'warning';
  return limit.status;
}

export function limitLayers(limits, label, now = Date.now()) {
  const worst = new Map();
  for (const limit of limits) {
    for (const id of limit.element_ids || []) {
      const current = worst.get(id);
      if (!current || URGENCY[limitState(limit, now)] > URGENCY[limitState(current, now)]) worst.set(id, limit);
    }
  }
  const markers = {};
  const notes = [];
  for (const [id, limit] of worst) {
    const state = limitState(limit, now);
    markers[id] = [`lim-${state}`];
    const text = `⏱ ${label(state)}`;
    notes.push({ element: id, kind: `limit-${state}`, text, title: `${limit.name}: ${label(state)}`,
      position: { bottom: -2, left: 0 } });
  }
  return { markers, notes };
}

// Marker maps of several layers on one diagram: every class of every layer.
export function mergeMarkers(...layers) {
  const merged = {};
  for (const layer of layers) {
    for (const [id, classes] of Object.entries(layer || {})) {
      merged[id] = [...(merged[id] || []), ...[].concat(classes)];
    }
  }
  return merged;
}
