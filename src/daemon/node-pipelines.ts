// Which datapath is which node, and what each must hold: the node's compiled pipeline, with port numbers learned from
// the switch by interface name. Made before the runtime's Controller (it gives the Controller `desiredState`,
// `manages`, `nodeOf` and `pinnedAddresses`); reads the cloud through callbacks, so it needs nothing made after it.
//
// Node <-> datapath: every node's br0 has a datapath id derived from the node's name (`dpidForNode`: "MC" in the top
// 16 bits, then 48 bits of SHA-256 of the name), set at bootstrap as `other_config:datapath-id`. Nothing is stored:
// the mapping is a pure function of the name, so it survives controller restarts, store restores and switch
// reinstalls, and a switch can be mapped on its first HELLO without any registration step. A bridge that can't carry
// the derived id is mapped by `openflow.datapathIds` in the config (node name -> dpid). A datapath that maps to no
// node is not synced when it connects (`manages`): it stays connected, holds no sync slot, and is synced as soon as
// its node is added (the apply after addNode). An explicit resync of it (after its node was removed) gives it an empty
// desired state: our flows (by cookie) are removed from it and nobody else's are touched.
//
// With `openflow.pinAddresses`, a node's datapath id is admitted only from the node's own addresses
// (`pinnedAddresses`: underlayIp, serviceIp and the host of its sshTarget when that is an IP address).
import { createHash } from 'node:crypto';
import { OFPP, type FlowMod } from '../openflow/index.js';
import { indexCloud, indexCloudSteps, type CloudIndex } from '../pipeline/cloud-index.js';
import { compileNode, compileNodeSteps, sharedRowsSteps } from '../pipeline/compile.js';
import { DHCP_METER_MOD } from '../pipeline/dhcp-punt.js';
import type { BroadcastMode, DhcpMode } from '../pipeline/modes.js';
import { DEFAULT_UNDERLAY_MTU, overlayMtuFor, PATH_MTU_METER_MOD } from '../pipeline/mtu.js';
import { CompileContext } from '../pipeline/stage.js';
import { formatDpid, runInTurns, type Datapath, type DesiredState, type Pause } from '../runtime/index.js';
import { DEFAULT_DOMAIN, hasRole, isOverlayEndpoint, parseCidr, type Cloud } from '../topology/model.js';
import type { Log } from '../cloud/index.js';

/**
 * The datapath id a node's br0 gets at bootstrap and is known by: its `openflow.datapathIds` entry when `overrides`
 * has one, else 0x4d43 ("MC") then the first 48 bits of sha256(name). Provisioning and the pipelines both ask here.
 */
export function dpidForNode(name: string, overrides?: Readonly<Record<string, string>>): bigint {
  // Own keys only: a node may be called "constructor".
  if (overrides !== undefined && Object.hasOwn(overrides, name)) return BigInt(`0x${overrides[name]}`);
  const h = createHash('sha256').update(`minicloud-node:${name}`).digest();
  return (0x4d43n << 48n) | BigInt(h.readUIntBE(0, 6));
}

/** As `ovs-vsctl set bridge br0 other_config:datapath-id=...` wants it. */
export function dpidTextForNode(name: string, overrides?: Readonly<Record<string, string>>): string {
  return formatDpid(dpidForNode(name, overrides));
}

/** A VM as its DHCP lease describes it. */
export interface DhcpClient {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly ip: number;
  readonly prefixLength: number;
  readonly gatewayIp: number;
}

export interface PipelinesOptions {
  /** The cloud as stored now. */
  readonly cloud: () => Cloud;
  /** A number that changes whenever the cloud does (the store's revision): the compiled index is cached by it. */
  readonly revision?: () => number;
  /** Node name -> dpid (16 hex digits), for bridges that don't carry the derived id. */
  readonly datapathIds?: Readonly<Record<string, string>>;
  readonly log?: Log;
  /** More addresses a node's switch may connect from (with pinning), e.g. the host of its sshTarget. */
  readonly extraAddresses?: (node: string) => readonly string[];
  /** network.underlayMtu and its per-node overrides (default 1500 everywhere). */
  readonly mtu?: { readonly underlayMtu: number; readonly underlayMtuByNode: Readonly<Record<string, number>> };
  /** Who answers VMs' DHCP (`network.dhcp`; default 'controller'). */
  readonly dhcp?: DhcpMode;
  /** Who replicates broadcast (`network.broadcast`; default 'head-end'). */
  readonly broadcast?: BroadcastMode;
  /** `network.transitRange` (topology/north-south.ts). Default 100.64.0.0/16. */
  readonly transitRange?: string;
}

const isOverlayEndpointName = (index: CloudIndex, node: string): boolean => {
  const n = index.nodes.get(node)?.node;
  return n !== undefined && isOverlayEndpoint(n);
};

type Compiled = { readonly revision: number; readonly cloud: Cloud; readonly index: CloudIndex; readonly ctx: CompileContext };

