// Compiling: a node's whole pipeline is the flows of every stage its roles call for, owner by owner (the node,
// then each subnet, then each VM, in name order). Same index and ports in, same list out.
import type { FlowMod } from '../openflow/index.js';
import type { CloudNode } from '../topology/model.js';
import type { CloudIndex } from './cloud-index.js';
import type { BroadcastMode, DhcpMode } from './modes.js';
import { CompileContext, nodeView, type NodeView, type PortMap, type Stage } from './stage.js';
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
  const info = ctx.index.nodes.get(nodeName);
  if (!info) throw new Error(`unknown node '${nodeName}'`);
  const view = nodeView(info, ports);
  const use = stages ?? stagesFor(view.node);
  const out: FlowMod[] = [];
  const withNode = use.filter((s) => s.node);
  const withSubnet = use.filter((s) => s.subnet);
  const withVm = use.filter((s) => s.vm);
  for (const s of withNode) pushAll(out, s.node!(ctx, view));
  for (const subnet of ctx.index.subnetList) for (const s of withSubnet) pushAll(out, s.subnet!(ctx, view, subnet));
  return withVm.length ? withVmSection(out, ctx, view, withVm) : out;
}

/**
 * The VM part of a node's list. For a VM hosted elsewhere, a stage's `vm` hook may depend only on the VM and the
 * node's vxlan-int port number (the contract that lets flows be shared), so that part is one template per (stages,
 * vxlan-int port), built once and copied into each node's list; the node's own VMs are compiled in between.
 * The result equals calling every stage for every VM in order (test/pipeline/stages.test.ts checks it).
 */
function withVmSection(head: FlowMod[], ctx: CompileContext, view: NodeView, stages: readonly Stage[]): FlowMod[] {
  const vms = ctx.index.vmList;
  const key = `${stages.map((s) => s.name).join('+')}|${view.vxlanInt ?? '-'}`;
  let template = ctx.get<VmTemplate>(vms, key);
  if (!template) {
    const remote: NodeView = { ...view, info: NOWHERE };
    const flows: FlowMod[] = [];
    const starts = new Uint32Array(vms.length + 1);
    for (let i = 0; i < vms.length; i++) {
      starts[i] = flows.length;
      for (const s of stages) pushAll(flows, s.vm!(ctx, remote, vms[i]!));
    }
    starts[vms.length] = flows.length;
    template = ctx.set<VmTemplate>(vms, key, { flows, starts });
  }
  // The node's own VMs, then one exactly-sized array: growing a 30,000-element array push by push costs more in
  // garbage collection than everything else here.
  const local = localOrdinals(ctx, view.node.name);
  const own: (readonly FlowMod[])[] = [];
  let total = head.length + template.flows.length;
  for (const k of local) {
    const flows: FlowMod[] = [];
    for (const s of stages) pushAll(flows, s.vm!(ctx, view, vms[k]!));
    own.push(flows);
    total += flows.length - (template.starts[k + 1]! - template.starts[k]!);
  }
  // new Array(n) preallocates (below V8's 100,000-element limit); setting .length on a small array would not.
  const out = new Array<FlowMod>(total);
  let at = copyRange(out, 0, head, 0, head.length);
  let from = 0;
  for (let j = 0; j < local.length; j++) {
    const k = local[j]!;
    at = copyRange(out, at, template.flows, template.starts[from]!, template.starts[k]!);
    at = copyRange(out, at, own[j]!, 0, own[j]!.length);
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
