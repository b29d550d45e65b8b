// The one-VM index update (indexWithVm) gives the index a full indexCloud gives, and refuses what validation would.
import { describe, expect, it } from 'vitest';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { indexCloud, indexWithoutVm, indexWithVm } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { referencePorts, syntheticCloud } from '../../src/topology/examples.js';
import type { Vm } from '../../src/topology/model.js';

const cloud = syntheticCloud({ computeNodes: 12, vms: 200 });
const before = indexCloud(cloud);
const newVm = (over: Partial<Vm> = {}): Vm => ({
  name: 'vm-new',
  subnet: 's6', // 200 VMs, 29 per subnet: s6 (10.128.0.192/27) has 26 (.194-.219), so .221 is free
  node: 'c5',
  gateway: 'gw1',
  ip: '10.128.0.221',
  mac: '02:ff:00:00:00:01',
  port: 'tap-new',
  ...over,
});

describe('indexWithVm / indexWithoutVm', () => {
  it('compile to what a full index compiles to', () => {
    const inc = indexWithVm(before, newVm());
    const ports = referencePorts(inc.cloud);
    const full = compileCloud(indexCloud(inc.cloud), ports);
    for (const [n, f] of compileCloud(inc, ports)) expect(f.map(formatFlow), n).toEqual(full.get(n)!.map(formatFlow));
    const removed = indexWithoutVm(before, cloud.vms[17]!.name);
    expect(removed.vms.has(cloud.vms[17]!.name)).toBe(false);
    const fullRemoved = compileCloud(indexCloud(removed.cloud), referencePorts(cloud));
    for (const [n, f] of compileCloud(removed, referencePorts(cloud))) expect(f.map(formatFlow), n).toEqual(fullRemoved.get(n)!.map(formatFlow));
  });

  it('refuses a VM that clashes with another', () => {
    expect(() => indexWithVm(before, newVm({ name: 'dup', ip: cloud.vms[0]!.ip }))).toThrow(/clashes with .vm0. \(ip/);
  });
});