export class NodePipelines {
  private compiled: Compiled | undefined;
  /** An index being built in turns (desiredState with a pause), shared by every sync that needs it. */
  private preparing: { revision: number; done: Promise<Compiled> } | undefined;
  /** Shared rows being built in turns, by context and template key (one build each, however many syncs wait). */
  private readonly building = new WeakMap<CompileContext, Map<string, Promise<unknown>>>();
  /** The cloud of the latest revision seen (reading it may be a whole store read: once per revision). */
  private snapshot: { revision: number; cloud: Cloud } | undefined;
  /** Datapath ids by node name (a SHA-256 each: worth keeping). */
  private readonly dpids = new Map<string, bigint>();
  private byDpid: { cloud: Cloud; nodes: Map<bigint, string> } | undefined;

  constructor(private readonly opts: PipelinesOptions) {}

  /**
   * The `desiredState` callback for the runtime's Controller (set it before `controller.start()`). With `pause`
   * (the Controller gives its own), the long parts (indexing a new revision, the rows every node shares) run in
   * bounded chunks with `pause` between them: one revision of a 10k-VM cloud is about 200 ms of one core, which
   * would otherwise hold the event loop (echo replies, new switches, the API) for that long.
   */
  readonly desiredState = (dpid: bigint, dp: Datapath, pause?: Pause): DesiredState | Promise<DesiredState> => {
    const node = this.nodeOf(dpid);
    if (node === undefined) {
      this.opts.log?.warn({ dpid: formatDpid(dpid) }, 'datapath belongs to no node: only our flows are removed from it');
      return { flows: [] };
    }
    if (pause === undefined) return this.desiredOf(node, this.current(), dp);
    return this.desiredInTurns(node, dp, pause);
  };

  private async desiredInTurns(node: string, dp: Datapath, pause: Pause): Promise<DesiredState> {
    const compiled = await this.prepared(pause);
    if (compiled.index.nodes.has(node)) {
      const shared = sharedRowsSteps(compiled.ctx, node, portMap(dp));
      if (shared) {
        let builds = this.building.get(compiled.ctx);
        if (!builds) this.building.set(compiled.ctx, (builds = new Map()));
        let build = builds.get(shared.key);
        if (!build) {
          const mine = builds;
          build = runInTurns(shared.steps, pause).finally(() => mine.delete(shared.key));
          builds.set(shared.key, build);
        }
        await build;
      }
    }
    const flows = compiled.index.nodes.has(node) ? await runInTurns(compileNodeSteps(compiled.ctx, node, portMap(dp)), pause) : [];
    return this.withMeters(compiled, node, flows);
  }

  private desiredOf(node: string, compiled: Compiled, dp: Pick<Datapath, 'ports'>): DesiredState {
    return this.withMeters(compiled, node, this.compileWith(compiled, node, dp));
  }

  private withMeters({ index, ctx }: Compiled, node: string, flows: FlowMod[]): DesiredState {
    // The path-MTU punt row (table 20) and the DHCP punt rows name their meters: installed by the sync before the
    // bundle that needs them.
    if (!isOverlayEndpointName(index, node)) return { flows, meters: [] };
    // With `dhcp: node`, VMs of domains other than the default one still get their DHCP from the controller (compute stage).
    const dhcpPunts = (ctx.dhcp === 'controller' || index.subnetList.some((s) => s.domain !== DEFAULT_DOMAIN)) && hasRole(index.nodes.get(node)!.node, 'compute');
    return { flows, meters: dhcpPunts ? [PATH_MTU_METER_MOD, DHCP_METER_MOD] : [PATH_MTU_METER_MOD] };
  }

  /** The node's pipeline for the given datapath's ports (exported for tests and `minicloud flows --desired`). */
  compile(node: string, dp: Pick<Datapath, 'ports'>): FlowMod[] {
    return this.compileWith(this.current(), node, dp);
  }

  private compileWith({ ctx, index }: Compiled, node: string, dp: Pick<Datapath, 'ports'>): FlowMod[] {
    if (!index.nodes.has(node)) return [];
    return compileNode(ctx, node, portMap(dp));
  }

  dpidOf(node: string): bigint {
    let d = this.dpids.get(node);
    if (d === undefined) this.dpids.set(node, (d = dpidForNode(node, this.opts.datapathIds)));
    return d;
  }

  /** The node a datapath id belongs to, among the nodes of the current cloud (a map kept per cloud revision). */
  nodeOf(dpid: bigint): string | undefined {
    // The cloud only, not its index: a switch connecting must not wait for a new revision to be indexed.
    const cloud = this.cloudNow();
    if (this.byDpid?.cloud !== cloud) this.byDpid = { cloud, nodes: new Map(cloud.nodes.map((n) => [this.dpidOf(n.name), n.name])) };
    return this.byDpid.nodes.get(dpid);
  }

  /** Whether the datapath belongs to a node (the Controller's `manages`: only those are synced on connect). */
  manages(dpid: bigint): boolean {
    return this.nodeOf(dpid) !== undefined;
  }

