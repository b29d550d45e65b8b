// The network glue between the cloud and the OpenFlow runtime: the CloudService collaborators that read or change
// the switches (NetworkApplier, FlowReader, DatapathView, Resyncer), the StatsPoller's StatsSource and the
// runtime-event metrics. What each datapath must hold and which node it is comes from NodePipelines
// (./node-pipelines.ts), made before the runtime's Controller, which asks it on every connect.
import { isIP } from 'node:net';
import type { Metrics, TableCounters } from './metrics.js';
import type { PortStats as PolledPortStats, StatsSource } from './stats-poller.js';
import { formatFlow, OFPP, OFPTT, type FlowMod, type Message } from '../openflow/index.js';
import { OURS, OURS_MASK } from '../pipeline/cookie.js';
import { sgDrops, VM_SG_COOKIE, VM_SG_COOKIE_MASK, type SgDrops } from '../pipeline/sg-drops.js';
import type { Controller, Datapath, SyncStats } from '../runtime/index.js';
import { formatDpid, NotMasterError, PeerIdentityError } from '../runtime/index.js';
import type { Cloud } from '../topology/model.js';
import type { DatapathInfo, DatapathView, FlowReader, FlowRow, Log, NetworkApplier, NetworkResult, ResyncOutcome, Resyncer } from '../cloud/index.js';
import type { NodePipelines } from './node-pipelines.js';

/** The runtime's ownership cookie: the pipeline's "MC" prefix. Flows with other cookies are left alone. */
export const OWNERSHIP_COOKIE = { value: OURS, mask: OURS_MASK } as const;

export interface NetworkOptions {
  readonly controller: Controller;
  /** Which datapath is which node and what it must hold (given to `controller` too). */
  readonly pipelines: NodePipelines;
  readonly metrics?: Metrics;
  readonly log?: Log;
  /** How long an apply waits for a node's bundle to be confirmed before calling it pending (default 10 s). */
  readonly applyTimeoutMs?: number;
  readonly now?: () => Date;
}

interface NodeState {
  dpid: bigint;
  connected: boolean;
  since: Date;
}

const U64 = 0xffffffffffffffffn;
const counter = (n: bigint): number => (n === U64 ? 0 : Number(n));

export class CloudNetwork implements NetworkApplier, FlowReader, DatapathView, Resyncer, StatsSource {
  private readonly controller: Controller;
  private readonly pipelines: NodePipelines;
  private readonly state = new Map<string, NodeState>();
  private echoTimer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  constructor(private readonly opts: NetworkOptions) {
    this.controller = opts.controller;
    this.pipelines = opts.pipelines;
    this.now = opts.now ?? (() => new Date());
    this.wireEvents();
  }

  // --- NodePipelines, for the daemon's wiring and tests

  /** The node's pipeline for the given datapath's ports (`minicloud flows --desired`, tests). */
  compile(node: string, dp: Pick<Datapath, 'ports'>): FlowMod[] {
    return this.pipelines.compile(node, dp);
  }

  dpidOf(node: string): bigint {
    return this.pipelines.dpidOf(node);
  }

  nodeOf(dpid: bigint): string | undefined {
    return this.pipelines.nodeOf(dpid);
  }

  vmAtPort(node: string, port: string): { readonly mac: Uint8Array; readonly gatewayIp: number } | undefined {
    return this.pipelines.vmAtPort(node, port);
  }

  overlayMtu(): number {
    return this.pipelines.overlayMtu();
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
          // A follower (several controllers): the leader applies the change, seen through its store watch.
          if (!(e instanceof NotMasterError)) this.opts.log?.warn({ node, err: (e as Error).message }, 'apply to node failed; it stays pending');
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
    for (const n of this.pipelines.current().cloud.nodes) {
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

  /** Packets each VM's security-group drop rows counted (flow stats of those rows only). */
  async vmDrops(node: string): Promise<readonly SgDrops[] | undefined> {
    const dp = this.datapathOf(node);
    if (!dp) return undefined;
    const flows = await dp.connection.flowStats({ tableId: OFPTT.ALL, cookie: VM_SG_COOKIE, cookieMask: VM_SG_COOKIE_MASK });
    return sgDrops(flows.map((f) => ({ tableId: f.tableId, priority: f.priority, cookie: f.cookie, packets: counter(f.packetCount) })));
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
