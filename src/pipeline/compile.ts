// Compiling: a node's whole pipeline is the flows of every stage its roles call for, owner by owner (the node,
// then each subnet, then each VM, in name order). Same index and ports in, same list out.
import type { FlowMod } from '../openflow/index.js';
import type { CloudNode } from '../topology/model.js';
import type { CloudIndex } from './cloud-index.js';
import type { BroadcastMode, DhcpMode } from './modes.js';
import { reuseFlows, sameValue } from './same-flow.js';
import { CompileContext, nodeView, type NodeView, type PortMap, type Stage } from './stage.js';
import { runSteps, STEP_ITEMS, type Steps } from './steps.js';
import { computeStage } from './stages/compute.js';
import { dhcpStage } from './stages/dhcp.js';
import { endpointStage } from './stages/endpoint.js';
import { gatewayStage } from './stages/gateway.js';
import { managementStage } from './stages/management.js';
import { securityGroupStage } from './stages/security-groups.js';
import { switchStage } from './stages/switch.js';

/** Every stage, in the order their flows are listed. */
export const STAGES: readonly Stage[] = [endpointStage, computeStage, securityGroupStage, gatewayStage, dhcpStage, switchStage, managementStage];

export function stagesFor(node: CloudNode): Stage[] {
  return STAGES.filter((s) => s.applies(node));
}

/** Every flow of the given stages on one node (all of them by default). */
export function compileNode(
  index: CloudIndex | CompileContext,
  nodeName: string,
  ports: PortMap,
  stages?: readonly Stage[],
): FlowMod[] {
  const ctx = index instanceof CompileContext ? index : new CompileContext(index);
  return runSteps(compileNodeSteps(ctx, nodeName, ports, stages));
}

/**
 * `compileNode` in bounded chunks (steps.ts). The rows shared with other nodes are built here too when missing:
 * a caller compiling many nodes at once should build them first (`sharedRowsSteps`), once.
 */
export function* compileNodeSteps(ctx: CompileContext, nodeName: string, ports: PortMap, stages?: readonly Stage[]): Steps<FlowMod[]> {
  const plan = planNode(ctx, nodeName, ports, stages);
  const template = plan.withVm.length ? yield* vmTemplateSteps(ctx, plan.withVm, plan.view) : undefined;
  const own = yield* nodeOwnSteps(ctx, plan);
  return template ? withVmSection(own, ctx, template) : own.head.slice();
}

/**
 * The part of `compileNode` that is the same on many nodes (the rows of every VM hosted elsewhere), built in
 * chunks of VMs; once built, `compileNode` of any node sharing it costs that node's own rows and a copy. `key`
 * names it: two builds of one key at once are one too many (the first to finish is kept either way).
 */
export function sharedRowsSteps(ctx: CompileContext, nodeName: string, ports: PortMap, stages?: readonly Stage[]): { key: string; steps: Steps<unknown> } | undefined {
  const plan = planNode(ctx, nodeName, ports, stages);
  if (!plan.withVm.length) return undefined;
  return { key: templateKey(plan.withVm, plan.view), steps: vmTemplateSteps(ctx, plan.withVm, plan.view) };
}

interface NodePlan {
  readonly view: NodeView;
  readonly withNode: readonly Stage[];
  readonly withSubnet: readonly Stage[];
  readonly withVm: readonly Stage[];
}

function planNode(ctx: CompileContext, nodeName: string, ports: PortMap, stages?: readonly Stage[]): NodePlan {
  const info = ctx.index.nodes.get(nodeName);
  if (!info) throw new Error(`unknown node '${nodeName}'`);
  const view = nodeView(info, ports);
  const use = stages ?? stagesFor(view.node);
  return { view, withNode: use.filter((s) => s.node), withSubnet: use.filter((s) => s.subnet), withVm: use.filter((s) => s.vm) };
}

/** A node's own rows: those of the node and its subnets (`head`), and of each VM it hosts (by VM name). */
interface NodeOwn {
  readonly head: FlowMod[];
  readonly vms: ReadonlyMap<string, readonly FlowMod[]>;
  /** Positions in vmList of the VMs the node hosts, ascending. */
  readonly local: readonly number[];
  /** The port map they were compiled for (portsKey). */
  readonly ports: string;
}

const stagesKey = (stages: readonly Stage[]): string => stages.map((s) => s.name).join('+');
const templateKey = (stages: readonly Stage[], view: NodeView): string => `${stagesKey(stages)}|${view.vxlanInt ?? '-'}`;

