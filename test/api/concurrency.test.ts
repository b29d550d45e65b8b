// Many requests at once: allocation stays unique and within capacity, and a rejected request changes nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateCloud } from '../../src/topology/model.js';
import { makeHarness, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
  h.backend.delayMs = 20; // creates finish in random order
  await h.call('POST', '/api/v1/nodes', { name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', az: 'AZ-1' });
  await h.call('POST', '/api/v1/nodes', { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 64, memoryMiB: 64 * 1024 });
  await h.call('POST', '/api/v1/nodes', { name: 'host-2', roles: ['compute'], underlayIp: '10.0.0.12', az: 'AZ-1', cpus: 64, memoryMiB: 64 * 1024 });
  await h.call('POST', '/api/v1/nodes', { name: 'host-3', roles: ['compute'], underlayIp: '10.0.0.13', az: 'AZ-2', cpus: 32, memoryMiB: 64 * 1024 });
  await h.call('POST', '/api/v1/subnets', { name: 'big', prefixLength: 24 });
  await h.call('POST', '/api/v1/subnets', { name: 'small', prefixLength: 27 });
});
afterEach(() => h.close());

function uniq<T>(xs: T[]): boolean {
  return new Set(xs).size === xs.length;
}

describe('concurrency', () => {
  it('200 parallel creates: unique IPs, MACs and ports; CPU capacity respected; the rest refused cleanly', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => h.call('POST', '/api/v1/vms', { name: `vm-${i}`, subnet: i % 5 === 0 ? 'small' : 'big', flavor: 'tiny', image: 'img' })),
    );
    const created = results.filter((r) => r.status === 201).map((r) => r.json.vm);
    const refused = results.filter((r) => r.status !== 201);
    // 160 CPUs in all, 1 CPU each: at most 11 requests fail for the /27 (29 addresses for 40), so CPUs run out.
    expect(created.length).toBe(160);
    expect(refused.length).toBe(40);
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe('capacity_exhausted');
      expect(['flavor', 'subnet']).toContain(r.json.error.field);
    }
    expect(uniq(created.map((v) => v.ip))).toBe(true);
    expect(uniq(created.map((v) => v.mac))).toBe(true);
    expect(uniq(created.map((v) => `${v.node}/${v.port}`))).toBe(true);
    expect(created.filter((v) => v.subnet === 'small').length).toBeLessThanOrEqual(29);

    const nodes = (await h.call('GET', '/api/v1/nodes')).json.nodes as { name: string; cpus: number; used: { cpus: number } }[];
    for (const n of nodes) expect(n.used.cpus).toBeLessThanOrEqual(n.cpus);

    const stored = h.service.listVms();
    expect(stored.map((v) => v.name).sort()).toEqual(created.map((v) => v.name).sort());
    expect(stored.every((v) => v.state === 'running')).toBe(true);
    expect(h.backend.vms.size).toBe(created.length);
    expect(validateCloud(h.service.cloud())).toEqual([]);
    // Applies are serialized and coalesced, and the last one saw every VM.
    expect(h.network.applies.length).toBeLessThan(200);
    expect(h.network.lastCloud?.vms).toHaveLength(created.length);
  });

  it('parallel deletes and creates: an address is reused only once its VM is gone', async () => {
    h.backend.delayMs = 0;
    for (let i = 0; i < 29; i++) expect((await h.call('POST', '/api/v1/vms', { name: `old-${i}`, subnet: 'small', flavor: 'tiny', image: 'img' })).status).toBe(201);
    const oldIps = new Set(h.service.listVms().map((v) => v.ip));
    h.backend.delayMs = 30;
    const ops = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => h.call('DELETE', `/api/v1/vms/old-${i}`)),
      ...Array.from({ length: 10 }, (_, i) => h.call('POST', '/api/v1/vms', { name: `new-${i}`, subnet: 'small', flavor: 'tiny', image: 'img' })),
    ]);
    expect(ops.slice(0, 10).every((r) => r.status === 200)).toBe(true);
    const vms = h.service.listVms();
    expect(uniq(vms.map((v) => v.ip))).toBe(true);
    expect(uniq(vms.map((v) => v.mac))).toBe(true);
    // A create either got a freed address (after its VM was deleted) or found the subnet full; never a clash.
    for (const r of ops.slice(10)) {
      if (r.status === 201) expect(oldIps.has(r.json.vm.ip)).toBe(true);
      else expect(r.json.error.field).toBe('subnet');
    }
    expect(validateCloud(h.service.cloud())).toEqual([]);
  });

  it('two operations on one VM at once: the second is a conflict', async () => {
    await h.call('POST', '/api/v1/vms', { name: 'v', subnet: 'big', flavor: 'tiny', image: 'img' });
    const [a, b] = await Promise.all([h.call('DELETE', '/api/v1/vms/v'), h.call('POST', '/api/v1/vms/v/stop')]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(409);
    expect(b.json.error.message).toMatch(/VM 'v' is (busy \(delete in progress\)|deleting)/);
  });
});
