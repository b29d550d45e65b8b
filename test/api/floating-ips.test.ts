// Floating IPs through the API (a real SQLite store, fake network and backend): allocation from gw-1's pool, attach
// binding the VM's egress to that gateway, the refusals (another project's VM, a second floating IP, a delete while
// attached, a rebind away, the quota, a used-up pool), what a VM's deletion and gateway failover do, and /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFailover } from '../../src/cloud/index.js';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await makeHarness();
  for (const n of SEED_NODES) expect((await h.call('POST', '/api/v1/nodes', n)).status).toBe(201);
  expect((await h.call('POST', '/api/v1/subnets', { name: 'front' })).status).toBe(201);
  for (const [name, gateway] of [['web', 'gw-2'], ['db', 'gw-2']]) {
    expect((await h.call('POST', '/api/v1/vms', { name, subnet: 'front', flavor: 'tiny', image: 'x', node: 'host-3', gateway })).status).toBe(201);
  }
});

afterAll(async () => {
  await h?.close();
});

describe('floating IPs', () => {
  it('allocate, attach (the VM egresses through its gateway), detach, release', async () => {
    const made = await h.call('POST', '/api/v1/floating-ips', {});
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    expect(made.json.floatingIp).toMatchObject({ address: '203.0.113.10', gateway: 'gw-1', project: 'default' });
    expect(made.json.floatingIp.vm).toBeUndefined();
    expect((await h.call('GET', '/api/v1/floating-ips')).json.floatingIps.map((f: { address: string }) => f.address)).toEqual(['203.0.113.10']);

    h.network.applies.length = 0;
    const attached = await h.call('PUT', '/api/v1/floating-ips/203.0.113.10/vm', { vm: 'web' });
    expect(attached.status, JSON.stringify(attached.json)).toBe(200);
    expect(attached.json.floatingIp.vm).toBe('web');
    // The VM's egress now goes where its floating IP lives; only its node and that gateway were applied.
    expect((await h.call('GET', '/api/v1/vms/web')).json.vm.gateway).toBe('gw-1');
    expect(h.network.applies.map((a) => a.nodes)).toEqual([['gw-1', 'host-3']]);
    // Again: nothing to do, nothing applied.
    expect((await h.call('PUT', '/api/v1/floating-ips/203.0.113.10/vm', { vm: 'web' })).status).toBe(200);
    expect(h.network.applies.length).toBe(1);

    expect((await h.call('DELETE', '/api/v1/floating-ips/203.0.113.10')).json.error.message).toBe("floating IP 203.0.113.10 is attached to VM 'web': detach it first");
    const detached = await h.call('DELETE', '/api/v1/floating-ips/203.0.113.10/vm');
    expect([detached.status, detached.json.floatingIp.vm]).toEqual([200, undefined]);
    expect((await h.call('GET', '/api/v1/vms/web')).json.vm.gateway).toBe('gw-1'); // the binding stays
    expect((await h.call('DELETE', '/api/v1/floating-ips/203.0.113.10')).json).toEqual({ deleted: '203.0.113.10', network: { confirmed: [], pending: [] } });
    expect((await h.call('GET', '/api/v1/floating-ips/203.0.113.10')).status).toBe(404);
    expect((await h.call('GET', '/api/v1/floating-ips/not.an.ip')).status).toBe(400);
  });

  it('refuses what does not fit: a gateway without a pool, a second floating IP on a VM, another project\'s VM, a rebind away', async () => {
    expect((await h.call('POST', '/api/v1/floating-ips', { gateway: 'gw-2' })).json.error.message).toBe("gateway: gateway 'gw-2' has no floating IP pool (floatingIps.pools in the configuration)");
    expect((await h.call('POST', '/api/v1/floating-ips', { gateway: 'host-1' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/floating-ips', { gateway: 'nope' })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/floating-ips', { extra: 1 })).status).toBe(400);
    const a = (await h.call('POST', '/api/v1/floating-ips', { gateway: 'gw-1' })).json.floatingIp.address;
    const b = (await h.call('POST', '/api/v1/floating-ips', {})).json.floatingIp.address;
    expect((await h.call('PUT', `/api/v1/floating-ips/${a}/vm`, { vm: 'db' })).status).toBe(200);
    const second = await h.call('PUT', `/api/v1/floating-ips/${b}/vm`, { vm: 'db' });
    expect([second.status, second.json.error.message]).toEqual([409, `vm: VM 'db' has floating IP ${a} already (one per VM)`]);
    const taken = await h.call('PUT', `/api/v1/floating-ips/${a}/vm`, { vm: 'web' });
    expect([taken.status, taken.json.error.message]).toEqual([409, `floating IP ${a} is attached to VM 'db': detach it first`]);
    const away = await h.call('PUT', '/api/v1/vms/db/gateway', { gateway: 'gw-2' });
    expect([away.status, away.json.error.message]).toEqual([409, `gateway: VM 'db' has floating IP ${a}, which lives on gateway 'gw-1': detach it first`]);
    // A VM of another project, by an admin naming no project: the name is looked up in the floating IP's project only.
    expect((await h.call('POST', '/api/v1/projects', { name: 'other' })).status).toBe(201);
    const inj = await h.app.inject({ method: 'POST', url: '/api/v1/subnets', headers: { authorization: `Bearer ${h.token}`, 'x-project': 'other' }, payload: { name: 'o-net' } });
    expect(inj.statusCode).toBe(201);
    const vm = await h.app.inject({ method: 'POST', url: '/api/v1/vms', headers: { authorization: `Bearer ${h.token}`, 'x-project': 'other' }, payload: { name: 'o-vm', subnet: 'o-net', flavor: 'tiny', image: 'x' } });
    expect(vm.statusCode).toBe(201);
    const cross = await h.call('PUT', `/api/v1/floating-ips/${b}/vm`, { vm: 'o-vm' });
    expect([cross.status, cross.json.error.message]).toEqual([404, "no VM named 'o-vm'"]);
    // ... and a project with floating IPs is not deleted.
    const fipOfOther = await h.app.inject({ method: 'POST', url: '/api/v1/floating-ips', headers: { authorization: `Bearer ${h.token}`, 'x-project': 'other' }, payload: {} });
    expect(fipOfOther.statusCode).toBe(201);
    await h.app.inject({ method: 'DELETE', url: '/api/v1/vms/o-vm', headers: { authorization: `Bearer ${h.token}`, 'x-project': 'other' } });
    await h.call('DELETE', '/api/v1/subnets/o-net');
    expect((await h.call('DELETE', '/api/v1/projects/other')).json.error.message).toMatch(/^project 'other' still has floating IPs \(203\.0\.113\.\d+\): delete them first$/);
    // Nor a gateway holding floating IPs.
    expect((await h.call('DELETE', '/api/v1/nodes/gw-1')).status).toBe(409);
  });

  it('the quota and the pool bound allocation (409 saying which)', async () => {
    expect((await h.call('PATCH', '/api/v1/projects/default', { quotas: { floatingIps: 2 } })).status).toBe(200);
    const over = await h.call('POST', '/api/v1/floating-ips', {});
    expect([over.status, over.json.error.code]).toEqual([409, 'quota_exceeded']);
    expect(over.json.error.message).toBe("project 'default' has a quota of 2 floating IPs: 2 in use, this needs 1 more");
    expect((await h.call('GET', '/api/v1/projects/default')).json.project.usage.floatingIps).toBe(2);
    expect((await h.call('PATCH', '/api/v1/projects/default', { quotas: {} })).status).toBe(200);
    let status = 201;
    for (let i = 0; i < 20 && status === 201; i++) status = (await h.call('POST', '/api/v1/floating-ips', {})).status;
    const full = await h.call('POST', '/api/v1/floating-ips', {});
    expect([full.status, full.json.error.code, full.json.error.message]).toEqual([409, 'capacity_exhausted', "gateway: the floating IP pool of gateway 'gw-1' is used up (11 addresses)"]);
    const scrape = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(scrape).toMatch(/^minicloud_floating_ips\{state="attached"\} 1$/m);
    expect(scrape).toMatch(/^minicloud_floating_ips\{state="free"\} 0$/m);
    expect(scrape).toMatch(/^minicloud_floating_ips\{state="unattached"\} 10$/m);
  });

  it('failover leaves a VM with a floating IP on its gateway; deleting the VM detaches it', async () => {
    const health = { failed: new Set(['gw-1']), up: (g: string) => g !== 'gw-1', bfdDown: () => false };
    const plan = h.store.read((r) => planFailover(r, health));
    expect(plan.moves.map((m) => m.vm)).toEqual(['web']); // db has a floating IP on gw-1: it stays
    const fip = (await h.call('GET', '/api/v1/floating-ips')).json.floatingIps.find((f: { vm?: string }) => f.vm === 'db');
    expect((await h.call('DELETE', '/api/v1/vms/db')).status).toBe(200);
    expect((await h.call('GET', `/api/v1/floating-ips/${fip.address}`)).json.floatingIp).toEqual({ ...fip, vm: undefined });
  });
});
