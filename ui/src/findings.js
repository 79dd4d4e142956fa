// Problems and warnings of a BPMN check, as markers and notes on the diagram's elements.
export function findingLayers(problems = [], warnings = []) {
  const markers = {};
  const notes = [];
  for (const [list, kind] of [[warnings, 'warning'], [problems, 'error']]) {
    for (const finding of list) {
      if (!finding.element) continue;
      markers[finding.element] = [`m-${kind}`];
      notes.push({ element: finding.element, kind, text: finding.message, position: { top: -18, left: 0 } });
    }
  }
  return { markers, notes };
}
