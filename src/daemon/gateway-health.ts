// Gateway health, from what the switches say (docs/architecture.md, "Gateway failover"), and the monitor that moves
// VMs off failed gateways through the service.
// - Datapath: a gateway whose switch has been disconnected for `disconnectGraceMs` is failed for every node (a
//   vswitchd restart or an echo timeout that reconnects within the grace moves nothing). One never seen connected
//   since this process started is failed `startupGraceMs` after it was first known (switches reconnect after a
//   controller restart at their own backoff).
// - BFD: compute nodes have a BFD tunnel port to every gateway (`bfdPortName`, provisioning). OVS clears the port's
//   OFPPS_LIVE bit when the session goes down and sets it when it comes up, and says so in PORT_STATUS (ofproto-dpif's
//   port_run: `bfd_forwarding` feeds the port's liveness). A session that was seen up and is now down means that
//   node cannot reach that gateway: only that node's VMs move. A session never seen up (just provisioned, or the
//   gateway was already gone when the node connected) says nothing; the datapath rule covers it.
import type { Logger } from 'pino';
import type { FailoverOutcome, GatewayHealth } from '../cloud/index.js';
import { OFPPS, type Port } from '../openflow/index.js';
import type { Controller, Datapath } from '../runtime/index.js';
import { bfdPortName, tunnelIp } from '../topology/model.js';
import { nodeToModel, type CloudRecords } from '../topology/records.js';
import type { Metrics } from './metrics.js';

export interface GatewayFailoverSettings {
  readonly enabled: boolean;
  readonly disconnectGraceMs: number;
  readonly startupGraceMs: number;
  /** BFD on the compute <-> gateway tunnels: on or off, and the interval (OVS min_rx = min_tx; multiplier 3). */
  readonly bfd: { readonly enabled: boolean; readonly intervalMs: number };
}

export const BFD_PORT_PREFIX = 'bfd-';

interface BfdSession {
  live: boolean;
  everUp: boolean;
}

/** What the switches have said, and the health it makes at a given time. No timers, no I/O. */
export class GatewayHealthTracker {
  private readonly connected = new Set<string>();
  /** Gateway -> when it counts as failed (set while it is not connected). */
  private readonly failsAt = new Map<string, number>();
  /** Node -> BFD port name -> session, while the node is connected. */
  private readonly bfd = new Map<string, Map<string, BfdSession>>();

  constructor(private readonly settings: Pick<GatewayFailoverSettings, 'disconnectGraceMs' | 'startupGraceMs'>) {}

  nodeConnected(node: string, ports: readonly Port[]): void {
    this.connected.add(node);
    this.failsAt.delete(node);
    const sessions = new Map<string, BfdSession>();
    this.bfd.set(node, sessions);
    for (const p of ports) if (p.name.startsWith(BFD_PORT_PREFIX)) sessions.set(p.name, { live: isLive(p), everUp: isLive(p) });
  }

  nodeDisconnected(node: string, now: number): void {
    this.connected.delete(node);
    this.bfd.delete(node);
    this.failsAt.set(node, now + this.settings.disconnectGraceMs);
  }

  /** A PORT_STATUS of a connected node; returns whether it was a BFD port's liveness that changed. */
  portChanged(node: string, port: Port, removed: boolean): boolean {
    const sessions = this.bfd.get(node);
    if (!sessions || !port.name.startsWith(BFD_PORT_PREFIX)) return false;
    const old = sessions.get(port.name);
    if (removed) return sessions.delete(port.name);
    const live = isLive(port);
    sessions.set(port.name, { live, everUp: (old?.everUp ?? false) || live });
    return old?.live !== live;
  }

