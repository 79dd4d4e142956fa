// Problems and warnings of a BPMN check (the dry run's or a refused deploy's findings), as
// markers and notes on the diagram's elements: an element with an error is marked as an error,
// one with only warnings as a warning; its note shows the first message and how many more.
export function findingLayers(problems = [], warnings = []) {
  const byElement = new Map();
  for (const [list, kind] of [[problems, 'error'], [warnings, 'warning']]) {
    for (const finding of list) {
      if (!finding.element) continue;
      const entry = byElement.get(finding.element) || { kind, messages: [] };
      entry.messages.push(finding.message);
      byElement.set(finding.element, entry);
    }
  }
  const markers = {};
  const notes = [];
  for (const [element, { kind, messages }] of byElement) {
    markers[element] = [`m-${kind}`];
    const more = messages.length > 1 ? ` (+${messages.length - 1})` : '';
    notes.push({ element, kind, text: `${short(messages[0])}${more}`, title: messages.join('\n'), position: { top: -18, left: 0 } });
  }
  return { markers, notes };
}

function short(text, max = 48) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// The findings of a refused deploy: details.problems (the agreed shape) or, from older servers,
// details as the list itself.
export function refusedFindings(details) {
  if (Array.isArray(details)) return details;
  if (details && Array.isArray(details.problems)) return details.problems;
  return null;
}
