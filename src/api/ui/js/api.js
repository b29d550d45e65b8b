// The public API (/api/v1) with the operator's bearer token. The token lives in sessionStorage, or localStorage when
// the operator asks to be remembered; a 401 forgets it and calls the sign-in hook. The project the page looks at is
// sent as X-Project on every request (none: an admin's view of every project) and kept in localStorage.

const KEY = 'minicloud.token';
const PROJECT_KEY = 'minicloud.project';
let onUnauthorized = () => {};
let project = localStorage.getItem(PROJECT_KEY) || null;

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

/** The project requests act in (X-Project), or null for every project (an admin's default). */
export function chosenProject() {
  return project;
}

/** The choice kept across reloads (an unscoped token's). */
export function rememberedProject() {
  return localStorage.getItem(PROJECT_KEY) || null;
}

/** Chooses the project of every later request; `remember` keeps it across reloads (false: a scoped token's own). */
export function chooseProject(name, remember = true) {
  project = name || null;
  if (!remember) return;
  if (project) localStorage.setItem(PROJECT_KEY, project);
  else localStorage.removeItem(PROJECT_KEY);
}

export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/**
 * One request; resolves with the JSON body, rejects with ApiError. `token` overrides the stored one (sign-in);
 * `inProject: false` leaves X-Project out (the picker's list of every project an admin may choose); `project` names
 * the project of the record acted on (names are unique per project only: an admin's "All projects" view must say).
 */
export async function api(method, path, body, token = storedToken(), { inProject = true, project: of = undefined } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (of) headers['x-project'] = of;
  else if (project && inProject) headers['x-project'] = project;
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

/** `request`'s answer, or `fallback` when the controller refuses it with 403 (the token may not) or 404 (too old). */
async function optional(request, fallback) {
  try {
    return await request;
  } catch (e) {
    if (e.status === 403 || e.status === 404) return fallback;
    throw e;
  }
}

/**
 * Everything the overview, the topology and the projects view show, in one go. A token scoped to a project may not
 * read the nodes and switches (the whole cloud's): with `cloudWide` false they are not asked for and come back empty.
 */
export async function loadCloud({ cloudWide = true } = {}) {
  const shown = project;
  const [nodes, subnets, vms, datapaths, groups, projects] = await Promise.all([
    cloudWide ? optional(api('GET', '/nodes'), null) : null,
    api('GET', '/subnets'),
    api('GET', '/vms'),
    cloudWide ? optional(api('GET', '/datapaths'), null) : null,
    api('GET', '/security-groups'),
    optional(api('GET', '/projects', undefined, storedToken(), { inProject: false }), { projects: [] }),
  ]);
  return {
    nodes: nodes?.nodes ?? [],
    subnets: subnets.subnets,
    vms: vms.vms,
    datapaths: datapaths?.datapaths ?? [],
    securityGroups: groups.securityGroups,
    projects: projects.projects,
    cloudWide: nodes !== null,
    /** The project these records are of; null: every project's. */
    project: shown,
    at: new Date(),
  };
}