  /**
   * The health of `gateways` (name -> tunnel IP) at `now`, and the earliest time after `now` at which it changes by
   * itself (a grace ending), if any.
   */
  health(gateways: ReadonlyMap<string, string>, now: number): { health: GatewayHealth; nextChangeAt?: number } {
    const failed = new Set<string>();
    let nextChangeAt: number | undefined;
    for (const g of gateways.keys()) {
      if (this.connected.has(g)) continue;
      let at = this.failsAt.get(g);
      if (at === undefined) this.failsAt.set(g, (at = now + this.settings.startupGraceMs));
      if (now >= at) failed.add(g);
      else nextChangeAt = Math.min(nextChangeAt ?? at, at);
    }
    for (const g of this.failsAt.keys()) if (!gateways.has(g) && !this.connected.has(g)) this.failsAt.delete(g);
    const sessions = this.bfd;
    const health: GatewayHealth = {
      failed,
      up: (g) => this.connected.has(g),
      bfdDown: (node, g) => {
        const ip = gateways.get(g);
        const s = ip === undefined ? undefined : sessions.get(node)?.get(bfdPortName(ip));
        return s !== undefined && s.everUp && !s.live;
      },
    };
    return { health, ...(nextChangeAt !== undefined && { nextChangeAt }) };
  }

  /** (node, gateway) pairs whose BFD session is down after having been up, as `node>gateway` (for logs, signatures). */
  bfdDownPairs(gateways: ReadonlyMap<string, string>): string[] {
    const byPort = new Map([...gateways].map(([name, ip]) => [bfdPortName(ip), name] as const));
    const pairs: string[] = [];
    for (const [node, sessions] of this.bfd) {
      for (const [port, s] of sessions) {
        const g = byPort.get(port);
        if (g !== undefined && s.everUp && !s.live) pairs.push(`${node}>${g}`);
      }
    }
    return pairs.sort();
  }
}

function isLive(p: Port): boolean {
  return (p.state & OFPPS.LIVE) !== 0 && (p.state & OFPPS.LINK_DOWN) === 0;
}

/** Gateway name -> tunnel IP, from the records. */
export function gatewaysOf(records: CloudRecords): Map<string, string> {
  return new Map(records.nodes.filter((n) => n.roles.includes('gateway')).map((n) => [n.name, tunnelIp(nodeToModel(n))] as const));
}

export interface GatewayMonitorOptions {
  readonly controller: Pick<Controller, 'datapaths'>;
  readonly nodeOf: (dpid: bigint) => string | undefined;
  readonly records: () => CloudRecords;
  readonly revision: () => number;
  readonly failover: { run(health: GatewayHealth): Promise<FailoverOutcome> };
  readonly metrics: Pick<Metrics, 'gatewayFailovers' | 'setGatewayFailed'>;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly settings: GatewayFailoverSettings;
  /** How often health is looked at besides on events (default 1000 ms): graces ending, new VMs on a failed gateway. */
  readonly tickMs?: number;
  readonly now?: () => number;
}

/**
 * Watches the switches (connects, disconnects, BFD ports' liveness) and runs the service's failover when a gateway
 * is failed for some node. One run at a time; a run is skipped when nothing it depends on changed since the last
 * one that left no VM stranded (the failed gateways, the BFD-down pairs, the store's revision).
 */
