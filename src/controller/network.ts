// The network glue between the cloud model and the OpenFlow runtime: which datapath is which node, what each
// datapath must hold (the node's compiled pipeline, with port numbers learned from the switch by interface name),
// and the CloudService collaborators that read or change the switches (NetworkApplier, FlowReader, DatapathView,
// Resyncer) plus the StatsPoller's StatsSource and the runtime-event metrics.
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
import { isIP } from 'node:net';
import type { Metrics, TableCounters } from '../api/metrics.js';
import type { PortStats as PolledPortStats, StatsSource } from '../api/stats-poller.js';
import { OFPP, OFPTT } from '../openflow/consts.js';
import { formatFlow } from '../openflow/text/flow-text.js';
import type { FlowMod, Message } from '../openflow/types.js';
import { indexCloud, type CloudIndex } from '../pipeline/cloud-index.js';
import { compileNode } from '../pipeline/compile.js';
import { OURS, OURS_MASK } from '../pipeline/cookie.js';
import { DEFAULT_UNDERLAY_MTU, overlayMtuFor, PATH_MTU_METER_MOD } from '../pipeline/mtu.js';
import { CompileContext } from '../pipeline/stage.js';
import type { Controller, Datapath, DesiredState, SyncStats } from '../runtime/index.js';
import { formatDpid, PeerIdentityError } from '../runtime/index.js';
import { isOverlayEndpoint, type Cloud } from '../topology/model.js';
import type { NetworkResult } from './apply-queue.js';
import type { DatapathInfo, DatapathView, FlowReader, FlowRow, Log, NetworkApplier, ResyncOutcome, Resyncer } from './cloud-service.js';

/** The runtime's ownership cookie: the pipeline's "MC" prefix. Flows with other cookies are left alone. */
export const OWNERSHIP_COOKIE = { value: OURS, mask: OURS_MASK } as const;

/** The datapath id a node's br0 gets at bootstrap: 0x4d43 ("MC") then the first 48 bits of sha256(name). */
export function dpidForNode(name: string): bigint {
  const h = createHash('sha256').update(`minicloud-node:${name}`).digest();
  return (0x4d43n << 48n) | BigInt(h.readUIntBE(0, 6));
}

/** As `ovs-vsctl set bridge br0 other_config:datapath-id=...` wants it. */
export function dpidTextForNode(name: string): string {
  return formatDpid(dpidForNode(name));
}

export interface NetworkOptions {
  readonly controller: Controller;
  /** The cloud as stored now (CloudService.cloud). */
  readonly cloud: () => Cloud;
  /** A number that changes whenever the cloud does (CloudService.revision): the compiled index is cached by it. */
  readonly revision?: () => number;
  /** Node name -> dpid (16 hex digits), for bridges that don't carry the derived id. */
  readonly datapathIds?: Readonly<Record<string, string>>;
  readonly metrics?: Metrics;
  readonly log?: Log;
  /** More addresses a node's switch may connect from (with pinning), e.g. the host of its sshTarget. */
  readonly extraAddresses?: (node: string) => readonly string[];
  /** How long an apply waits for a node's bundle to be confirmed before calling it pending (default 10 s). */
  readonly applyTimeoutMs?: number;
  readonly now?: () => Date;
  /** network.underlayMtu and its per-node overrides (default 1500 everywhere). */
  readonly mtu?: { readonly underlayMtu: number; readonly underlayMtuByNode: Readonly<Record<string, number>> };
}

const isOverlayEndpointName = (index: CloudIndex, node: string): boolean => {
  const n = index.nodes.get(node)?.node;
  return n !== undefined && isOverlayEndpoint(n);
};

interface NodeState {
  dpid: bigint;
  connected: boolean;
  since: Date;
}

const U64 = 0xffffffffffffffffn;
const counter = (n: bigint): number => (n === U64 ? 0 : Number(n));

export class CloudNetwork implements NetworkApplier, FlowReader, DatapathView, Resyncer, StatsSource {
  private readonly controller: Controller;
  private readonly overrides = new Map<string, bigint>();
  private readonly state = new Map<string, NodeState>();
  private compiled: { revision: number; cloud: Cloud; index: CloudIndex; ctx: CompileContext } | undefined;
  private echoTimer: NodeJS.Timeout | undefined;
  /** Derived datapath ids by node name (a SHA-256 each: worth keeping). */
  private readonly derived = new Map<string, bigint>();
  private byDpid: { cloud: Cloud; nodes: Map<bigint, string> } | undefined;
  private readonly now: () => Date;

