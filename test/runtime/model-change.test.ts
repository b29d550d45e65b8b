// A model change as production makes it: the network glue recompiles the affected nodes' whole pipelines and the
// runtime diffs each against what its last sync installed. Only what differs is sent (O(nodes) flow-mods for one
// VM), and applying the plan gives exactly the new pipeline.
import { describe, expect, it } from 'vitest';
import type { FlowMod, FlowStats } from '../../src/openflow/types.js';
import { indexCloud, type CloudIndex } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { OURS, OURS_MASK } from '../../src/pipeline/cookie.js';
import { asInstalledStats, diffDesired, flowModCount, diffDesiredInSlices, installedFromStats, linkDesired, type DesiredFlow, type FlowPlan, type InstalledFlow, type LastSync, type Ownership } from '../../src/runtime/diff.js';
import { referencePorts, syntheticCloud } from '../../src/topology/examples.js';
import type { Cloud, Vm } from '../../src/topology/model.js';

const own: Ownership = { cookie: OURS, cookieMask: OURS_MASK, takeOverTables: new Set() };
const cloud = syntheticCloud({ computeNodes: 12, vms: 200 });
const endpoints = cloud.nodes.filter((n) => !n.roles.includes('switch')).length; // 12 compute + 2 gateways + DHCP
/** O(nodes): 3 flows per endpoint, plus the switch rows and host rows of one subnet (at most one per node). */
const bound = 4 * endpoints + 10;

const asInstalled = (f: DesiredFlow): FlowStats => asInstalledStats(f, own);

interface Switch {
  readonly installed: Map<string, InstalledFlow>;
  last: LastSync;
}

/** Applies a plan to the installed flows the way the switch does (what sync records after a commit). */
function commit(sw: Pick<Switch, 'installed'>, plan: FlowPlan): void {
  for (const f of plan.deletes) sw.installed.delete(f.key);
  for (const [k, f] of installedFromStats([...plan.modifies, ...plan.replaces, ...plan.adds].map(asInstalled))) sw.installed.set(k, f);
}

/** A switch holding exactly `flows` after one sync from empty. */
function synced(flows: FlowMod[]): Switch {
  const installed = installedFromStats([]);
  const diff = diffDesired(installed, flows, own);
  commit({ installed }, diff.plan);
  return { installed, last: linkDesired(installed, flows, diff) };
}

const size = flowModCount;
const state = (m: Map<string, InstalledFlow>): string[] => [...m.values()].map((f) => `${f.key}|${f.cookie}|${f.attrs}|${f.fp}`).sort();

/** Every node synced to `before`, then resynced (from the cache, as an apply does) to `after`: the plans, checked. */
function change(before: CloudIndex, after: CloudIndex, ports = referencePorts(after.cloud)): Map<string, FlowPlan> {
  const old = compileCloud(before, ports);
  const now = compileCloud(after, ports);
  const plans = new Map<string, FlowPlan>();
  for (const node of new Set([...old.keys(), ...now.keys()])) {
    const sw = synced(old.get(node) ?? []);
    const desired = now.get(node) ?? [];
    const diff = diffDesired(sw.installed, desired, own, sw.last);
    commit(sw, diff.plan);
    expect(state(sw.installed), node).toEqual(state(synced(desired).installed));
    if (size(diff.plan)) plans.set(node, diff.plan);
  }
  return plans;
}

const total = (plans: Map<string, FlowPlan>): number => [...plans.values()].reduce((n, p) => n + size(p), 0);

const newVm: Vm = {
  name: 'vm-new',
  subnet: 's6', // 200 VMs, 29 per subnet: s6 (10.128.0.192/27) has 26 (.194-.219), so .221 is free
  node: 'c5',
  gateway: 'gw1',
  ip: '10.128.0.221',
  mac: '02:ff:00:00:00:01',
  port: 'tap-new',
};

describe('a model change, recompiled and diffed against the switch', () => {
  const before = indexCloud(cloud);

  it('adding one VM sends O(nodes) flow-mods, and leaves every switch with the new pipeline', () => {
    const after = indexCloud({ ...cloud, vms: [...cloud.vms, newVm] });
    const plans = change(before, after);
    // 3 flows (ARP, L2, routed) on every endpoint node, a few more on its own node and the switch.
    expect(total(plans)).toBeGreaterThanOrEqual(3 * endpoints);
    expect(total(plans)).toBeLessThanOrEqual(bound);
    const full = [...compileCloud(after, referencePorts(after.cloud)).values()].reduce((n, f) => n + f.length, 0);
    expect(total(plans)).toBeLessThan(full / 50);
  });

  it('diffs a recompiled pipeline in slices to the same plan as in one go', async () => {
    const after = indexCloud({ ...cloud, vms: [...cloud.vms, newVm] });
    const ports = referencePorts(after.cloud);
    const old = compileCloud(before, ports);
    const now = compileCloud(after, ports);
    const keys = (p: FlowPlan): string[] => [...p.deletes.map((f) => `-${f.key}`), ...[...p.modifies, ...p.replaces, ...p.adds].map((f) => `+${f.tableId}/${f.priority}/${JSON.stringify(f.match, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`)].sort();
    let turns = 0;
    for (const node of ['c5', 'c0', 'gw1']) {
      const one = synced(old.get(node)!);
      const sliced = synced(old.get(node)!);
      const whole = diffDesired(one.installed, now.get(node)!, own, one.last);
      const parts = await diffDesiredInSlices(sliced.installed, now.get(node)!, own, sliced.last, async () => void turns++, 7);
      expect(keys(parts.plan), node).toEqual(keys(whole.plan));
      expect(parts.plan.unchanged, node).toBe(whole.plan.unchanged);
    }
    expect(turns).toBeGreaterThan(0);
  });

  it('removing one VM deletes its flows and updates its subnet rows', () => {
    const victim = cloud.vms[17]!;
    const plans = change(before, indexCloud({ ...cloud, vms: cloud.vms.filter((v) => v !== victim) }), referencePorts(cloud));
    let deletes = 0;
    for (const p of plans.values()) deletes += p.deletes.length;
    expect(deletes).toBeGreaterThanOrEqual(3 * endpoints);
    expect(total(plans)).toBeLessThanOrEqual(bound);
  });

  it('adding a subnet, and a node, send exactly the difference', () => {
    const withSubnet: Cloud = { ...cloud, subnets: [...cloud.subnets, { name: 'zz', cidr: '10.200.0.0/27', gatewayIp: '10.200.0.1', vni: 9999 }] };
    expect(total(change(before, indexCloud(withSubnet), referencePorts(cloud)))).toBeLessThanOrEqual(3 * endpoints);
    const withNode: Cloud = { ...cloud, nodes: [...cloud.nodes, { name: 'c99', roles: ['compute'], underlayIp: '10.99.9.99' }] };
    change(before, indexCloud(withNode), referencePorts(withNode));
  });

  it('moving the DHCP node rewrites the DHCP rows on every compute node, nothing else', () => {
    const moved: Cloud = { ...cloud, nodes: cloud.nodes.map((n) => (n.name === 'dhcp' ? { ...n, underlayIp: '10.99.7.7' } : n)) };
    for (const [node, p] of change(before, indexCloud(moved), referencePorts(cloud))) {
      if (node.startsWith('c')) expect(size(p), node).toBeLessThanOrEqual(4);
    }
  });
});