export class GatewayMonitor {
  readonly tracker: GatewayHealthTracker;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private lastSignature = '';
  private lastFailed = new Set<string>();
  private readonly strandedLogged = new Set<string>();
  private readonly unsubscribe: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly opts: GatewayMonitorOptions) {
    this.tracker = new GatewayHealthTracker(opts.settings);
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (!this.opts.settings.enabled) return;
    const dps = this.opts.controller.datapaths;
    const on = <E extends 'connected' | 'disconnected' | 'portAdded' | 'portModified' | 'portRemoved'>(event: E, fn: (dp: Datapath, arg: never) => void): void => {
      dps.on(event, fn as never);
      this.unsubscribe.push(() => dps.off(event, fn as never));
    };
    on('connected', (dp) => this.withNode(dp, (node) => this.tracker.nodeConnected(node, dp.ports), true));
    on('disconnected', (dp) => this.withNode(dp, (node) => this.tracker.nodeDisconnected(node, this.now()), true));
    for (const ev of ['portAdded', 'portModified'] as const) on(ev, (dp, port: Port) => this.withNode(dp, (node) => this.tracker.portChanged(node, port, false)));
    on('portRemoved', (dp, port: Port) => this.withNode(dp, (node) => this.tracker.portChanged(node, port, true)));
    for (const dp of dps.list()) this.withNode(dp, (node) => this.tracker.nodeConnected(node, dp.ports));
    this.timer = setInterval(() => this.kick(), this.opts.tickMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  /** Stops watching; resolves once a run in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.running;
  }

  /** Resolves once no run is in flight (tests). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private withNode(dp: Datapath, fn: (node: string) => boolean | void, always = false): void {
    const node = this.opts.nodeOf(dp.dpid);
    if (node === undefined) return;
    if (fn(node) === true || always) this.kick();
  }

  /** Looks at the health now (again after the run in flight, if there is one). */
  kick(): void {
    if (this.stopped || !this.opts.settings.enabled) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.evaluate();
      } catch (e) {
        // The store could not commit (etcd without quorum) or the apply failed: the next tick tries again.
        this.lastSignature = '';
        this.opts.log.error({ err: e instanceof Error ? e.message : String(e) }, 'gateway failover failed; retrying');
      }
    } while (this.again && !this.stopped);
  }

  private async evaluate(): Promise<void> {
    const gateways = gatewaysOf(this.opts.records());
    const { health } = this.tracker.health(gateways, this.now());
    this.noteFailed(health.failed);
    const bfdDown = this.tracker.bfdDownPairs(gateways);
    if (health.failed.size === 0 && bfdDown.length === 0) {
      this.lastSignature = '';
      this.strandedLogged.clear();
      return;
    }
    const signature = `${[...health.failed].sort().join(',')}|${bfdDown.join(',')}|${this.opts.revision()}|${[...gateways.keys()].filter((g) => health.up(g)).join(',')}`;
    if (signature === this.lastSignature) return;
    const outcome = await this.opts.failover.run(health);
    for (const m of outcome.moves) this.opts.metrics.gatewayFailovers(m.from, m.reason);
    if (outcome.moves.length > 0) {
      this.opts.log.warn(
        { moved: outcome.moves.length, failed: [...health.failed], bfdDown, confirmed: outcome.network?.confirmed ?? [], pending: outcome.network?.pending ?? [] },
        'gateway failover done',
      );
    }
    const stranded = new Set(outcome.stranded.map((s) => `${s.vm}>${s.gateway}`));
    for (const s of outcome.stranded) {
      const key = `${s.vm}>${s.gateway}`;
      if (this.strandedLogged.has(key)) continue;
      this.strandedLogged.add(key);
      this.opts.log.error({ vm: s.vm, node: s.node, gateway: s.gateway, reason: s.reason }, 'gateway failed and no other gateway is usable from the VM\'s node: the VM stays bound');
    }
    for (const k of this.strandedLogged) if (!stranded.has(k)) this.strandedLogged.delete(k);
    // With VMs stranded, look again at every tick: a gateway may come up without any event we see (its BFD session).
    this.lastSignature = outcome.stranded.length > 0 ? '' : signature;
  }

  private noteFailed(failed: ReadonlySet<string>): void {
    for (const g of failed) {
      if (this.lastFailed.has(g)) continue;
      this.opts.metrics.setGatewayFailed(g, true);
      this.opts.log.warn({ gateway: g, graceMs: this.opts.settings.disconnectGraceMs }, 'gateway failed: its datapath is gone beyond the grace period');
    }
    for (const g of this.lastFailed) {
      if (failed.has(g)) continue;
      this.opts.metrics.setGatewayFailed(g, false);
      this.opts.log.info({ gateway: g }, 'gateway back (its datapath reconnected); VMs moved off it stay where they are');
    }
    this.lastFailed = new Set(failed);
  }
}
