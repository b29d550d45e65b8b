// The API's auth as an attacker sees it: the real app listening on loopback, raw HTTP/1.1 request lines over a socket
// (no client normalises them), a generated matrix of spellings of EVERY route the app registers, every method, no
// token and wrong tokens. No request may get a 2xx or reach a handler (a spy on the service records any call), and the
// store must not change. Then fast-check throws random spellings at it. The requests are counted and bounded.
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.js';
import { METHODS, TRAILERS, coreSpellings, encodeAt, pool, rawRequest, requestText, spellings } from './raw-http.js';

/** Most requests this file may send (it sends about 10500): a bound, not a target. */
const MAX_REQUESTS = 20_000;
const WIDTH = 8;

/** Existing resources, so a route's `:name` names something its handler would act on. */
const RESOURCE_OF: Readonly<Record<string, string>> = { nodes: 'host-1', subnets: 'net-a', vms: 'vm-a', tokens: 'initial', 'security-groups': 'default', projects: 'default' };

/** A valid body per route, so a request that got past auth would reach the handler rather than fail validation. */
const BODY_OF: Readonly<Record<string, unknown>> = {
  'POST /api/v1/nodes': { name: 'evil-node', roles: ['compute'], underlayIp: '10.9.9.9', cpus: 1, memoryMiB: 64 },
  'POST /api/v1/subnets': { name: 'evil-net', prefixLength: 28 },
  'POST /api/v1/vms': { name: 'evil-vm', subnet: 'net-a', flavor: 'tiny', image: 'x' },
  'POST /api/v1/vms/:name/exec': { command: ['id'] },
  'POST /api/v1/tokens': { name: 'evil', role: 'admin' },
  'POST /api/v1/security-groups': { name: 'evil-sg' },
  'POST /api/v1/security-groups/:name/rules': { direction: 'ingress', protocol: 'tcp' },
  'PUT /api/v1/vms/:name/security-groups': { securityGroups: [] },
  'POST /api/v1/projects': { name: 'evil-project' },
  'PATCH /api/v1/projects/:name': { quotas: { vms: 0 } },
  'PUT /api/v1/vms/:name/gateway': { gateway: 'gw-1' },
  'POST /api/v1/floating-ips': {},
  'PUT /api/v1/floating-ips/:address/vm': { vm: 'vm-a' },
};

/** Routes whose handler calls neither the service nor the tokens: reaching them shows as a 2xx alone. */
const NO_CALLS = new Set(['GET /api/v1/whoami', 'HEAD /api/v1/whoami']);

interface Route {
  readonly method: string;
  readonly url: string;
  readonly path: string;
}

let h: Harness;
let port: number;
const routes: Route[] = [];
const calls: string[] = [];
let recording = false;
let sent = 0;

function concrete(url: string): string {
  return url.replace(/\/([a-z-]+)\/:name/g, (_m, collection: string) => {
    const name = RESOURCE_OF[collection];
    if (name === undefined) throw new Error(`no resource to put in ${url}: add one to RESOURCE_OF`);
    return `/${collection}/${name}`;
  }).replace('/:id', '/1').replace('/:address', '/203.0.113.10');
}

function spy<T extends object>(service: T): T {
  return new Proxy(service, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      // A collaborator the service exposes (service.securityGroups): its methods are handlers' calls too.
      if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) !== Object.prototype && !Array.isArray(value)) return spy(value);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (recording) calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

let uiPage = '';

/**
 * The status, with a 2xx counted as refused (499) only when it is the web UI's page: `http://x?/api/v1/nodes` is `/`
 * with a query, a public route that has no data.
 */
async function send(method: string, target: string, route: Route | undefined, headers: readonly string[] = []): Promise<number> {
  if (++sent > MAX_REQUESTS) throw new Error(`more than ${MAX_REQUESTS} requests: the matrix grew, bound it`);
  const body = route && method !== 'GET' && method !== 'HEAD' ? JSON.stringify(BODY_OF[`${route.method} ${route.url}`] ?? {}) : undefined;
  const res = await rawRequest(port, requestText(method, target, { headers, ...(body !== undefined && { body }) }));
  const isUiPage = /^content-type: text\/html/im.test(res.head) && (method === 'HEAD' ? res.body === '' : res.body === uiPage);
  return res.status >= 200 && res.status < 300 && isUiPage && route !== undefined ? 499 : res.status;
}

const snapshot = (): string =>
  JSON.stringify({ ...h.store.read((r) => ({ records: r.records(), revision: r.revision() })), tokens: h.tokens.list().map((t) => [t.name, t.role]) });

