// Projects through the API: CRUD, quotas, and scoped tokens. The scoped-token matrix walks EVERY route the app
// registers (its route table, not a list kept by hand): a token scoped to project alpha, member or viewer, aimed at
// cloud-wide routes or naming beta in X-Project, gets 403 and changes nothing; naming beta's records (names are
// looked up in the token's project only) it finds none: 404 (400 for a VM on beta's subnet), and nothing changes;
// aimed at its own records it gets what its role allows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';

interface Route {
  readonly method: string;
  readonly url: string;
}

let h: Harness;
const routes: Route[] = [];
let member = '';
let viewer = '';
let ruleOfBeta = 0;
let ruleOfAlpha = 0;

/** Each project's records, so a route's `:name` names something its handler would act on. */
const RECORDS = {
  alpha: { subnets: 'net-a', vms: 'vm-a', 'security-groups': 'sg-a', projects: 'alpha', 'floating-ips': '203.0.113.10' },
  beta: { subnets: 'net-b', vms: 'vm-b', 'security-groups': 'sg-b', projects: 'beta', 'floating-ips': '203.0.113.11' },
} as const;
/** Records of the whole cloud (only admins reach their routes). */
const CLOUD_RECORDS: Readonly<Record<string, string>> = { nodes: 'host-1', tokens: 'initial' };

