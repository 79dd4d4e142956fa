// Heat-map figures per element from GET /analytics/steps: the median hours a task waited and was
// worked on, and the share of tasks with a due date that ended late.
export const HEAT_METRICS = {
  median: (item) => sum(item.waiting_hours?.p50, item.working_hours?.p50),
  late: (item) => (item.due?.with_due ? item.due.late / item.due.with_due : null),
};

function sum(a, b) {
  if (a == null && b == null) return null;
  return (a || 0) + (b || 0);
}

export function heatLayers(items, metric) {
  const value = HEAT_METRICS[metric];
  const rows = items.map((item) => ({ item, v: value(item) })).filter((r) => r.v != null);
  const max = Math.max(0, ...rows.map((r) => r.v));
  const markers = {};
  const notes = [];
  const table = [];
  for (const { item, v } of [...rows].sort((a, b) => b.v - a.v)) {
    const level = max > 0 ? Math.max(1, Math.ceil((v / max) * 5)) : 1;
    markers[item.element_id] = [`heat-${level}`];
    const text = metric === 'late' ? `${Math.round(v * 100)}%` : `${v.toFixed(1)} h`;
    notes.push({ element: item.element_id, text, title: `${item.name || item.element_id}: ${text} (${item.completions})` });
    table.push({ element: item.element_id, name: item.name || item.element_id, text, completions: item.completions });
  }
  return { markers, notes, rows: table };
}
