// Every route of the API, through app.inject, with the real store and CloudService.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});
afterEach(() => h.close());

async function seedNodes(): Promise<void> {
  for (const n of SEED_NODES) expect((await h.call('POST', '/api/v1/nodes', n)).status).toBe(201);
}

describe('nodes', () => {
  it('POST, GET list, GET one, DELETE', async () => {
    const add = await h.call('POST', '/api/v1/nodes', SEED_NODES[2]);
    expect(add.status).toBe(201);
    expect(add.json.node).toMatchObject({ name: 'host-1', roles: ['compute'], az: 'AZ-1', cpus: 32, memoryMiB: 49152, used: { cpus: 0, memoryMiB: 0, vms: 0 } });
    expect(add.json.network).toEqual({ confirmed: ['host-1'], pending: [] });

    const list = await h.call('GET', '/api/v1/nodes');
    expect(list.status).toBe(200);
    expect(list.json.nodes.map((n: { name: string }) => n.name)).toEqual(['host-1']);

    const one = await h.call('GET', '/api/v1/nodes/host-1');
    expect(one.json.node.underlayIp).toBe('10.0.0.11');

    const del = await h.call('DELETE', '/api/v1/nodes/host-1');
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ deleted: 'host-1', network: { confirmed: ['host-1'], pending: [] } });
    expect((await h.call('GET', '/api/v1/nodes/host-1')).status).toBe(404);
  });

  it('keeps the gateway service IP and SSH target', async () => {
    await seedNodes();
    const gw = (await h.call('GET', '/api/v1/nodes/gw-1')).json.node;
    expect(gw).toMatchObject({ roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', sshTarget: 'root@10.0.0.1' });
    expect(h.service.cloud().nodes.find((n) => n.name === 'gw-1')).toEqual({ name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', az: 'AZ-1', serviceIp: '203.0.113.1' });
  });

  it('GET flows and POST resync of a connected node; 409 when not connected', async () => {
    await seedNodes();
    h.datapaths.connect('host-1', '00000a000000000b');
    const flows = await h.call('GET', '/api/v1/nodes/host-1/flows');
    expect(flows.status).toBe(200);
    expect(flows.json.node).toBe('host-1');
    expect(flows.json.flows[0]).toMatchObject({ table: 0, priority: 20, packets: 7, bytes: 420 });
    expect(flows.json.flows[0].text).toContain('n_packets=7');
    expect(await h.call('POST', '/api/v1/nodes/host-1/resync')).toMatchObject({ status: 200, json: { node: 'host-1', flowMods: 3 } });

    const off = await h.call('GET', '/api/v1/nodes/host-2/flows');
    expect(off.status).toBe(409);
    expect(off.json.error.message).toBe("node 'host-2' is not connected: its flows can't be read");
    expect((await h.call('POST', '/api/v1/nodes/host-2/resync')).status).toBe(409);
    expect((await h.call('GET', '/api/v1/nodes/nope/flows')).status).toBe(404);
    expect((await h.call('POST', '/api/v1/nodes/nope/resync')).status).toBe(404);
  });
});

describe('subnets', () => {
  it('POST by prefix and by CIDR, GET list, GET one, DELETE', async () => {
    const a = await h.call('POST', '/api/v1/subnets', { name: 'a' });
    expect(a.status).toBe(201);
    expect(a.json.subnet).toMatchObject({ name: 'a', cidr: '192.168.20.0/27', prefixLength: 27, gatewayIp: '192.168.20.1', vni: 1, addresses: { usable: 29, used: 0, free: 29 } });
    const b = await h.call('POST', '/api/v1/subnets', { name: 'b', prefixLength: 26 });
    expect(b.json.subnet).toMatchObject({ cidr: '192.168.20.64/26', gatewayIp: '192.168.20.65', vni: 2 });
    const c = await h.call('POST', '/api/v1/subnets', { name: 'c', cidr: '192.168.23.0/24' });
    expect(c.json.subnet).toMatchObject({ cidr: '192.168.23.0/24', gatewayIp: '192.168.23.1', vni: 3 });
    const d = await h.call('POST', '/api/v1/subnets', { name: 'd', prefixLength: 27 });
    expect(d.json.subnet.cidr).toBe('192.168.20.32/27');

    expect((await h.call('GET', '/api/v1/subnets')).json.subnets.map((s: { name: string }) => s.name)).toEqual(['a', 'b', 'c', 'd']);
    expect((await h.call('GET', '/api/v1/subnets/c')).json.subnet.vni).toBe(3);
    expect((await h.call('DELETE', '/api/v1/subnets/b')).json.deleted).toBe('b');
    // The freed block and VNI are reused.
    const e = await h.call('POST', '/api/v1/subnets', { name: 'e', prefixLength: 26 });
    expect(e.json.subnet).toMatchObject({ cidr: '192.168.20.64/26', vni: 2 });
  });
});

describe('vms', () => {
  beforeEach(async () => {
    await seedNodes();
    await h.call('POST', '/api/v1/subnets', { name: 'a' });
    await h.call('POST', '/api/v1/subnets', { name: 'b' });
  });

  it('POST creates a placed, addressed, running VM', async () => {
    const res = await h.call('POST', '/api/v1/vms', { name: 'web-1', subnet: 'a', flavor: '4C8G', image: 'images:debian/12' });
    expect(res.status).toBe(201);
    expect(res.json.vm).toMatchObject({
      name: 'web-1',
      subnet: 'a',
      node: 'host-1',
      gateway: 'gw-1',
      ip: '192.168.20.2',
      mac: '02:00:c0:a8:14:02',
      flavor: '4C8G',
      cpus: 4,
      memoryMiB: 8192,
      image: 'images:debian/12',
      port: 'mcvm1',
      state: 'running',
    });
    expect(res.json.network.pending).toEqual([]);
    expect(res.json.network.confirmed).toEqual(['gw-1', 'gw-2', 'host-1', 'host-2', 'host-3', 'switch']);
    expect(h.backend.vms.get('web-1')?.spec).toMatchObject({ mac: '02:00:c0:a8:14:02', ip: '192.168.20.2', prefixLength: 27, gatewayIp: '192.168.20.1', port: 'mcvm1' });
    expect(h.network.lastCloud?.vms.map((v) => v.name)).toEqual(['web-1']);
  });

  it('says which nodes are pending when some are not connected', async () => {
    h.network.disconnected.add('host-3');
    const res = await h.call('POST', '/api/v1/vms', { name: 'web-1', subnet: 'a', flavor: 'small', image: 'img' });
    expect(res.status).toBe(201);
    expect(res.json.network.pending).toEqual(['host-3']);
  });

  it('honours gateway, az and node, and binds to a gateway of the VM\'s AZ by default', async () => {
    const inAz2 = await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'small', image: 'img', az: 'AZ-2' });
    expect(inAz2.json.vm).toMatchObject({ node: 'host-3', gateway: 'gw-2' });
    const viaGw2 = await h.call('POST', '/api/v1/vms', { name: 'v2', subnet: 'a', flavor: 'small', image: 'img', gateway: 'gw-2' });
    expect(viaGw2.json.vm).toMatchObject({ node: 'host-3', gateway: 'gw-2' });
    const pinned = await h.call('POST', '/api/v1/vms', { name: 'v3', subnet: 'b', flavor: 'small', image: 'img', node: 'host-2' });
    expect(pinned.json.vm).toMatchObject({ node: 'host-2', gateway: 'gw-1', ip: '192.168.20.34' });
  });

  it("PUT a VM's gateway: bound there, only its node applied; 400 for what is no gateway, 404 for no VM", async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'small', image: 'img', node: 'host-2', gateway: 'gw-1' });
    const moved = await h.call('PUT', '/api/v1/vms/v1/gateway', { gateway: 'gw-2' });
    expect(moved.status).toBe(200);
    expect(moved.json.vm).toMatchObject({ name: 'v1', gateway: 'gw-2' });
    expect(moved.json.network).toEqual({ confirmed: ['host-2'], pending: [] });
    expect((await h.call('GET', '/api/v1/vms/v1')).json.vm.gateway).toBe('gw-2');
    const bad = await h.call('PUT', '/api/v1/vms/v1/gateway', { gateway: 'host-1' });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'invalid']);
    expect((await h.call('PUT', '/api/v1/vms/v9/gateway', { gateway: 'gw-1' })).status).toBe(404);
    expect((await h.call('PUT', '/api/v1/vms/v1/gateway', { gateway: 'gw-1', extra: 1 })).status).toBe(400);
  });

  it('GET list (filtered), GET one', async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'small', image: 'img', node: 'host-1' });
    await h.call('POST', '/api/v1/vms', { name: 'v2', subnet: 'b', flavor: 'small', image: 'img', node: 'host-2' });
    expect((await h.call('GET', '/api/v1/vms')).json.vms.map((v: { name: string }) => v.name)).toEqual(['v1', 'v2']);
    expect((await h.call('GET', '/api/v1/vms?subnet=b')).json.vms.map((v: { name: string }) => v.name)).toEqual(['v2']);
    expect((await h.call('GET', '/api/v1/vms?node=host-1')).json.vms.map((v: { name: string }) => v.name)).toEqual(['v1']);
    expect((await h.call('GET', '/api/v1/vms/v2')).json.vm.subnet).toBe('b');
    expect((await h.call('GET', '/api/v1/vms/v9')).status).toBe(404);
  });

  it('POST stop / start', async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'small', image: 'img' });
    const stop = await h.call('POST', '/api/v1/vms/v1/stop');
    expect(stop.status).toBe(200);
    expect(stop.json.vm.state).toBe('stopped');
    expect(h.backend.vms.get('v1')?.running).toBe(false);
    expect((await h.call('POST', '/api/v1/vms/v1/stop')).json.vm.state).toBe('stopped'); // idempotent
    const start = await h.call('POST', '/api/v1/vms/v1/start');
    expect(start.json.vm.state).toBe('running');
    expect(h.backend.calls).toEqual(['create v1', 'stop v1', 'start v1']);
    expect((await h.call('POST', '/api/v1/vms/nope/start')).status).toBe(404);
  });

  it('POST exec', async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'small', image: 'img' });
    const res = await h.call('POST', '/api/v1/vms/v1/exec', { command: ['ip', 'addr'] });
    expect(res).toMatchObject({ status: 200, json: { exitCode: 0, stdout: 'ip addr on v1\n', stderr: '' } });
    await h.call('POST', '/api/v1/vms/v1/stop');
    expect((await h.call('POST', '/api/v1/vms/v1/exec', { command: ['true'] })).status).toBe(409);
  });

  it('DELETE removes the VM, its flows and its container; its address is free again', async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: 'small', image: 'img' });
    const del = await h.call('DELETE', '/api/v1/vms/v1');
    expect(del.status).toBe(200);
    expect(del.json.deleted).toBe('v1');
    expect(h.backend.vms.has('v1')).toBe(false);
    expect(h.network.lastCloud?.vms).toEqual([]);
    expect((await h.call('GET', '/api/v1/vms/v1')).status).toBe(404);
    const again = await h.call('POST', '/api/v1/vms', { name: 'v2', subnet: 'a', flavor: 'small', image: 'img' });
    expect(again.json.vm.ip).toBe('192.168.20.2');
  });

  it('node and subnet usage reflect the VMs', async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v1', subnet: 'a', flavor: '4C8G', image: 'img', node: 'host-2' });
    expect((await h.call('GET', '/api/v1/nodes/host-2')).json.node.used).toEqual({ cpus: 4, memoryMiB: 8192, vms: 1 });
    expect((await h.call('GET', '/api/v1/subnets/a')).json.subnet.addresses).toEqual({ usable: 29, used: 1, free: 28 });
  });
});