/** The node's own rows, taking each flow equal to one of the previous context's compile of the node from there. */
function* nodeOwnSteps(ctx: CompileContext, plan: NodePlan): Steps<NodeOwn> {
  const { view } = plan;
  const slot = `own|${view.node.name}|${stagesKey([...plan.withNode, ...plan.withSubnet, ...plan.withVm])}`;
  const ports = portsKey(view.ports);
  // This context's last compile of the node first (same revision, other ports perhaps), else the previous one's.
  const mine = ctx.get<NodeOwn>(ctx.index, slot);
  // Same revision, same ports: the very same rows (stages are pure).
  if (mine !== undefined && mine.ports === ports) return mine;
  const prev = mine ?? ctx.previous?.get<NodeOwn>(ctx.previous.index, slot);
  const head: FlowMod[] = [];
  for (const s of plan.withNode) pushAll(head, s.node!(ctx, view));
  const subnets = ctx.index.subnetList;
  for (let i = 0; i < subnets.length; i++) {
    // A subnet's rows on a node: a handful of flows each, 345 subnets at 10k VMs.
    if (i > 0 && i % (STEP_ITEMS / 4) === 0) yield;
    for (const s of plan.withSubnet) pushAll(head, s.subnet!(ctx, view, subnets[i]!));
  }
  const vms = new Map<string, readonly FlowMod[]>();
  const local = plan.withVm.length ? localOrdinals(ctx, view.node.name) : [];
  for (let j = 0; j < local.length; j++) {
    if (j > 0 && j % (STEP_ITEMS / 4) === 0) yield;
    const vm = ctx.index.vmList[local[j]!]!;
    const flows: FlowMod[] = [];
    for (const s of plan.withVm) pushAll(flows, s.vm!(ctx, view, vm));
    vms.set(vm.vm.name, reuseFlows(prev?.vms.get(vm.vm.name), flows));
  }
  if (prev !== undefined && prev.head.length === head.length) {
    for (let i = 0; i < head.length; i += STEP_ITEMS) {
      yield;
      reuseRange(head, i, prev.head, i, Math.min(head.length, i + STEP_ITEMS));
    }
  }
  // The last compile of each node is kept (with its ports of then): what the next revision reuses from.
  return ctx.set<NodeOwn>(ctx.index, slot, { head, vms, local, ports });
}

/** A port map as one string (the switch lists its ports in no particular order). */
function portsKey(ports: PortMap): string {
  return [...ports].map(([name, no]) => `${no}=${name}`).sort().join('\n');
}

/**
 * The rows of every VM for a node that hosts none of them: one template per (stages, vxlan-int port), built once per
 * context and copied into each node's list. A stage's `vm` hook for a VM hosted elsewhere may depend only on the VM
 * and the node's vxlan-int port number (the contract that lets flows be shared). Each VM's rows equal to those the
 * previous context built for it are taken from there.
 */
function* vmTemplateSteps(ctx: CompileContext, stages: readonly Stage[], view: NodeView): Steps<VmTemplate> {
  const vms = ctx.index.vmList;
  const key = templateKey(stages, view);
  const built = ctx.get<VmTemplate>(vms, key);
  if (built) return built;
  const previous = ctx.previous;
  const prev = previous?.get<VmTemplate>(previous.index.vmList, key);
  const prevVms = previous?.index.vmList ?? [];
  const remote: NodeView = { ...view, info: NOWHERE };
  const flows: FlowMod[] = [];
  const starts = new Uint32Array(vms.length + 1);
  let p = 0;
  for (let i = 0; i < vms.length; i++) {
    if (i > 0 && i % STEP_ITEMS === 0) yield;
    const vm = vms[i]!;
    starts[i] = flows.length;
    const at = flows.length;
    for (const s of stages) pushAll(flows, s.vm!(ctx, remote, vm));
    if (prev === undefined) continue;
    // Both lists are in name order: walk the previous one along.
    while (p < prevVms.length && prevVms[p]!.vm.name < vm.vm.name) p++;
    if (p < prevVms.length && prevVms[p]!.vm.name === vm.vm.name && flows.length - at === prev.starts[p + 1]! - prev.starts[p]!) {
      reuseRange(flows, at, prev.flows, prev.starts[p]!, prev.starts[p + 1]!);
    }
  }
  starts[vms.length] = flows.length;
  // A build that ran meanwhile and finished first is kept: nodes compiled since share its objects.
  return ctx.get<VmTemplate>(vms, key) ?? ctx.set<VmTemplate>(vms, key, { flows, starts });
}

/** flows[at, at + to - from) takes prev[from, to) element by element where equal. */
function reuseRange(flows: FlowMod[], at: number, prev: readonly FlowMod[], from: number, to: number): void {
  for (let i = 0; i < to - from; i++) if (sameValue(flows[at + i], prev[from + i])) flows[at + i] = prev[from + i]!;
}