beforeAll(async () => {
  h = await makeHarness({ metricsAuth: true, wrapService: spy, wrapTokens: spy, onRoute: (r) => void routes.push({ ...r, path: '' }) });
  for (const n of [
    { name: 'host-1', roles: ['compute'] as const, underlayIp: '10.0.0.11', cpus: 8, memoryMiB: 8192 },
    { name: 'gw-1', roles: ['gateway'] as const, underlayIp: '10.0.0.1' },
  ]) {
    await h.service.addNode({ ...n, roles: [...n.roles] });
  }
  await h.service.createSubnet({ name: 'net-a' });
  await h.service.createVm({ name: 'vm-a', subnet: 'net-a', flavor: 'tiny', image: 'x' });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
  uiPage = (await rawRequest(port, requestText('GET', '/'))).body;
  expect(uiPage).toContain('<!doctype html>');
});
afterAll(() => h?.close());

/** Every route that must need a token: the API's and /metrics (metrics.auth on); the UI, /docs, /healthz, /readyz are public. */
function protectedRoutes(): Route[] {
  return routes.filter((r) => r.url.startsWith('/api/') || r.url === '/metrics').map((r) => ({ ...r, path: concrete(r.url) }));
}

describe('auth on the route, whatever the spelling (raw HTTP/1.1)', () => {
  it('knows every API route', () => {
    const names = protectedRoutes().map((r) => `${r.method} ${r.url}`);
    for (const want of ['GET /api/v1/nodes', 'POST /api/v1/subnets', 'POST /api/v1/tokens', 'DELETE /api/v1/tokens/:name', 'GET /metrics', 'POST /api/v1/vms/:name/exec', 'DELETE /api/v1/vms/:name', 'HEAD /api/v1/datapaths']) {
      expect(names).toContain(want);
    }
  });

  it('no spelling, method or wrong token reaches a handler or gets a 2xx/3xx', async () => {
    const before = snapshot();
    const wrong = [
      ['Authorization: Bearer mc_wrong'],
      [`Authorization: Bearer ${h.token.slice(0, -1)}${h.token.endsWith('A') ? 'B' : 'A'}`],
      [`Authorization: Bearer ${h.token}x`],
      [`Authorization: Bearer ${h.token.slice(0, -1)}`],
      [`Authorization: Basic ${Buffer.from(`x:${h.token}`).toString('base64')}`],
      [`Authorization: ${h.token}`],
      ['Authorization: Bearer'],
      [`Authorization: Bearer ${h.token.toUpperCase()}`],
      // Node keeps the first of repeated Authorization headers; a valid second one must not count.
      ['Authorization: Bearer mc_wrong', `Authorization: Bearer ${h.token}`],
      [`X-Authorization: Bearer ${h.token}`],
    ];
    type Job = { method: string; target: string; route: Route; headers: readonly string[] };
    const jobs: Job[] = [];
    for (const route of protectedRoutes()) {
      const all = spellings(route.path);
      all.forEach((target, i) => {
        jobs.push({ method: route.method, target, route, headers: [] });
        jobs.push({ method: route.method, target, route, headers: wrong[i % wrong.length]! });
      });
      for (const method of METHODS) for (const target of coreSpellings(route.path)) jobs.push({ method, target, route, headers: [] });
    }
    recording = true;
    const statuses = await pool(jobs, WIDTH, (j) => send(j.method, j.target, j.route, j.headers));
    recording = false;

    const bad = jobs.map((j, i) => ({ ...j, status: statuses[i]! })).filter((r) => r.status === 0 || r.status < 400 || r.status >= 500 || r.status === 403);
    expect(bad.map((r) => `${r.method} ${r.target} ${r.headers.join(' | ')} -> ${r.status}`)).toEqual([]);
    expect(calls).toEqual([]);
    expect(snapshot()).toBe(before);

    const histogram: Record<number, number> = {};
    for (const s of statuses) histogram[s] = (histogram[s] ?? 0) + 1;
    // The figures: how many requests, and what they got.
    console.log(`auth matrix: ${jobs.length} requests over ${protectedRoutes().length} routes; statuses ${JSON.stringify(histogram)}`);
    expect(jobs.length).toBeGreaterThan(1000);
  }, 240_000);

  it('a viewer token reaches no write handler and no token route, whatever the spelling or method', async () => {
    const viewer = (await h.tokens.create('raw-viewer', 'viewer')).token;
    const before = snapshot();
    const isAdminOnly = (r: Route): boolean => !['GET', 'HEAD'].includes(r.method) || r.url.startsWith('/api/v1/tokens');
    type Job = { method: string; target: string; route: Route };
    const jobs: Job[] = [];
    for (const route of protectedRoutes().filter(isAdminOnly)) {
      for (const target of spellings(route.path).filter((_t, i) => i % 3 === 0)) jobs.push({ method: route.method, target, route });
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) jobs.push({ method, target: route.path, route });
    }
    recording = true;
    const statuses = await pool(jobs, WIDTH, (j) => send(j.method, j.target, j.route, [`Authorization: Bearer ${viewer}`]));
    recording = false;
    const bad = jobs.map((j, i) => ({ ...j, status: statuses[i]! })).filter((r) => r.status === 0 || r.status < 400 || r.status >= 500);
    expect(bad.map((r) => `${r.method} ${r.target} -> ${r.status}`)).toEqual([]);
    expect(calls).toEqual([]);
    expect(statuses.filter((st) => st === 403).length).toBeGreaterThan(jobs.length / 10);
    expect(snapshot()).toBe(before);
    await h.tokens.revoke('raw-viewer');
  }, 120_000);

  it('the router does decode those spellings: with the token, encoded and absolute-form targets reach the handler', async () => {
    const auth = [`Authorization: Bearer ${h.token}`];
    for (const target of ['/%61pi/v1/nodes', '/api/v1/%6Eodes', 'http://x/api/v1/nodes', 'HTTP://X/api/v1/subnets/net-%61']) {
      recording = true;
      const status = await send('GET', target, undefined, auth);
      recording = false;
      expect(status, target).toBe(200);
      expect(calls.length, `${target} reached no handler`).toBeGreaterThan(0);
      calls.length = 0;
    }
  });

  it('every route reaches its handler with the token (so the matrix above tested handlers that exist)', async () => {
    const auth = [`Authorization: Bearer ${h.token}`];
    // Reads first, then writes, deletes last (they may fail: reaching the handler is what counts).
    const order = (r: Route): number => ({ GET: 0, HEAD: 0, POST: 1, DELETE: 2 })[r.method] ?? 1;
    for (const route of protectedRoutes().sort((a, b) => order(a) - order(b))) {
      calls.length = 0;
      recording = true;
      const status = await send(route.method, route.path, route, auth);
      recording = false;
      if (NO_CALLS.has(`${route.method} ${route.url}`)) expect(status, `${route.method} ${route.path}`).toBe(200);
      else expect(calls.length, `${route.method} ${route.path} -> ${status}`).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('random spellings (fast-check)', () => {
  it('a random mangling of a route, any method, no or a wrong token: never a 2xx, never a handler', async () => {
    const list = protectedRoutes();
    type Mangle =
      | { kind: 'encode'; at: number; upper: boolean }
      | { kind: 'dot' | 'dotdot' | 'slash' | 'backslash' | 'encslash'; at: number }
      | { kind: 'trail'; text: string }
      | { kind: 'case'; at: number }
      | { kind: 'absolute'; host: string };
    const mangle: fc.Arbitrary<Mangle> = fc.oneof(
      fc.record({ kind: fc.constant('encode' as const), at: fc.nat(), upper: fc.boolean() }),
      fc.record({ kind: fc.constantFrom('dot' as const, 'dotdot' as const, 'slash' as const, 'backslash' as const, 'encslash' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('trail' as const), text: fc.constantFrom(...TRAILERS) }),
      fc.record({ kind: fc.constant('case' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('absolute' as const), host: fc.constantFrom('http://x', 'HTTP://127.0.0.1:1', 'https://a@b') }),
    );
    const apply = (path: string, m: Mangle): string => {
      const slashes = [...path.matchAll(/\//g)].map((x) => x.index);
      const slash = 'at' in m ? slashes[m.at % slashes.length]! : 0;
      switch (m.kind) {
        case 'encode':
          return path.startsWith('/') || path.length === 0 ? encodeAt(path, m.at % Math.max(path.length, 1), m.upper) : path;
        case 'dot':
          return `${path.slice(0, slash)}/.${path.slice(slash)}`;
        case 'dotdot':
          return `${path.slice(0, slash)}/zz/..${path.slice(slash)}`;
        case 'slash':
          return `${path.slice(0, slash)}/${path.slice(slash)}`;
        case 'backslash':
          return slash === 0 ? path : `${path.slice(0, slash)}\\${path.slice(slash + 1)}`;
        case 'encslash':
          return slash === 0 ? path : `${path.slice(0, slash)}%2F${path.slice(slash + 1)}`;
        case 'trail':
          return path + m.text;
        case 'case': {
          const i = m.at % path.length;
          return path.slice(0, i) + path[i]!.toUpperCase() + path.slice(i + 1);
        }
        case 'absolute':
          return path.startsWith('/') ? m.host + path : path;
      }
    };
    const before = snapshot();
    calls.length = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: list.length - 1 }),
        fc.constantFrom(...METHODS),
        fc.array(mangle, { minLength: 1, maxLength: 4 }),
        fc.constantFrom<readonly string[]>([], ['Authorization: Bearer mc_x'], [`Authorization: Bearer ${h.token}0`], [`authorization: basic ${h.token}`]),
        async (index, method, mangles, headers) => {
          const route = list[index]!;
          const target = mangles.reduce(apply, route.path);
          recording = true;
          const status = await send(method, target, route, headers);
          recording = false;
          expect(status === 0 || status < 400 || status >= 500 || status === 403, `${method} ${target} -> ${status}`).toBe(false);
          expect(calls).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
    expect(snapshot()).toBe(before);
  }, 120_000);
});