describe('datapaths and operations', () => {
  it('GET datapaths lists connected switches and every node that is not', async () => {
    await seedNodes();
    h.datapaths.connect('host-1', '00000a000000000b', [{ name: 'vxlan-int', number: 1 }]);
    const res = await h.call('GET', '/api/v1/datapaths');
    expect(res.status).toBe(200);
    expect(res.json.datapaths).toHaveLength(SEED_NODES.length);
    expect(res.json.datapaths.find((d: { node: string }) => d.node === 'host-1')).toMatchObject({ connected: true, dpid: '00000a000000000b', ports: [{ name: 'vxlan-int', number: 1 }] });
    expect(res.json.datapaths.find((d: { node: string }) => d.node === 'gw-1')).toMatchObject({ connected: false, ports: [] });
  });

  it('/healthz, /readyz, /metrics, /docs need no token', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json', '/docs/']) {
      const res = await h.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
    }
    expect((await h.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await h.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', pid: process.pid });
  });

  it('/readyz says 503 and why when the store is gone (in fixed words without a token: test/api/readyz.test.ts)', async () => {
    h.store.close();
    const res = await h.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().reason).toBe('store unavailable');
    h.store.close = () => {}; // already closed; let the harness finish
  });

  it('the OpenAPI document lists every route, and the UI is served locally', async () => {
    const doc = (await h.app.inject({ url: '/docs/json' })).json();
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/api/v1/datapaths',
        '/api/v1/floating-ips',
        '/api/v1/floating-ips/{address}',
        '/api/v1/floating-ips/{address}/vm',
        '/api/v1/nodes',
        '/api/v1/nodes/{name}',
        '/api/v1/nodes/{name}/flows',
        '/api/v1/nodes/{name}/resync',
        '/api/v1/projects',
        '/api/v1/projects/{name}',
        '/api/v1/security-groups',
        '/api/v1/security-groups/{name}',
        '/api/v1/security-groups/{name}/rules',
        '/api/v1/security-groups/{name}/rules/{id}',
        '/api/v1/subnets',
        '/api/v1/subnets/{name}',
        '/api/v1/tokens',
        '/api/v1/tokens/{name}',
        '/api/v1/vms',
        '/api/v1/vms/{name}',
        '/api/v1/vms/{name}/exec',
        '/api/v1/vms/{name}/gateway',
        '/api/v1/vms/{name}/security-groups',
        '/api/v1/vms/{name}/start',
        '/api/v1/vms/{name}/stop',
        '/api/v1/whoami',
        '/healthz',
        '/metrics',
        '/readyz',
      ].sort(),
    );
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/v1/nodes'].get.description).toBe('Needs a token (viewer or admin).');
    expect(doc.paths['/api/v1/nodes'].post.description).toBe('Needs an admin token.');
    expect(doc.paths['/api/v1/tokens'].get.description).toBe('Needs an admin token.');
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    const html = (await h.app.inject({ url: '/docs/' })).body;
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    const bundle = await h.app.inject({ url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
  });

  it('unknown routes get a JSON 404', async () => {
    const res = await h.call('GET', '/api/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.json.error).toMatchObject({ code: 'not_found', message: 'no route GET /api/v1/nothing' });
  });
});