  /** With `openflow.pinAddresses`: the addresses a node's datapath may connect from; undefined for no node. */
  pinnedAddresses(dpid: bigint): readonly string[] | undefined {
    const name = this.nodeOf(dpid);
    if (name === undefined) return undefined;
    const node = this.cloudNow().nodes.find((n) => n.name === name);
    if (!node) return undefined;
    const out = new Set([node.underlayIp, ...(node.serviceIp !== undefined ? [node.serviceIp] : []), ...(this.opts.extraAddresses?.(name) ?? [])]);
    return [...out];
  }

  // --- path MTU (src/daemon/path-mtu.ts, the VM backends)

  /** The VM attached to interface `port` of `node`'s br0, with its MAC and its subnet's gateway IP. */
  vmAtPort(node: string, port: string): { readonly mac: Uint8Array; readonly gatewayIp: number } | undefined {
    const { index } = this.current();
    const name = index.vmByAddress.get(`port ${node}/${port}`);
    const vm = name === undefined ? undefined : index.vms.get(name);
    return vm && { mac: vm.mac, gatewayIp: vm.subnet.gatewayIp };
  }

  /** DHCP (src/daemon/dhcp.ts): the VM at interface `port` of `node`, with what its lease says. */
  dhcpClientAt(node: string, port: string): DhcpClient | undefined {
    const { index } = this.current();
    const name = index.vmByAddress.get(`port ${node}/${port}`);
    const vm = name === undefined ? undefined : index.vms.get(name);
    if (!vm || vm.host.node.name !== node) return undefined;
    const prefixLength = Number(vm.subnet.subnet.cidr.split('/')[1]);
    return { name: vm.vm.name, mac: vm.mac, ip: vm.ip, prefixLength, gatewayIp: vm.subnet.gatewayIp };
  }

  /** Who answers VMs' DHCP in this cloud now. */
  dhcpMode(): DhcpMode {
    return this.current().ctx.dhcp;
  }

  /** The cloud's overlay MTU now (network.underlayMtu, per-node overrides, minus VXLAN's 50 bytes). */
  overlayMtu(): number {
    return this.current().ctx.overlayMtu;
  }

  // --- the compiled cloud, cached by store revision

  current(): Compiled {
    const revision = this.opts.revision?.() ?? -1;
    if (!this.compiled || revision === -1 || this.compiled.revision !== revision) {
      const cloud = this.cloudAt(revision);
      this.compiled = this.contextFor(revision, cloud, indexCloud(cloud));
    }
    return this.compiled;
  }

  /** `current()`, the index built in turns with `pause` between chunks; concurrent callers share one build. */
  private async prepared(pause: Pause): Promise<Compiled> {
    const revision = this.opts.revision?.() ?? -1;
    if (this.compiled && revision !== -1 && this.compiled.revision === revision) return this.compiled;
    if (this.preparing && revision !== -1 && this.preparing.revision === revision) return this.preparing.done;
    const cloud = this.cloudAt(revision);
    const done = runInTurns(indexCloudSteps(cloud), pause).then((index) => {
      // A synchronous current() may have indexed this revision meanwhile: one context per revision.
      if (this.compiled && revision !== -1 && this.compiled.revision === revision) return this.compiled;
      const compiled = this.contextFor(revision, cloud, index);
      // Kept unless the store moved on meanwhile (a restore may even move it back).
      if (revision === (this.opts.revision?.() ?? -1)) this.compiled = compiled;
      return compiled;
    });
    const entry = { revision, done };
    this.preparing = entry;
    const clear = (): void => {
      if (this.preparing === entry) this.preparing = undefined;
    };
    done.then(clear, clear);
    return done;
  }

  private contextFor(revision: number, cloud: Cloud, index: CloudIndex): Compiled {
    const mtu = this.opts.mtu ?? { underlayMtu: DEFAULT_UNDERLAY_MTU, underlayMtuByNode: {} };
    const overlayMtu = overlayMtuFor(cloud.nodes.map((n) => n.name), mtu.underlayMtu, mtu.underlayMtuByNode);
    // The last revision's context goes along: flows equal to its flows are its objects (no re-encoding, no diff).
    return {
      revision,
      cloud,
      index,
      ctx: new CompileContext(index, {
        overlayMtu,
        dhcp: this.opts.dhcp ?? 'controller',
        broadcast: this.opts.broadcast ?? 'head-end',
        ...(this.opts.transitRange !== undefined && { transitRange: parseCidr(this.opts.transitRange) }),
        ...(this.compiled && { previous: this.compiled.ctx }),
      }),
    };
  }

  private cloudNow(): Cloud {
    return this.cloudAt(this.opts.revision?.() ?? -1);
  }

  private cloudAt(revision: number): Cloud {
    if (this.snapshot && revision !== -1 && this.snapshot.revision === revision) return this.snapshot.cloud;
    const cloud = this.opts.cloud();
    this.snapshot = { revision, cloud };
    return cloud;
  }
}

/** The switch's port numbers by interface name (reserved ports left out). */
function portMap(dp: Pick<Datapath, 'ports'>): Map<string, number> {
  const ports = new Map<string, number>();
  for (const p of dp.ports) if (p.portNo < OFPP.MAX) ports.set(p.name, p.portNo);
  return ports;
}
