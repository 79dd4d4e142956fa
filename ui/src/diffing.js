// What changed between two BPMN versions (bpmn-js-differ over bpmn-moddle, Camunda extensions
// read so form fields and listeners count as changes).
import { BpmnModdle } from 'bpmn-moddle';
import { diff } from 'bpmn-js-differ';
import camunda from 'camunda-bpmn-moddle/resources/camunda.json';

async function definitions(xml) {
  const moddle = new BpmnModdle({ camunda });
  const { rootElement } = await moddle.fromXML(xml);
  return rootElement;
}

const label = (element) => element?.name || element?.id;

export async function versionDiff(oldXml, newXml) {
  const changes = diff(await definitions(oldXml), await definitions(newXml));
  const list = [];
  for (const [id, el] of Object.entries(changes._added)) list.push({ id, kind: 'added', type: el.$type, name: label(el) });
  for (const [id, el] of Object.entries(changes._removed)) list.push({ id, kind: 'removed', type: el.$type, name: label(el) });
  for (const [id, change] of Object.entries(changes._changed)) {
    list.push({ id, kind: 'changed', type: change.model.$type, name: label(change.model), attrs: Object.keys(change.attrs) });
  }
  for (const [id, el] of Object.entries(changes._layoutChanged)) {
    if (!changes._changed[id]) list.push({ id, kind: 'layout', type: el.$type, name: label(el) });
  }
  // Diagram-interchange-only and definitions-level entries say nothing to an analyst.
  return list.filter((c) => c.type && !c.type.startsWith('bpmndi:') && c.type !== 'bpmn:Definitions');
}

export function diffMarkers(changes, side) {
  const markers = {};
  for (const c of changes) {
    if (side === 'old' && c.kind === 'removed') markers[c.id] = ['m-removed'];
    if (side === 'new' && c.kind !== 'removed') markers[c.id] = [`m-${c.kind}`];
  }
  return markers;
}
