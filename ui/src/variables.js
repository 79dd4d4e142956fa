// A case's variables as the service wrote them. JSON.parse reads the float 80.0 as 80, the same
// number as the integer 80, so the workspace keeps each variable's JSON text beside its value:
// it shows 80.0 as 80.0 and sends a value the supervisor left as it was back as that very text.
import { memberTexts } from './components/repair/exactJson.js';

// The JSON text of each variable (name → text) of GET /process-instances/{id}'s answer text;
// `instance` is that text as JSON.parse read it (the answer is read once, the texts scanned).
export function variableTexts(instanceText, instance) {
  const { variables } = instance;
  if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) return {};
  return memberTexts(memberTexts(instanceText).variables);
}

// The JSON text of a current value: as the service wrote it, else as JavaScript writes it.
export function currentText(variables, texts, name) {
  return texts?.[name] ?? JSON.stringify(variables[name]);
}

// A current value as the workspace shows it: text as it is, anything else as its JSON text.
export function shownValue(variables, texts, name) {
  const value = variables[name];
  return typeof value === 'string' ? value : currentText(variables, texts, name);
}
