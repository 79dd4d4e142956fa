// Process definitions change only on deploy; one request serves every view of a session page.
import { get } from './api.js';

let cached = null;

export function loadDefinitions(fresh = false) {
  if (fresh || !cached) {
    cached = get('/process-definitions').catch((error) => {
      cached = null;
      throw error;
    });
  }
  return cached;
}

export function definitionName(definitions, key) {
  return definitions?.find((d) => d.key === key)?.name || key;
}
