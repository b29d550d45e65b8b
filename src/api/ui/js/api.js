// The public API (/api/v1) with the operator's bearer token. The token lives in sessionStorage, or localStorage when
// the operator asks to be remembered; a 401 forgets it and calls the sign-in hook.

const KEY = 'minicloud.token';
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const e = body && typeof body === 'object' && body.error ? body.error : {};
    super(e.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? 'http_error';
    this.field = e.field;
    this.requestId = e.requestId;
  }
}

export function storedToken() {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function storeToken(token, remember) {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/** One request; resolves with the JSON body, rejects with ApiError. `token` overrides the stored one (sign-in). */
export async function api(method, path, body, token = storedToken()) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { error: { code: 'unreachable', message: `the controller did not answer (${e.message})` } });
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  const err = new ApiError(res.status, json);
  if (res.status === 401 && token && token === storedToken()) {
    forgetToken();
    onUnauthorized(err);
  }
  throw err;
}

/** Everything the overview and the topology show, in one go. */
export async function loadCloud() {
  const [nodes, subnets, vms, datapaths, groups] = await Promise.all([
    api('GET', '/nodes'),
    api('GET', '/subnets'),
    api('GET', '/vms'),
    api('GET', '/datapaths'),
    api('GET', '/security-groups'),
  ]);
  return { nodes: nodes.nodes, subnets: subnets.subnets, vms: vms.vms, datapaths: datapaths.datapaths, securityGroups: groups.securityGroups, at: new Date() };
}
