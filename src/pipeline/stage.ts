// What a stage is. A stage builds the flows one role needs, split by *owner* (the node itself, one subnet, one VM)
// so that a VM's flows on the nodes that do not host it are built once and shared (compile.ts). Stages are pure:
// same index, node and ports in, same flows (same order) out.
import type { FlowMod } from '../openflow/index.js';
import type { CloudNode } from '../topology/model.js';
import { hasRole, parseCidr, PORT_VXLAN_INT, PORT_VXLAN_SW, type Cidr } from '../topology/model.js';
import { DEFAULT_TRANSIT_RANGE } from '../topology/north-south.js';
import type { CloudIndex, NodeInfo, SubnetInfo, VmInfo } from './cloud-index.js';
import type { StageName } from './cookie.js';
import type { BroadcastMode, DhcpMode } from './modes.js';
import { DEFAULT_OVERLAY_MTU } from './mtu.js';

/** OpenFlow port numbers of a node's br0, by interface name, as learned from the switch (never assumed). */
export type PortMap = ReadonlyMap<string, number>;

/** The node being compiled, with the port numbers stages keep asking for. */
export interface NodeView {
  readonly info: NodeInfo;
  readonly node: CloudNode;
  readonly ports: PortMap;
  readonly vxlanInt: number | undefined;
  readonly vxlanSw: number | undefined;
}

export function nodeView(info: NodeInfo, ports: PortMap): NodeView {
  return { info, node: info.node, ports, vxlanInt: ports.get(PORT_VXLAN_INT), vxlanSw: ports.get(PORT_VXLAN_SW) };
}

/**
 * Per-compile memo for flows that are identical on many nodes (a remote VM's flows differ between nodes only by the
 * vxlan-int port number): built once, the same objects referenced from every node's list. Keyed by the owner's
 * index object (a VmInfo, SubnetInfo...) and a slot, so the hot path hashes no strings.
 */
export class CompileContext {
  private readonly memo = new Map<object, Map<string | number, unknown>>();
  /** The IP MTU inside the overlay (mtu.ts): frames longer than this + 14 never enter the tunnel. */
  readonly overlayMtu: number;
  /**
   * Who answers a VM's DHCP (dhcp-punt.ts). The daemon's default is 'controller' (`network.dhcp`); compiled without
   * the option, a cloud keeps the seed's DHCP node ('node'), which the reference pipeline documents.
   */
  readonly dhcp: DhcpMode;
  /** Who replicates broadcast (head-end.ts); as with `dhcp`, the daemon's default is 'head-end', the seed's 'switch-node'. */
  readonly broadcast: BroadcastMode;
  /** `network.transitRange` (north-south.ts): what a gateway never lets a VM reach through its kernel, nor its kernel forward back in. */
  readonly transitRange: Cidr;
  /**
   * The context of the cloud's last revision, when there was one: flows equal to one it built are taken from it
   * (compile.ts), so that a change of one VM leaves every other flow object as the sync last saw it.
   */
  previous: CompileContext | undefined;
  constructor(
    readonly index: CloudIndex,
    options: {
      readonly overlayMtu?: number;
      readonly dhcp?: DhcpMode;
      readonly broadcast?: BroadcastMode;
      readonly transitRange?: Cidr;
      readonly previous?: CompileContext;
    } = {},
  ) {
    this.transitRange = options.transitRange ?? parseCidr(DEFAULT_TRANSIT_RANGE);
    this.overlayMtu = options.overlayMtu ?? DEFAULT_OVERLAY_MTU;
    this.dhcp = options.dhcp ?? 'node';
    this.broadcast = options.broadcast ?? 'switch-node';
    // One generation back only: the one before it is let go.
    if (options.previous) options.previous.previous = undefined;
    this.previous = options.previous;
  }

  /** The memoised value for (owner, slot), or undefined. Call sites check before building: no closure per call. */
  get<T>(owner: object, slot: string | number): T | undefined {
    return this.memo.get(owner)?.get(slot) as T | undefined;
  }

  set<T>(owner: object, slot: string | number, value: T): T {
    let slots = this.memo.get(owner);
    if (!slots) this.memo.set(owner, (slots = new Map()));
    slots.set(slot, value);
    return value;
  }
}

/** The empty result, shared (stages return it for owners they have nothing for). */
export const NONE: readonly never[] = Object.freeze([]);

export interface Stage {
  readonly name: StageName;
  readonly applies: (node: CloudNode) => boolean;
  /** Flows owned by the node itself (table misses, port classification, tunnel rules). */
  readonly node?: (ctx: CompileContext, view: NodeView) => readonly FlowMod[];
  readonly subnet?: (ctx: CompileContext, view: NodeView, subnet: SubnetInfo) => readonly FlowMod[];
  readonly vm?: (ctx: CompileContext, view: NodeView, vm: VmInfo) => readonly FlowMod[];
}

/** Whether the viewed node filters its VMs' traffic (security groups, tables 1-3 and 30-32): a compute node of a cloud with groups. */
export function sgEnforced(ctx: CompileContext, view: NodeView): boolean {
  return ctx.index.sg !== undefined && hasRole(view.node, 'compute');
}

/** The VMs of `subnet` on the viewed node whose port is known, with their port numbers, in name order. */
export function localPorts(ctx: CompileContext, view: NodeView, subnet: string): { readonly vm: VmInfo; readonly port: number }[] {
  const out: { vm: VmInfo; port: number }[] = [];
  for (const vm of ctx.index.localVms.get(view.node.name)?.get(subnet) ?? []) {
    const port = view.ports.get(vm.vm.port);
    if (port !== undefined) out.push({ vm, port });
  }
  return out;
}
