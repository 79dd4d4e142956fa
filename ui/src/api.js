// The one way the workspace talks to the service: its public REST API with the user's token.
const BASE = '/api/v1';
let currentToken = null;
let onUnauthenticated = () => {};

export function setApiToken(token, unauthenticated) {
  currentToken = token;
  if (unauthenticated) onUnauthenticated = unauthenticated;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.details = body?.details;
  }

  // Field errors of a 422 ({"field", "message"} items) by field name.
  fieldErrors() {
    const byField = {};
    if (Array.isArray(this.details)) {
      for (const d of this.details) {
        if (d && d.field) (byField[d.field] ||= []).push(d.message);
      }
    }
    return byField;
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') search.set(k, v);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// jsonText: a JSON body already written, for values JSON.stringify would change (80.0 → 80).
export async function request(path, { method = 'GET', params, json, jsonText, form, token, raw } = {}) {
  const headers = {};
  const auth = token ?? currentToken;
  if (auth) headers.Authorization = `Bearer ${auth}`;
  let body;
  if (json !== undefined || jsonText !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = jsonText ?? JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const response = await fetch(`${BASE}${path}${query(params)}`, { method, headers, body });
  if (response.status === 401 && token === undefined) onUnauthenticated();
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = { message: response.statusText };
    }
    throw new ApiError(response.status, payload);
  }
  if (raw) return response.text();
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, params) => request(path, { params });
export const post = (path, json, params) => request(path, { method: 'POST', json, params });

// A part of a view the service may not offer yet (an older server answers 404 for the whole
// route) or not to this user (403): null then, so the view leaves that part out.
export async function getOptional(path, params) {
  try {
    return await get(path, params);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}
