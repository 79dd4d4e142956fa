// Where a case stands, from GET /process-instances/{id}/activities: the elements it waits in
// (a tree: subprocesses and multi-instance bodies hold their children), flattened for the diagram.

export function walk(nodes, visit, depth = 0) {
  for (const node of nodes || []) {
    visit(node, depth);
    walk(node.children, visit, depth + 1);
  }
}

// A step that failed: an error, or an external task whose retries ran out (an incident).
export const hasFailed = (node) => node.kind === 'failed' || (node.kind === 'external_task' && node.retries === 0);

// Diagram markers: every element a token waits in is active; a failed one is marked failed; the
// start event of an event subprocess only listens (the case goes on elsewhere until it fires).
export function activityMarkers(nodes) {
  const active = new Set();
  const failed = new Set();
  const listening = new Set();
  walk(nodes, (node) => {
    if (!node.element_id) return;
    if (hasFailed(node)) failed.add(node.element_id);
    else if (node.event_subprocess && node.kind === 'message_wait') listening.add(node.element_id);
    else active.add(node.element_id);
  });
  for (const id of failed) active.delete(id);
  for (const id of active) listening.delete(id);
  return { active, failed, listening };
}

// Waiting joins that hold branches which have already arrived (GET .../activities: `arrived`), by
// the join's element id: cancelling such a join loses those branches.
export function joinArrivals(nodes) {
  const held = new Map();
  walk(nodes, (node) => {
    if (node.kind === 'join' && node.element_id && node.arrived?.length) held.set(node.element_id, node.arrived);
  });
  return held;
}
