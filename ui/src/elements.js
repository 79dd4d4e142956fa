// The steps of a BPMN diagram a token can be put before (tasks, subprocesses, intermediate and end
// events, gateways), read from its XML for the repair forms' choices.
const STEPS = new Set([
  'task', 'userTask', 'serviceTask', 'sendTask', 'receiveTask', 'manualTask', 'businessRuleTask', 'scriptTask',
  'subProcess', 'callActivity', 'intermediateCatchEvent', 'intermediateThrowEvent', 'endEvent',
  'exclusiveGateway', 'parallelGateway', 'inclusiveGateway', 'eventBasedGateway', 'complexGateway',
]);

export function stepsOf(xml) {
  if (!xml) return [];
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const steps = [];
  for (const el of doc.getElementsByTagName('*')) {
    if (STEPS.has(el.localName) && el.getAttribute('id')) {
      steps.push({ id: el.getAttribute('id'), name: el.getAttribute('name') || '', type: el.localName });
    }
  }
  return steps;
}

export const stepLabel = (step) => (step.name ? `${step.name} (${step.id})` : step.id);

// The form fields of each element (camunda:formField), by element id then field id: the label
// and the labels of an enumeration's values, to name the values a completion submitted.
export function formFieldsOf(xml) {
  const byElement = new Map();
  if (!xml) return byElement;
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  for (const field of doc.getElementsByTagName('*')) {
    if (field.localName !== 'formField' || !field.getAttribute('id')) continue;
    let owner = field.parentElement;
    while (owner && !(owner.getAttribute('id') && owner.localName !== 'formData' && owner.localName !== 'extensionElements')) {
      owner = owner.parentElement;
    }
    if (!owner) continue;
    const values = {};
    for (const v of field.getElementsByTagName('*')) {
      if (v.localName === 'value' && v.getAttribute('id')) values[v.getAttribute('id')] = v.getAttribute('name') || v.getAttribute('id');
    }
    const fields = byElement.get(owner.getAttribute('id')) || new Map();
    fields.set(field.getAttribute('id'), { label: field.getAttribute('label') || '', values, type: field.getAttribute('type') });
    byElement.set(owner.getAttribute('id'), fields);
  }
  return byElement;
}
