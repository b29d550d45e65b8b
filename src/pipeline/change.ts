// Incremental change: for one model change, which owners on which nodes it can affect, and the flow diff of only
// those owners. Adding a VM touches its own owner on every endpoint node (~3 flows each: ARP, L2, routed), its
// subnet's owner on its host (broadcast rows) and on the switch (replication rows): O(nodes), not a rewrite.
import type { Vm } from '../topology/model.js';
import { indexWithoutVm, indexWithVm, type CloudIndex } from './cloud-index.js';
import { compileOwner, ownerKey, viewOf, type Owner } from './compile.js';
import { diffFlows, diffSize, type FlowDiff } from './diff.js';
import { CompileContext, type PortMap } from './stage.js';

export type ChangeRef = { readonly kind: 'vm' | 'subnet' | 'node'; readonly name: string };

/** node name -> the flow-mods that node needs (only nodes with something to do). */
export type ChangePlan = Map<string, FlowDiff>;

/** Which owners on which nodes a change can affect; undefined = every owner of every node (node changes). */
export function affectedOwners(before: CloudIndex, after: CloudIndex, change: ChangeRef): Map<string, Owner[]> | undefined {
  if (change.kind === 'node') return undefined;
  const nodes = new Set([...before.nodes.keys(), ...after.nodes.keys()]);
  const out = new Map<string, Map<string, Owner>>();
  const add = (node: string | undefined, owner: Owner): void => {
    if (node === undefined || !nodes.has(node)) return;
    let m = out.get(node);
    if (!m) out.set(node, (m = new Map()));
    m.set(ownerKey(owner), owner);
  };
  const switches = [before.switchNode?.node.name, after.switchNode?.node.name];
  if (change.kind === 'vm') {
    for (const vm of [before.vms.get(change.name), after.vms.get(change.name)]) {
      if (!vm) continue;
      const subnet: Owner = { kind: 'subnet', name: vm.vm.subnet };
      add(vm.vm.node, subnet); // local broadcast rows
      for (const sw of switches) add(sw, subnet); // replication rows
    }
    for (const n of nodes) add(n, { kind: 'vm', name: change.name });
    // Security groups: the VM's memberships change remote-group rows (node-owned) on every node with a member.
    if (before.sg || after.sg) for (const n of nodes) add(n, { kind: 'node' });
  } else {
    const vms = new Set<string>();
    for (const idx of [before, after]) for (const v of idx.vmList) if (v.vm.subnet === change.name) vms.add(v.vm.name);
    for (const n of nodes) {
      add(n, { kind: 'subnet', name: change.name });
      for (const v of vms) add(n, { kind: 'vm', name: v });
    }
  }
  return new Map([...out].map(([n, m]) => [n, [...m.values()]]));
}

/** The flow-mods a change needs, per node. `before`/`after` are the indexes around the change. */
export function planChange(
  before: CloudIndex,
  after: CloudIndex,
  change: ChangeRef,
  portsByNode: ReadonlyMap<string, PortMap>,
): ChangePlan {
  const was = new CompileContext(before);
  const now = new CompileContext(after);
  const owners = affectedOwners(before, after, change);
  const plan: ChangePlan = new Map();
  const nodes = [...new Set([...before.nodes.keys(), ...after.nodes.keys()])].sort();
  for (const node of nodes) {
    const ports = portsByNode.get(node) ?? new Map<string, number>();
    const list = owners ? owners.get(node) : allOwners(before, after);
    if (!list?.length) continue;
    const oldView = before.nodes.has(node) ? viewOf(was, node, ports) : undefined;
    const newView = after.nodes.has(node) ? viewOf(now, node, ports) : undefined;
    const oldFlows = oldView ? list.flatMap((o) => compileOwner(was, oldView, o)) : [];
    const newFlows = newView ? list.flatMap((o) => compileOwner(now, newView, o)) : [];
    const d = diffFlows(oldFlows, newFlows);
    if (diffSize(d)) plan.set(node, d);
  }
  return plan;
}

function allOwners(before: CloudIndex, after: CloudIndex): Owner[] {
  const owners = new Map<string, Owner>([['node', { kind: 'node' }]]);
  for (const idx of [before, after]) {
    for (const s of idx.subnetList) owners.set(`subnet:${s.subnet.name}`, { kind: 'subnet', name: s.subnet.name });
    for (const v of idx.vmList) owners.set(`vm:${v.vm.name}`, { kind: 'vm', name: v.vm.name });
  }
  return [...owners.values()];
}

/** Adding one VM: the new index and the flow-mods for every node. */
export function planVmAdd(before: CloudIndex, vm: Vm, portsByNode: ReadonlyMap<string, PortMap>): { index: CloudIndex; plan: ChangePlan } {
  const index = indexWithVm(before, vm);
  return { index, plan: planChange(before, index, { kind: 'vm', name: vm.name }, portsByNode) };
}

/** Removing one VM: the new index and the flow-mods for every node. */
export function planVmRemove(before: CloudIndex, name: string, portsByNode: ReadonlyMap<string, PortMap>): { index: CloudIndex; plan: ChangePlan } {
  const index = indexWithoutVm(before, name);
  return { index, plan: planChange(before, index, { kind: 'vm', name }, portsByNode) };
}

/** Total flow-mods in a plan. */
export function planSize(plan: ChangePlan): number {
  let n = 0;
  for (const d of plan.values()) n += diffSize(d);
  return n;
}
