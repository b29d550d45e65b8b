// Incremental change: a plan touches only what the change affects, and applying it gives exactly what a full
// recompile gives.
import { describe, expect, it } from 'vitest';
import { OFPFC } from '../../src/openflow/consts.js';
import type { FlowMod } from '../../src/openflow/types.js';
import { indexCloud, indexWithVm, type CloudIndex } from '../../src/pipeline/cloud-index.js';
import { planChange, planSize, planVmAdd, planVmRemove, type ChangePlan, type ChangeRef } from '../../src/pipeline/change.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { diffFlows, diffSize, flowKey } from '../../src/pipeline/diff.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { referencePorts, syntheticCloud } from '../../src/topology/examples.js';
import type { Cloud, Vm } from '../../src/topology/model.js';

const cloud = syntheticCloud({ computeNodes: 12, vms: 200 });
const before = indexCloud(cloud);
const endpoints = cloud.nodes.filter((n) => !n.roles.includes('switch')).length; // 12 compute + 2 gateways + DHCP
/** O(nodes): 3 flows per endpoint, plus the switch rows and host rows of one subnet (at most one per node). */
const bound = 4 * endpoints + 10;

/** Ports after the change: the new VM's port exists on its node (next free number). */
function portsFor(c: Cloud): Map<string, Map<string, number>> {
  return referencePorts(c);
}

/** Applies a plan to installed flows the way a switch would. */
function apply(installed: readonly FlowMod[], plan: ChangePlan, node: string): string[] {
  const d = plan.get(node);
  const byKey = new Map(installed.map((f) => [flowKey(f), f] as const));
  if (d) {
    for (const f of d.deletes) byKey.delete(flowKey(f));
    for (const f of [...d.modifies, ...d.adds]) byKey.set(flowKey(f), f);
  }
  // Modifies come as MODIFY_STRICT: once applied they are ordinary flows.
  return [...byKey.values()].map((f) => formatFlow({ ...f, command: OFPFC.ADD })).sort();
}

function expectPlanMatchesFullCompile(b: CloudIndex, a: CloudIndex, change: ChangeRef, ports: Map<string, Map<string, number>>): ChangePlan {
  const plan = planChange(b, a, change, ports);
  const old = compileCloud(b, ports);
  const now = compileCloud(a, ports);
  for (const node of new Set([...old.keys(), ...now.keys()])) {
    expect(apply(old.get(node) ?? [], plan, node), node).toEqual((now.get(node) ?? []).map(formatFlow).sort());
    expect(plan.has(node), node).toBe(diffSize(diffFlows(old.get(node) ?? [], now.get(node) ?? [])) > 0);
  }
  return plan;
}

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

describe('incremental change', () => {
  it('adding one VM changes O(nodes) flows, exactly what a full recompile would change', () => {
    const vm = newVm();
    const after = indexWithVm(before, vm);
    const ports = portsFor(after.cloud);
    const plan = expectPlanMatchesFullCompile(before, after, { kind: 'vm', name: vm.name }, ports);
    const total = planSize(plan);
    // 3 flows (ARP, L2, routed) on every endpoint node, a few more on its own node and the switch.
    expect(total).toBeGreaterThanOrEqual(3 * endpoints);
    expect(total).toBeLessThanOrEqual(bound);
    const full = [...compileCloud(after, ports).values()].reduce((n, f) => n + f.length, 0);
    expect(total).toBeLessThan(full / 50);
    // planVmAdd is the same thing with the index built incrementally.
    expect(planSize(planVmAdd(before, vm, ports).plan)).toBe(total);
  });

  it('removing one VM deletes its flows and updates its subnet rows', () => {
    const victim = cloud.vms[17]!;
    const { index, plan } = planVmRemove(before, victim.name, referencePorts(cloud));
    expect(index.vms.has(victim.name)).toBe(false);
    expectPlanMatchesFullCompile(before, index, { kind: 'vm', name: victim.name }, referencePorts(cloud));
    let deletes = 0;
    for (const d of plan.values()) deletes += d.deletes.length;
    expect(deletes).toBeGreaterThanOrEqual(3 * endpoints);
    expect(planSize(plan)).toBeLessThanOrEqual(bound);
  });

  it('the incremental index equals a full index', () => {
    const vm = newVm();
    const inc = indexWithVm(before, vm);
    const full = indexCloud(inc.cloud);
    const ports = portsFor(inc.cloud);
    const a = compileCloud(inc, ports);
    const b = compileCloud(full, ports);
    for (const [n, f] of a) expect(f.map(formatFlow)).toEqual(b.get(n)!.map(formatFlow));
    expect(() => indexWithVm(before, newVm({ name: 'dup', ip: cloud.vms[0]!.ip }))).toThrow(/clashes with .vm0. \(ip/);
  });

  it('adding a subnet, and a node, plan exactly the difference', () => {
    const withSubnet: Cloud = { ...cloud, subnets: [...cloud.subnets, { name: 'zz', cidr: '10.200.0.0/27', gatewayIp: '10.200.0.1', vni: 9999 }] };
    const plan = expectPlanMatchesFullCompile(before, indexCloud(withSubnet), { kind: 'subnet', name: 'zz' }, referencePorts(cloud));
    expect(planSize(plan)).toBeLessThanOrEqual(3 * endpoints); // gateway ARP everywhere, gateway and DHCP rows
    const withNode: Cloud = { ...cloud, nodes: [...cloud.nodes, { name: 'c99', roles: ['compute'], underlayIp: '10.99.9.99' }] };
    const ports = referencePorts(withNode);
    expectPlanMatchesFullCompile(before, indexCloud(withNode), { kind: 'node', name: 'c99' }, ports);
  });

  it('moving the DHCP node rewrites the DHCP rows on every compute node, nothing else', () => {
    const moved: Cloud = { ...cloud, nodes: cloud.nodes.map((n) => (n.name === 'dhcp' ? { ...n, underlayIp: '10.99.7.7' } : n)) };
    const plan = expectPlanMatchesFullCompile(before, indexCloud(moved), { kind: 'node', name: 'dhcp' }, referencePorts(cloud));
    for (const [node, d] of plan) {
      if (node.startsWith('c')) expect(d.modifies.length + d.adds.length + d.deletes.length, node).toBeLessThanOrEqual(4);
    }
  });
});