/**
 * The node's list: its head, then the template with the node's own VMs in their places. The result equals calling
 * every stage for every VM in order (test/pipeline/stages.test.ts checks it).
 */
function withVmSection(own: NodeOwn, ctx: CompileContext, template: VmTemplate): FlowMod[] {
  const vms = ctx.index.vmList;
  const head = own.head;
  const local = own.local;
  const mine: (readonly FlowMod[])[] = [];
  let total = head.length + template.flows.length;
  for (const k of local) {
    const flows = own.vms.get(vms[k]!.vm.name)!;
    mine.push(flows);
    total += flows.length - (template.starts[k + 1]! - template.starts[k]!);
  }
  // One exactly-sized array: growing a 30,000-element array push by push costs more in garbage collection than
  // everything else here. new Array(n) preallocates (below V8's 100,000-element limit); setting .length on a small
  // array would not.
  const out = new Array<FlowMod>(total);
  let at = copyRange(out, 0, head, 0, head.length);
  let from = 0;
  for (let j = 0; j < local.length; j++) {
    const k = local[j]!;
    at = copyRange(out, at, template.flows, template.starts[from]!, template.starts[k]!);
    at = copyRange(out, at, mine[j]!, 0, mine[j]!.length);
    from = k + 1;
  }
  copyRange(out, at, template.flows, template.starts[from]!, template.starts[vms.length]!);
  return out;
}

interface VmTemplate {
  readonly flows: readonly FlowMod[];
  /** starts[i] = offset of VM i's flows (vmList order); starts[n] = the end. */
  readonly starts: Uint32Array;
}

/** A node no VM is hosted on (the view the template is built with). */
const NOWHERE: NodeView['info'] = { node: { name: '', roles: [], underlayIp: '0.0.0.0' }, tunnelIp: 0, tunnelIpText: '0.0.0.0' };

/** Positions in vmList of the VMs hosted on `node`, ascending. */
function localOrdinals(ctx: CompileContext, node: string): number[] {
  const perSubnet = ctx.index.localVms.get(node);
  if (!perSubnet) return [];
  let ordinal = ctx.get<Map<unknown, number>>(ctx.index, 'vm-ordinal');
  if (!ordinal) {
    ordinal = new Map(ctx.index.vmList.map((v, i) => [v, i] as const));
    ctx.set(ctx.index, 'vm-ordinal', ordinal);
  }
  const out: number[] = [];
  for (const list of perSubnet.values()) for (const v of list) out.push(ordinal.get(v)!);
  return out.sort((a, b) => a - b);
}

/** Copies from[start, end) into out at `at`; returns the next position. */
function copyRange<T>(out: T[], at: number, from: readonly T[], start: number, end: number): number {
  for (let i = start; i < end; i++) out[at++] = from[i]!;
  return at;
}

/** Every node's pipeline, sharing identical flows between nodes. Nodes without a port map compile with none known. */
export function compileCloud(index: CloudIndex, portsByNode: ReadonlyMap<string, PortMap>, modes?: { readonly dhcp?: DhcpMode; readonly broadcast?: BroadcastMode }): Map<string, FlowMod[]> {
  const ctx = new CompileContext(index, modes);
  const out = new Map<string, FlowMod[]>();
  for (const name of index.nodes.keys()) out.set(name, compileNode(ctx, name, portsByNode.get(name) ?? new Map()));
  return out;
}

/** One role's stage on its own: `(model, node, ports) => FlowMod[]`. */
export function stageFlows(stage: Stage, index: CloudIndex, nodeName: string, ports: PortMap): FlowMod[] {
  return compileNode(index, nodeName, ports, [stage]);
}

export const computeFlows = (index: CloudIndex, node: string, ports: PortMap): FlowMod[] => stageFlows(computeStage, index, node, ports);
export const gatewayFlows = (index: CloudIndex, node: string, ports: PortMap): FlowMod[] => stageFlows(gatewayStage, index, node, ports);
export const dhcpFlows = (index: CloudIndex, node: string, ports: PortMap): FlowMod[] => stageFlows(dhcpStage, index, node, ports);
export const switchFlows = (index: CloudIndex, node: string, ports: PortMap): FlowMod[] => stageFlows(switchStage, index, node, ports);
export const endpointFlows = (index: CloudIndex, node: string, ports: PortMap): FlowMod[] => stageFlows(endpointStage, index, node, ports);
export const managementFlows = (index: CloudIndex, node: string, ports: PortMap): FlowMod[] => stageFlows(managementStage, index, node, ports);

function pushAll<T>(out: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) out.push(items[i]!);
}
