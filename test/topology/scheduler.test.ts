import { describe, expect, it } from 'vitest';
import type { NodeRecord, VmRecord } from '../../src/topology/records.js';
import { computeLoads, placeVm } from '../../src/topology/scheduler.js';

const node = (name: string, az: string, cpus: number, memGiB: number, roles: NodeRecord['roles'] = ['compute']): NodeRecord => ({
  name,
  roles,
  underlayIp: `10.0.0.${name.length}`,
  az,
  cpus,
  memoryMiB: memGiB * 1024,
  createdAt: '',
});
const vm = (name: string, on: string, cpus: number, memGiB: number): VmRecord => ({
  name,
  subnet: 's',
  node: on,
  gateway: 'gw',
  flavor: `${cpus}C${memGiB}G`,
  cpus,
  memoryMiB: memGiB * 1024,
  image: 'i',
  ip: `192.168.20.${name.length}`,
  mac: '02:00:00:00:00:01',
  port: `p${name}`,
  state: 'running',
  createdAt: '',
});
const f4c8g = { cpus: 4, memoryMiB: 8192 };

describe('placeVm', () => {
  const nodes = [node('node-a', 'AZ-1', 8, 16), node('node-b', 'AZ-1', 8, 16), node('node-c', 'AZ-2', 4, 8), node('gw', 'AZ-1', 64, 64, ['gateway'])];

  it('only counts compute nodes and picks the least loaded', () => {
    const loads = computeLoads(nodes, [vm('x', 'node-a', 2, 2)]);
    expect(loads.map((l) => l.node.name)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(placeVm(loads, { flavor: f4c8g })).toMatchObject({ ok: true, node: { name: 'node-b' } });
  });

  it('prefers an AZ when asked, falls back when nothing there fits', () => {
    const loads = computeLoads(nodes, []);
    expect(placeVm(loads, { flavor: f4c8g, preferAz: 'AZ-2' })).toMatchObject({ ok: true, node: { name: 'node-c' } });
    const full = computeLoads(nodes, [vm('x', 'node-c', 1, 1)]);
    expect(placeVm(full, { flavor: f4c8g, preferAz: 'AZ-2' })).toMatchObject({ ok: true, node: { az: 'AZ-1' } });
  });

  it('says clearly why nothing fits in the AZ', () => {
    const loads = computeLoads(nodes, [vm('x', 'node-c', 2, 1)]);
    const p = placeVm(loads, { flavor: f4c8g, az: 'AZ-2' });
    expect(p).toEqual({ ok: false, reason: 'no compute node in AZ-2 has 4 CPUs and 8 GiB free: node-c has 2 CPUs and 7 GiB free' });
  });

  it('explains unknown AZs, explicit nodes and an empty cloud', () => {
    const loads = computeLoads(nodes, []);
    expect(placeVm(loads, { flavor: f4c8g, az: 'AZ-9' })).toEqual({ ok: false, reason: 'no compute node in AZ-9: compute nodes are in AZ-1, AZ-2' });
    expect(placeVm(loads, { flavor: { cpus: 6, memoryMiB: 1024 }, node: 'node-c' })).toEqual({
      ok: false,
      reason: "node 'node-c' does not have 6 CPUs and 1 GiB free: it has 4 CPUs and 8 GiB free",
    });
    expect(placeVm(loads, { flavor: f4c8g, node: 'gw' })).toEqual({ ok: false, reason: "'gw' is not a compute node" });
    expect(placeVm([], { flavor: f4c8g })).toEqual({ ok: false, reason: 'no compute node is registered' });
  });

  it('counts stopped and erroring VMs against capacity', () => {
    const loads = computeLoads([node('n', 'AZ-1', 4, 8)], [{ ...vm('x', 'n', 4, 8), state: 'stopped' }]);
    expect(placeVm(loads, { flavor: { cpus: 1, memoryMiB: 512 } }).ok).toBe(false);
  });
});