  constructor(private readonly opts: NetworkOptions) {
    this.controller = opts.controller;
    this.now = opts.now ?? (() => new Date());
    for (const [node, text] of Object.entries(opts.datapathIds ?? {})) this.overrides.set(node, BigInt(`0x${text}`));
    this.wireEvents();
  }

  /** The `desiredState` callback for the runtime's Controller (set it before `controller.start()`). */
  readonly desiredState = (dpid: bigint, dp: Datapath): DesiredState => {
    const node = this.nodeOf(dpid);
    if (node === undefined) {
      this.opts.log?.warn({ dpid: formatDpid(dpid) }, 'datapath belongs to no node: only our flows are removed from it');
      return { flows: [] };
    }
    const flows = this.compile(node, dp);
    // The path-MTU punt row (table 20) names its meter: installed by the sync before the bundle that needs it.
    return isOverlayEndpointName(this.current().index, node) ? { flows, meters: [PATH_MTU_METER_MOD] } : { flows, meters: [] };
  };

  /** The node's pipeline for the given datapath's ports (exported for tests and `minicloud flows --desired`). */
  compile(node: string, dp: Pick<Datapath, 'ports'>): FlowMod[] {
    const { ctx, index } = this.current();
    if (!index.nodes.has(node)) return [];
    const ports = new Map<string, number>();
    for (const p of dp.ports) if (p.portNo < OFPP.MAX) ports.set(p.name, p.portNo);
    return compileNode(ctx, node, ports);
  }

  dpidOf(node: string): bigint {
    const fixed = this.overrides.get(node);
    if (fixed !== undefined) return fixed;
    let d = this.derived.get(node);
    if (d === undefined) this.derived.set(node, (d = dpidForNode(node)));
    return d;
  }

  /** The node a datapath id belongs to, among the nodes of the current cloud (a map kept per cloud revision). */
  nodeOf(dpid: bigint): string | undefined {
    const cloud = this.current().cloud;
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
    const node = this.current().cloud.nodes.find((n) => n.name === name);
    if (!node) return undefined;
    const out = new Set([node.underlayIp, ...(node.serviceIp !== undefined ? [node.serviceIp] : []), ...(this.opts.extraAddresses?.(name) ?? [])]);
    return [...out];
  }

  datapathOf(node: string): Datapath | undefined {
    return this.controller.datapaths.get(this.dpidOf(node));
  }

  // --- NetworkApplier

