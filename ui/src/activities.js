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

// Diagram markers: every element a token waits in is active; a failed one is marked failed.
export function activityMarkers(nodes) {
  const active = new Set();
  const failed = new Set();
  walk(nodes, (node) => {
    if (!node.element_id) return;
    (hasFailed(node) ? failed : active).add(node.element_id);
  });
  for (const id of failed) active.delete(id);
  return { active, failed };
}
