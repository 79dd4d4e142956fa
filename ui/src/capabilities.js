// Which operations this server offers, read once from its OpenAPI description: views offer an
// action only when the server has it (an older server lacks newer routes), never a dead button.
// Without a readable description every operation counts as offered and a 404 answers for it.

let described = null;

function normalise(path) {
  return path.replace(/\{[^}]+\}/g, '{}');
}

async function read() {
  const response = await fetch('/openapi.json');
  if (!response.ok) return null;
  const spec = await response.json();
  const operations = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const [method, operation] of Object.entries(item)) {
      const names = new Set((operation.parameters || []).map((p) => p.name));
      operations.set(`${method.toUpperCase()} ${normalise(path)}`, names);
    }
  }
  return operations;
}

export function loadCapabilities() {
  if (!described) described = read().catch(() => null);
  return described;
}

// offers(caps, 'POST', '/process-instances/{}/retry') or with a query parameter name the
// operation must take: offers(caps, 'POST', '/deployments', 'dry_run').
export function offers(operations, method, path, parameter) {
  if (!operations) return true;
  const names = operations.get(`${method} /api/v1${normalise(path)}`);
  if (!names) return false;
  return parameter ? names.has(parameter) : true;
}