const BODY_OF = (project: 'alpha' | 'beta'): Readonly<Record<string, unknown>> => ({
  'POST /api/v1/nodes': { name: 'evil-node', roles: ['compute'], underlayIp: '10.9.9.9', cpus: 1, memoryMiB: 64 },
  'POST /api/v1/subnets': { name: `new-net-${project}`, prefixLength: 28 },
  'POST /api/v1/vms': { name: `new-vm-${project}`, subnet: RECORDS[project].subnets, flavor: 'tiny', image: 'x' },
  'POST /api/v1/vms/:name/exec': { command: ['id'] },
  'POST /api/v1/tokens': { name: 'evil', role: 'admin' },
  'POST /api/v1/security-groups': { name: `new-sg-${project}` },
  'POST /api/v1/security-groups/:name/rules': { direction: 'ingress', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' },
  'PUT /api/v1/vms/:name/security-groups': { securityGroups: [RECORDS[project]['security-groups']] },
  'POST /api/v1/projects': { name: 'evil-project' },
  'PATCH /api/v1/projects/:name': { quotas: { vms: 0 } },
  'POST /api/v1/floating-ips': {},
  'PUT /api/v1/floating-ips/:address/vm': { vm: RECORDS[project].vms },
});

function concrete(url: string, project: 'alpha' | 'beta'): string {
  return url
    .replace(/\/([a-z-]+)\/:(?:name|address)/g, (_m, collection: string) => {
      const name = (RECORDS[project] as Record<string, string>)[collection] ?? CLOUD_RECORDS[collection];
      if (name === undefined) throw new Error(`no record to put in ${url}: add one to RECORDS`);
      return `/${collection}/${name}`;
    })
    .replace('/:id', () => `/${project === 'alpha' ? ruleOfAlpha : ruleOfBeta}`);
}

async function call(token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await h.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, ...headers },
    ...(body !== undefined && { payload: body as object }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let json: any;
  try {
    json = res.json();
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json };
}

const apiRoutes = (): Route[] => routes.filter((r) => r.url.startsWith('/api/') || r.url === '/metrics');
const isRead = (r: Route): boolean => r.method === 'GET' || r.method === 'HEAD';
/** Routes of one project's records (the rest act on the whole cloud, or on the caller: whoami). */
// A VM's gateway is the cloud's business (PUT /vms/:name/gateway): admins only.
const isProjectRoute = (r: Route): boolean =>
  /^\/api\/v1\/(subnets|vms|security-groups|projects|floating-ips)(\/|$)/.test(r.url) && !r.url.endsWith('/gateway') && !(r.url.startsWith('/api/v1/projects') && !isRead(r));
const isWhoami = (r: Route): boolean => r.url === '/api/v1/whoami';
const snapshot = (): string => JSON.stringify({ ...h.store.read((r) => ({ records: r.records(), projects: r.listProjects() })), tokens: h.tokens.list().map((t) => [t.name, t.role, t.project]) });

beforeAll(async () => {
  h = await makeHarness({ metricsAuth: true, onRoute: (r) => void routes.push(r) });
  for (const n of SEED_NODES) expect((await h.call('POST', '/api/v1/nodes', n)).status).toBe(201);
  for (const p of ['alpha', 'beta'] as const) {
    expect((await h.call('POST', '/api/v1/projects', { name: p, description: `team ${p}` })).status).toBe(201);
    const as = { 'x-project': p };
    const r = RECORDS[p];
    expect((await call(h.token, 'POST', '/api/v1/subnets', { name: r.subnets }, as)).status).toBe(201);
    expect((await call(h.token, 'POST', '/api/v1/security-groups', { name: r['security-groups'] }, as)).status).toBe(201);
    expect((await call(h.token, 'POST', '/api/v1/vms', { name: r.vms, subnet: r.subnets, flavor: 'tiny', image: 'x' }, as)).status).toBe(201);
    expect((await call(h.token, 'POST', '/api/v1/floating-ips', {}, as)).json.floatingIp?.address).toBe(r['floating-ips']);
  }
  ruleOfAlpha = h.service.securityGroups.get('sg-a', { project: 'alpha' }).rules[0]!.id;
  ruleOfBeta = h.service.securityGroups.get('sg-b', { project: 'beta' }).rules[0]!.id;
  member = (await h.tokens.create('alpha-member', 'member', 'alpha')).token;
  viewer = (await h.tokens.create('alpha-viewer', 'viewer', 'alpha')).token;
});
afterAll(() => h?.close());

describe('projects', () => {
  it('CRUD: the default project owns what names none; a new one gets its default group; only empty ones go', async () => {
    const list = await h.call('GET', '/api/v1/projects');
    expect(list.json.projects.map((p: { name: string }) => p.name)).toEqual(['alpha', 'beta', 'default']);
    const alpha = (await h.call('GET', '/api/v1/projects/alpha')).json.project;
    expect(alpha).toMatchObject({ name: 'alpha', overlay: '192.168.20.0/22', securityGroup: 'alpha-default', quotas: {}, usage: { vms: 1, vcpus: 1, subnets: 1 } });
    const asAlpha = { 'x-project': 'alpha' };
    expect((await call(h.token, 'GET', '/api/v1/vms/vm-a', undefined, asAlpha)).json.vm).toMatchObject({ project: 'alpha', securityGroups: ['alpha-default'] });
    // Names are looked up in the request's project: without X-Project, the default project's (it has no vm-a).
    expect((await h.call('GET', '/api/v1/vms/vm-a')).status).toBe(404);
    expect((await call(h.token, 'GET', '/api/v1/security-groups/alpha-default', undefined, asAlpha)).json.securityGroup.rules.map((r: { remoteGroup?: string; remoteCidr?: string }) => r.remoteGroup ?? r.remoteCidr)).toEqual([
      '0.0.0.0/0',
      'alpha-default',
    ]);
    // Without X-Project an admin sees every project's records; with it, that project's.
    expect((await h.call('GET', '/api/v1/vms')).json.vms.map((v: { name: string }) => v.name)).toEqual(['vm-a', 'vm-b']);
    expect((await call(h.token, 'GET', '/api/v1/vms', undefined, { 'x-project': 'beta' })).json.vms.map((v: { name: string }) => v.name)).toEqual(['vm-b']);
    expect((await call(h.token, 'GET', '/api/v1/vms', undefined, { 'x-project': 'Bad!' })).status).toBe(400);
    // A VM is made in the request's project, its subnet and groups looked up there: another project's are not found.
    const cross = await call(h.token, 'POST', '/api/v1/vms', { name: 'x', subnet: 'net-a', flavor: 'tiny', image: 'x', securityGroups: ['sg-b'] }, asAlpha);
    expect([cross.status, cross.json.error.message]).toEqual([400, "securityGroups: no security group named 'sg-b' in project 'alpha'"]);
    const noSubnet = await call(h.token, 'POST', '/api/v1/vms', { name: 'x', subnet: 'net-a', flavor: 'tiny', image: 'x' });
    expect([noSubnet.status, noSubnet.json.error.message]).toEqual([400, "subnet: no subnet named 'net-a'"]);
    expect((await h.call('POST', '/api/v1/projects', { name: 'alpha' })).status).toBe(409);
    expect((await h.call('POST', '/api/v1/projects', { name: 'Alpha' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/projects', { name: 'gamma', overlay: '10.1.2.3/16' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/projects', { name: 'gamma', overlay: '10.10.0.0/16', quotas: { subnets: 1 } })).status).toBe(201);
    const sub = await call(h.token, 'POST', '/api/v1/subnets', { name: 'net-g' }, { 'x-project': 'gamma' });
    expect([sub.status, sub.json.subnet?.cidr, sub.json.subnet?.project]).toEqual([201, '10.10.0.0/27', 'gamma']);
    const del = await h.call('DELETE', '/api/v1/projects/gamma');
    expect([del.status, del.json.error.message]).toEqual([409, "project 'gamma' still has subnets (net-g): delete them first"]);
    expect((await call(h.token, 'DELETE', '/api/v1/subnets/net-g', undefined, { 'x-project': 'gamma' })).status).toBe(200);
    expect((await h.call('DELETE', '/api/v1/projects/gamma')).json).toEqual({ deleted: 'gamma' });
    expect(h.service.securityGroups.list().map((g) => g.name)).not.toContain('gamma-default');
    expect((await h.call('DELETE', '/api/v1/projects/default')).status).toBe(409);
    // A project with tokens scoped to it stays until they are revoked.
    expect((await h.call('DELETE', '/api/v1/projects/alpha')).json.error.message).toMatch(/^tokens are scoped to project 'alpha'/);
  });

  it('addresses per project: the same block and VM address in two, overlap refused within one; domains and transit addresses shown', async () => {
    const get = async (url: string, project: string) => (await call(h.token, 'GET', url, undefined, { 'x-project': project })).json;
    const [a, b] = [(await get('/api/v1/subnets/net-a', 'alpha')).subnet, (await get('/api/v1/subnets/net-b', 'beta')).subnet];
    expect([a.cidr, a.project, b.cidr, b.project]).toEqual(['192.168.20.0/27', 'alpha', '192.168.20.0/27', 'beta']);
    const [va, vb] = [(await get('/api/v1/vms/vm-a', 'alpha')).vm, (await get('/api/v1/vms/vm-b', 'beta')).vm];
    expect(va.ip).toBe(vb.ip);
    expect(va.mac).not.toBe(vb.mac);
    expect([va.transitIp, vb.transitIp]).toEqual(['100.64.0.2', '100.64.0.3']);
    const clash = await call(h.token, 'POST', '/api/v1/subnets', { name: 'net-a2', cidr: '192.168.20.16/28' }, { 'x-project': 'alpha' });
    expect([clash.status, clash.json.error.message]).toEqual([409, "cidr: 192.168.20.16/28 overlaps subnet 'net-a' (192.168.20.0/27)"]);
    const domains = (await h.call('GET', '/api/v1/projects')).json.projects.map((p: { name: string; domain: number }) => [p.name, p.domain]);
    expect(domains).toEqual([['alpha', 2], ['beta', 3], ['default', 1]]);
    const overTransit = await h.call('POST', '/api/v1/projects', { name: 'delta', overlay: '100.64.0.0/20' });
    expect([overTransit.status, overTransit.json.error.message]).toEqual([400, expect.stringMatching(/overlaps the transit range 100.64.0.0\/16/)]);
    // Nor a floating-IP pool: the project's VMs would route those addresses inside it, never to the floating IP.
    const overPool = await h.call('POST', '/api/v1/projects', { name: 'delta', overlay: '203.0.113.0/24' });
    expect([overPool.status, overPool.json.error.message]).toEqual([400, "overlay: 203.0.113.0/24 overlaps the floating-IP pool of gateway 'gw-1' (203.0.113.10-203.0.113.20, floatingIps.pools): the project's VMs could not reach those addresses"]);
    expect((await h.call('GET', '/api/v1/projects/delta')).status).toBe(404);
  });

  it('names are unique per project: the same names in two are 201, twice in one 409, another project\'s never found', async () => {
    const as = (project: string) => ({ 'x-project': project });
    const made: [string, string][] = [];
    for (const p of ['alpha', 'beta']) {
      expect((await call(h.token, 'POST', '/api/v1/subnets', { name: 'net1', cidr: '192.168.21.0/27' }, as(p))).status, p).toBe(201);
      expect((await call(h.token, 'POST', '/api/v1/security-groups', { name: 'web' }, as(p))).status, p).toBe(201);
      const vm = await call(h.token, 'POST', '/api/v1/vms', { name: 'web', subnet: 'net1', flavor: 'tiny', image: 'x', securityGroups: ['web'] }, as(p));
      expect(vm.status, JSON.stringify(vm.json)).toBe(201);
      expect([vm.json.vm.project, vm.json.vm.instance, vm.json.vm.subnet, vm.json.vm.securityGroups]).toEqual([p, `${p}--web`, 'net1', ['web']]);
      made.push([p, vm.json.vm.mac]);
    }
    // Twice in one project: 409, saying which project.
    const again = await call(h.token, 'POST', '/api/v1/vms', { name: 'web', subnet: 'net1', flavor: 'tiny', image: 'x' }, as('alpha'));
    expect([again.status, again.json.error.message]).toEqual([409, "name: a VM named 'web' already exists in project 'alpha'"]);
    expect((await call(h.token, 'POST', '/api/v1/subnets', { name: 'net1' }, as('alpha'))).status).toBe(409);
    expect((await call(h.token, 'POST', '/api/v1/security-groups', { name: 'web' }, as('beta'))).status).toBe(409);
    // Each request finds its own project's record; the default project has none of these names.
    const [wa, wb] = [(await call(h.token, 'GET', '/api/v1/vms/web', undefined, as('alpha'))).json.vm, (await call(h.token, 'GET', '/api/v1/vms/web', undefined, as('beta'))).json.vm];
    expect([wa.project, wb.project, wa.mac === made[0]![1], wb.mac === made[1]![1]]).toEqual(['alpha', 'beta', true, true]);
    expect((await h.call('GET', '/api/v1/vms/web')).status).toBe(404);
    expect((await call(member, 'GET', '/api/v1/security-groups/web')).json.securityGroup.project).toBe('alpha');
    // An admin's list shows both, each with its project.
    const all = (await h.call('GET', '/api/v1/vms')).json.vms.filter((v: { name: string }) => v.name === 'web').map((v: { project: string }) => v.project);
    expect(all).toEqual(['alpha', 'beta']);
    // References resolve in the request's project: another project's subnet, group or VM of that name is not one.
    expect((await call(h.token, 'POST', '/api/v1/vms', { name: 'x', subnet: 'net-b', flavor: 'tiny', image: 'x' }, as('alpha'))).status).toBe(400);
    const rule = await call(h.token, 'POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteGroup: 'sg-b' }, as('alpha'));
    expect(rule.status, JSON.stringify(rule.json)).toBe(400);
    const own = await call(h.token, 'POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteGroup: 'web' }, as('alpha'));
    expect(own.status, JSON.stringify(own.json)).toBe(201);
    expect((await call(h.token, 'GET', '/api/v1/security-groups/web', undefined, as('beta'))).json.securityGroup.rules.some((r: { remoteGroup?: string }) => r.remoteGroup === 'web')).toBe(false);
    const fipOfAlpha = (await call(h.token, 'GET', '/api/v1/floating-ips', undefined, as('alpha'))).json.floatingIps[0].address as string;
    expect((await call(h.token, 'PUT', `/api/v1/floating-ips/${fipOfAlpha}/vm`, { vm: 'vm-b' }, as('alpha'))).status).toBe(404);
    // Deleting alpha's leaves beta's.
    for (const p of ['alpha', 'beta']) {
      expect((await call(h.token, 'DELETE', '/api/v1/vms/web', undefined, as(p))).status, p).toBe(200);
      if (p === 'alpha') expect((await call(h.token, 'GET', '/api/v1/vms/web', undefined, as('beta'))).json.vm.state).toBe('running');
      expect((await call(h.token, 'DELETE', '/api/v1/security-groups/web', undefined, as(p))).status, p).toBe(200);
      expect((await call(h.token, 'DELETE', '/api/v1/subnets/net1', undefined, as(p))).status, p).toBe(200);
    }
  });

  it('quotas: VMs, vCPUs, memory and subnets, refused with a 409 saying which, shown with the usage', async () => {
    expect((await h.call('POST', '/api/v1/projects', { name: 'small', quotas: { vms: 2, vcpus: 3, memoryMiB: 4096, subnets: 1 } })).status).toBe(201);
    const as = { 'x-project': 'small' };
    expect((await call(h.token, 'POST', '/api/v1/subnets', { name: 'net-s' }, as)).status).toBe(201);
    const second = await call(h.token, 'POST', '/api/v1/subnets', { name: 'net-s2' }, as);
    expect([second.status, second.json.error.code, second.json.error.message]).toEqual([409, 'quota_exceeded', "project 'small' has a quota of 1 subnets: 1 in use, this needs 1 more"]);
    expect((await call(h.token, 'POST', '/api/v1/vms', { name: 's-1', subnet: 'net-s', flavor: '2C1G', image: 'x' }, as)).status).toBe(201);
    const cpus = await call(h.token, 'POST', '/api/v1/vms', { name: 's-2', subnet: 'net-s', flavor: '2C1G', image: 'x' }, as);
    expect([cpus.status, cpus.json.error.message]).toEqual([409, "project 'small' has a quota of 3 vCPUs: 2 in use, this needs 2 more"]);
    const mem = await call(h.token, 'POST', '/api/v1/vms', { name: 's-2', subnet: 'net-s', flavor: '1C4G', image: 'x' }, as);
    expect([mem.status, mem.json.error.message]).toEqual([409, "project 'small' has a quota of 4096 MiB of memory: 1024 in use, this needs 4096 more"]);
    expect((await call(h.token, 'POST', '/api/v1/vms', { name: 's-2', subnet: 'net-s', flavor: '1C1G', image: 'x' }, as)).status).toBe(201);
    const count = await call(h.token, 'POST', '/api/v1/vms', { name: 's-3', subnet: 'net-s', flavor: 'tiny', image: 'x' }, as);
    expect([count.status, count.json.error.message]).toEqual([409, "project 'small' has a quota of 2 VMs: 2 in use, this needs 1 more"]);
    expect((await h.call('GET', '/api/v1/projects/small')).json.project.usage).toEqual({ vms: 2, vcpus: 3, memoryMiB: 2048, subnets: 1, floatingIps: 0 });
    // Raised, it fits; a bad quota is a 400.
    expect((await h.call('PATCH', '/api/v1/projects/small', { quotas: { vms: 3 } })).json.project.quotas).toEqual({ vms: 3 });
    expect((await call(h.token, 'POST', '/api/v1/vms', { name: 's-3', subnet: 'net-s', flavor: 'tiny', image: 'x' }, as)).status).toBe(201);
    expect((await h.call('PATCH', '/api/v1/projects/small', { quotas: { vms: -1 } })).status).toBe(400);
    expect((await h.call('PATCH', '/api/v1/projects/small', { quotas: { disks: 1 } })).status).toBe(400);
  });

  it('tokens: member needs a project, admin never has one, the project must exist; whoami says it', async () => {
    expect((await h.call('POST', '/api/v1/tokens', { name: 'm', role: 'member' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/tokens', { name: 'a', role: 'admin', project: 'alpha' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/tokens', { name: 'n', role: 'viewer', project: 'nope' })).status).toBe(400);
    expect((await call(member, 'GET', '/api/v1/whoami')).json).toEqual({ name: 'alpha-member', role: 'member', project: 'alpha', auth: true });
    expect((await h.call('GET', '/api/v1/tokens')).json.tokens.find((t: { name: string }) => t.name === 'alpha-viewer')).toMatchObject({ role: 'viewer', project: 'alpha' });
  });
});

describe('scoped tokens over every route', () => {
  it('knows the routes (the matrix below walks them all)', () => {
    const names = apiRoutes().map((r) => `${r.method} ${r.url}`);
    for (const want of ['GET /api/v1/projects', 'POST /api/v1/vms', 'DELETE /api/v1/security-groups/:name/rules/:id', 'GET /api/v1/nodes', 'POST /api/v1/tokens', 'GET /metrics', 'PUT /api/v1/floating-ips/:address/vm']) {
      expect(names).toContain(want);
    }
    expect(apiRoutes().length).toBeGreaterThan(40);
  });

  it("cloud-wide routes and X-Project: beta are 403 for alpha's member and viewer, beta's names are not found, nothing changes", async () => {
    const before = snapshot();
    const bad: string[] = [];
    let sent = 0;
    for (const token of [member, viewer]) {
      const who = token === member ? 'member' : 'viewer';
      for (const route of apiRoutes()) {
        const body = isRead(route) ? undefined : (BODY_OF('beta')[`${route.method} ${route.url}`] ?? {});
        // 1. naming beta in X-Project: refused whatever the route.
        const named = await call(token, route.method, concrete(route.url, 'alpha'), body, { 'x-project': 'beta' });
        sent++;
        if (named.status !== 403) bad.push(`${who} ${route.method} ${route.url} X-Project: beta -> ${named.status}`);
        // 2. beta's records by name (no header), and every cloud-wide route. Lists and creations of a project route
        // name no record of beta: they are confined to alpha instead (next test).
        const namesBeta = /:name|:id|:address/.test(route.url) || (route.method === 'POST' && route.url === '/api/v1/vms');
        if (isWhoami(route) || (isProjectRoute(route) && !namesBeta)) continue;
        const aimed = await call(token, route.method, concrete(route.url, 'beta'), body);
        sent++;
        // A name of beta's is looked up in alpha (and not found); a floating IP's address is cloud-wide (refused).
        const cloudWide = !isProjectRoute(route) || /:address|^\/api\/v1\/projects/.test(route.url);
        const expected = cloudWide || (token === viewer && !isRead(route)) ? 403 : route.method === 'POST' && route.url === '/api/v1/vms' ? 400 : 404;
        if (aimed.status !== expected) bad.push(`${who} ${route.method} ${concrete(route.url, 'beta')} -> ${aimed.status}, not ${expected}`);
        if (aimed.status >= 400 && route.method !== 'HEAD' && !aimed.json?.error?.message) bad.push(`${who} ${route.method} ${route.url}: ${aimed.status} without a message`);
      }
    }
    expect(bad).toEqual([]);
    expect(snapshot()).toBe(before);
    console.log(`scoped-token matrix: ${sent} requests over ${apiRoutes().length} routes`);
  }, 120_000);

  it("lists are confined to alpha; alpha's member reads and writes its own records, its viewer only reads", async () => {
    for (const [url, key] of [
      ['/api/v1/vms', 'vms'],
      ['/api/v1/subnets', 'subnets'],
      ['/api/v1/projects', 'projects'],
      ['/api/v1/floating-ips', 'floatingIps'],
    ] as const) {
      const got = (await call(viewer, 'GET', url)).json[key].map((x: { name: string; project?: string }) => x.project ?? x.name);
      expect(new Set(got), url).toEqual(new Set(['alpha']));
    }
    const groups = (await call(viewer, 'GET', '/api/v1/security-groups')).json.securityGroups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(['alpha-default', 'sg-a']);
    for (const route of apiRoutes().filter((r) => isProjectRoute(r) && r.method !== 'DELETE')) {
      const body = isRead(route) ? undefined : (BODY_OF('alpha')[`${route.method} ${route.url}`] ?? {});
      const asViewer = await call(viewer, route.method, concrete(route.url, 'alpha'), body);
      if (isRead(route)) expect(asViewer.status, `viewer ${route.method} ${route.url}`).toBe(200);
      else expect(asViewer.status, `viewer ${route.method} ${route.url}`).toBe(403);
      const asMember = await call(member, route.method, concrete(route.url, 'alpha'), body);
      expect(asMember.status, `member ${route.method} ${route.url}: ${JSON.stringify(asMember.json)}`).not.toBe(403);
      expect(asMember.status, `member ${route.method} ${route.url}: ${JSON.stringify(asMember.json)}`).toBeLessThan(500);
    }
    // What the member made went to alpha.
    const inAlpha = (name: string) => ({ project: 'alpha', name });
    expect(h.store.read((r) => [r.getSubnet(inAlpha('new-net-alpha'))?.project, r.getVm(inAlpha('new-vm-alpha'))?.project, r.getSecurityGroup(inAlpha('new-sg-alpha'))?.project])).toEqual(['alpha', 'alpha', 'alpha']);
    // And it deletes its own VM, not beta's (whose name is not one of alpha's).
    expect((await call(member, 'DELETE', '/api/v1/vms/new-vm-alpha')).status).toBe(200);
    expect((await call(member, 'DELETE', '/api/v1/vms/vm-b')).status).toBe(404);
    expect(h.store.read((r) => r.getVm({ project: 'beta', name: 'vm-b' }))?.state).toBe('running');
  }, 120_000);
});
