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