  async apply(_cloud: Cloud, affectedNodes: readonly string[]): Promise<NetworkResult> {
    const timeoutMs = this.opts.applyTimeoutMs ?? 10_000;
    const confirmed: string[] = [];
    const pending: string[] = [];
    await Promise.all(
      [...new Set(affectedNodes)].map(async (node) => {
        const dp = this.datapathOf(node);
        if (!dp) {
          pending.push(node);
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
        try {
          // The desired state is read from the store when the sync runs: never older than `_cloud`.
          const r = await Promise.race([this.controller.resync(dp.dpid, { source: 'cache' }), timeout]);
          (r === 'timeout' ? pending : confirmed).push(node);
        } catch (e) {
          this.opts.log?.warn({ node, err: (e as Error).message }, 'apply to node failed; it stays pending');
          pending.push(node);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { confirmed: confirmed.sort(), pending: pending.sort() };
  }

  // --- FlowReader

  async flows(node: string): Promise<FlowRow[] | undefined> {
    const dp = this.datapathOf(node);
    if (!dp) return undefined;
    const stats = await dp.connection.flowStats();
    return stats.map((f) => ({
      table: f.tableId,
      priority: f.priority,
      cookie: `0x${f.cookie.toString(16).padStart(16, '0')}`,
      packets: counter(f.packetCount),
      bytes: counter(f.byteCount),
      durationSeconds: f.durationSec + f.durationNsec / 1e9,
      text: formatFlow(f),
    }));
  }

  // --- DatapathView

  list(): DatapathInfo[] {
    const out: DatapathInfo[] = [];
    const known = new Set<bigint>();
    for (const n of this.current().cloud.nodes) {
      const dpid = this.dpidOf(n.name);
      known.add(dpid);
      const dp = this.controller.datapaths.get(dpid);
      const st = this.state.get(n.name);
      if (!dp && !st) continue; // never connected: CloudService lists it as such
      out.push({
        node: n.name,
        dpid: formatDpid(dpid),
        connected: dp !== undefined,
        since: (st?.since ?? this.now()).toISOString(),
        ports: dp ? dp.ports.filter((p) => p.portNo < OFPP.MAX).map((p) => ({ name: p.name, number: p.portNo })).sort((a, b) => a.number - b.number) : [],
      });
    }
    for (const dp of this.controller.datapaths.list()) {
      if (known.has(dp.dpid)) continue;
      out.push({ node: `(unknown ${dp.id})`, dpid: dp.id, connected: true, since: this.now().toISOString(), ports: dp.ports.map((p) => ({ name: p.name, number: p.portNo })) });
    }
    return out;
  }

  // --- Resyncer

  async resync(node: string): Promise<ResyncOutcome> {
    const dp = this.datapathOf(node);
    if (!dp) return { connected: false };
    const stats = await this.controller.resync(dp.dpid, { source: 'switch' });
    return { connected: true, flowMods: stats.flowMods, seconds: stats.durationMs / 1000 };
  }

  // --- StatsSource

  async portStats(node: string): Promise<readonly PolledPortStats[] | undefined> {
    const dp = this.datapathOf(node);
    if (!dp) return undefined;
    const parts = await dp.connection.multipart({ type: 'port_stats_request', flags: 0, portNo: OFPP.ANY } as Parameters<Datapath['connection']['multipart']>[0]);
    const out: PolledPortStats[] = [];
    for (const m of parts as Message[]) {
      if (m.type !== 'port_stats_reply') continue;
      for (const p of m.ports) {
        const name = dp.portByNumber(p.portNo)?.name;
        if (name === undefined) continue;
        out.push({
          name,
          rxPackets: counter(p.rxPackets),
          txPackets: counter(p.txPackets),
          rxBytes: counter(p.rxBytes),
          txBytes: counter(p.txBytes),
          rxDropped: counter(p.rxDropped),
          txDropped: counter(p.txDropped),
          rxErrors: counter(p.rxErrors),
          txErrors: counter(p.txErrors),
        });
      }
    }
    return out;
  }

  async tableStats(node: string): Promise<readonly TableCounters[] | undefined> {
    const dp = this.datapathOf(node);
    if (!dp) return undefined;
    const [parts, flows] = await Promise.all([
      dp.connection.multipart({ type: 'table_stats_request', flags: 0 } as Parameters<Datapath['connection']['multipart']>[0]),
      dp.connection.flowStats({ tableId: OFPTT.ALL }),
    ]);
    const sums = new Map<number, { packets: number; bytes: number }>();
    for (const f of flows) {
      const s = sums.get(f.tableId) ?? { packets: 0, bytes: 0 };
      s.packets += counter(f.packetCount);
      s.bytes += counter(f.byteCount);
      sums.set(f.tableId, s);
    }
    const out: TableCounters[] = [];
    for (const m of parts as Message[]) {
      if (m.type !== 'table_stats_reply') continue;
      for (const t of m.tables) {
        // Only tables in use: OVS reports all 254, and the label set stays bounded by the pipeline's tables.
        if (t.activeCount === 0 && !sums.has(t.tableId)) continue;
        const s = sums.get(t.tableId) ?? { packets: 0, bytes: 0 };
        out.push({ table: t.tableId, flows: t.activeCount, lookups: counter(t.lookupCount), matched: counter(t.matchedCount), flowPackets: s.packets, flowBytes: s.bytes });
      }
    }
    return out;
  }

  // --- echo round trip

  /** Measures every connected datapath's echo round trip every `intervalMs` into the metrics. */
  startEchoProbe(intervalMs: number): void {
    if (this.echoTimer || !this.opts.metrics) return;
    const metrics = this.opts.metrics;
    this.echoTimer = setInterval(() => {
      for (const dp of this.controller.datapaths.list()) {
        const node = this.nodeOf(dp.dpid);
        if (node === undefined) continue;
        const t0 = process.hrtime.bigint();
        dp.connection
          .echo(undefined, { timeoutMs: Math.max(1000, intervalMs) })
          .then(() => metrics.observeEchoRoundTrip(node, Number(process.hrtime.bigint() - t0) / 1e9))
          .catch(() => metrics.error('timeout'));
      }
    }, intervalMs);
    this.echoTimer.unref();
  }

  stop(): void {
    clearInterval(this.echoTimer);
    this.echoTimer = undefined;
  }

  // --- path MTU (src/controller/path-mtu.ts, the VM backends)

  /** The VM attached to interface `port` of `node`'s br0, with its MAC and its subnet's gateway IP. */
  vmAtPort(node: string, port: string): { readonly mac: Uint8Array; readonly gatewayIp: number } | undefined {
    const { index } = this.current();
    const name = index.vmByAddress.get(`port ${node}/${port}`);
    const vm = name === undefined ? undefined : index.vms.get(name);
    return vm && { mac: vm.mac, gatewayIp: vm.subnet.gatewayIp };
  }

  /** The cloud's overlay MTU now (network.underlayMtu, per-node overrides, minus VXLAN's 50 bytes). */
  overlayMtu(): number {
    return this.current().ctx.overlayMtu;
  }

  // --- internals

  private current(): { cloud: Cloud; index: CloudIndex; ctx: CompileContext } {
    const revision = this.opts.revision?.() ?? -1;
    if (!this.compiled || revision === -1 || this.compiled.revision !== revision) {
      const cloud = this.opts.cloud();
      const index = indexCloud(cloud);
      const mtu = this.opts.mtu ?? { underlayMtu: DEFAULT_UNDERLAY_MTU, underlayMtuByNode: {} };
      const overlayMtu = overlayMtuFor(cloud.nodes.map((n) => n.name), mtu.underlayMtu, mtu.underlayMtuByNode);
      this.compiled = { revision, cloud, index, ctx: new CompileContext(index, { overlayMtu }) };
    }
    return this.compiled;
  }

  private wireEvents(): void {
    const { metrics, log } = this.opts;
    const reg = this.controller.datapaths;
    reg.on('connected', (dp) => {
      metrics?.observeHandshake(dp.handshakeMs / 1000);
      const node = this.nodeOf(dp.dpid);
      if (node === undefined) {
        log?.warn({ dpid: dp.id }, 'a datapath connected that maps to no node (see docs/configuration.md, openflow.datapathIds)');
        return;
      }
      this.state.set(node, { dpid: dp.dpid, connected: true, since: this.now() });
      metrics?.datapathConnected(node);
    });
    reg.on('disconnected', (dp) => {
      const node = this.nodeOf(dp.dpid);
      if (node === undefined) return;
      this.state.set(node, { dpid: dp.dpid, connected: false, since: this.now() });
      metrics?.datapathDisconnected(node);
    });
    reg.on('rejected', (_peer, err) => metrics?.error(err instanceof PeerIdentityError ? 'identity' : 'handshake'));
    reg.on('refused', (_peer, reason) => metrics?.openflowRefused(reason));
    this.controller.on('synced', (dp: Datapath, stats: SyncStats) => {
      const node = this.nodeOf(dp.dpid);
      if (node === undefined || !metrics) return;
      const mods = stats.flowMods + stats.groupMods + stats.meterMods;
      if (mods > 0) metrics.flowModsSent(node, stats.flowMods);
      for (let i = 0; i < stats.bundles; i++) metrics.bundleSent(node);
      metrics.observeResync(node, stats.durationMs / 1000, stats.flowMods);
    });
    this.controller.on('syncFailed', () => metrics?.error('sync'));
  }
}

/** The host of an sshTarget (`[user@]host[:port]`) when it is an IP address (pinning compares addresses, not names). */
export function sshTargetAddress(target: string): string | undefined {
  let host = target.slice(target.lastIndexOf('@') + 1);
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  return isIP(host) ? host : undefined;
}
