// Node provisioning from the store: every node's bootstrap spec (src/hosts) is a pure function of the cloud records
// (`bootstrapSpecFor`), and the Provisioner keeps each node equal to its spec. It is told when the cloud changed
// (`notify`), recomputes every node's spec, and runs, per node, serialized and coalesced: the full idempotent
// bootstrap when anything but the DHCP reservations changed, only `syncDhcpReservations` when just those did, and
// `removeNode` for a node that left the store. Failures are logged with the node and the failing command, kept in
// `status(node)` (a node being removed: `samples()`, the /metrics gauge), and retried with a backoff; the API never
// waits for any of it (VM creation waits for its node). A removal whose undo has not gone through is kept in the
// store (`RemovalLedger`, written with the node's deletion), so it is retried after a restart too.
import { join } from 'node:path';
import {
  bootstrapNode,
  removeNode,
  syncDhcpReservations,
  syncFloatingIps,
  validateNodeSpec,
  type DhcpReservation,
  type Executor,
  type NodeBootstrapSpec,
  type SslSpec,
} from '../hosts/index.js';
import { bfdPeersOf, hasRole, isBroadcastMember, parseCidr, tunnelIp } from '../topology/model.js';
import { matchesRule, nameProblem, NODE_NAME, VM_REF } from '../topology/names.js';
import { nodeToModel, type CloudRecords, type NodeRecord, type NodeRemovalRecord } from '../topology/records.js';
import type { Log } from '../cloud/index.js';
import type { Config } from './config.js';
import type { BroadcastMode } from '../pipeline/modes.js';
import { DEFAULT_UNDERLAY_MTU, overlayMtuFor } from '../pipeline/mtu.js';
import { dpidTextForNode } from './node-pipelines.js';
import { nodeTlsFiles, NodeTlsMissing } from './node-tls.js';
import type { NodeProvisioning, NodeProvisioningSample, NodeProvisioningState } from './node-provisioning.js';
import { floatingIpsSpecFor } from './floating-ip-spec.js';
import type { FloatingIpPool } from '../topology/floating-ips.js';

/** What the spec builder needs besides the records: the controller's and the site's settings. */
export interface ProvisioningSettings {
  /** br0's controller target(s) for a node. */
  readonly controllerFor: (node: string) => readonly string[];
  /** The overlay range (gateways SNAT what leaves it, and route it back into br0). */
  readonly overlay: string;
  /** Userspace tunnelling: the underlay NIC goes on br-phy, which holds `underlayIp/prefixLength`. */
  readonly underlay?: { readonly device: string; readonly prefixLength: number };
  /** Gateways: NAT only what leaves through this interface. */
  readonly egressInterface?: string;
  readonly stateDirFor: (node: string) => string;
  /** Node name -> datapath id overrides (`openflow.datapathIds`). */
  readonly datapathIds?: Readonly<Record<string, string>>;
  /** OVS's reconnect backoff cap for br0's controller, ms (`provisioning.maxBackoffMs`). */
  readonly maxBackoffMs?: number;
  /** `network.underlayMtu` and its per-node overrides: the overlay MTU for br0 (gateway, DHCP) and DHCP option 26. */
  readonly mtu?: Config['network'];
  /** The node's OpenFlow TLS key and certificates, installed with set-ssl (`provisioning.tls`, node-tls.ts). */
  readonly sslFor?: (node: string, dpid: bigint) => SslSpec;
  /** BFD on the compute <-> gateway tunnels, this interval (`gatewayFailover.bfd`); undefined: no BFD ports. */
  readonly bfdIntervalMs?: number;
  /**
   * `network.broadcast`. With `head-end` a compute node needs no switch node (its `vxlan-sw` port exists only while
   * there is one); with `switch-node`, or undefined (the seed's), it waits for one.
   */
  readonly broadcast?: BroadcastMode;
  /** `floatingIps.pools`: a gateway with a pool holds its attached floating IPs. */
  readonly floatingIpPools?: readonly FloatingIpPool[];
}

/**
 * Thrown by `bootstrapSpecFor` for a node whose name the node rule refuses (stored by an older version): no retry can
 * help, so the node stays `failed` until the cloud changes.
 */
export class UnprovisionableName extends Error {
  override readonly name = 'UnprovisionableName';
}

/** Thrown by `bootstrapSpecFor` when the cloud does not yet allow the node to be set up (e.g. no switch node). */
export class NotYetProvisionable extends Error {
  override readonly name = 'NotYetProvisionable';
}

/**
 * The settings from the configuration; in lab mode each node reaches us through `<labDir>/<node>/controller.sock`, or
 * through each of `provisioning.controller`'s relative `unix:NAME` targets as `<labDir>/<node>/NAME` (several
 * controllers: the lab links each one's socket into every node's run directory, the only place OVS follows one).
 */
export function provisioningSettings(config: Config): ProvisioningSettings {
  const { labDir } = config.vms;
  const p = config.provisioning;
  const inLab = (node: string, dir: string): string[] =>
    p.controller.length === 0 ? [`unix:${join(dir, node, 'controller.sock')}`] : p.controller.map((t) => (t.startsWith('unix:') && !t.startsWith('unix:/') ? `unix:${join(dir, node, t.slice(5))}` : t));
  return {
    controllerFor: (node) => (labDir !== undefined ? inLab(node, labDir) : p.controller),
    overlay: config.overlay,
    ...(p.underlay && { underlay: p.underlay }),
    ...(p.egressInterface !== undefined && { egressInterface: p.egressInterface }),
    stateDirFor: (node) => (labDir !== undefined ? join(labDir, node, 'state') : p.stateDir),
    datapathIds: config.openflow.datapathIds,
    ...(p.maxBackoffMs !== undefined && { maxBackoffMs: p.maxBackoffMs }),
    ...(p.tls && { sslFor: (node: string, dpid: bigint) => nodeTlsFiles(p.tls!, node, dpid) }),
    mtu: config.network,
    broadcast: config.network.broadcast,
    ...(config.gatewayFailover.enabled && config.gatewayFailover.bfd.enabled && { bfdIntervalMs: config.gatewayFailover.bfd.intervalMs }),
    floatingIpPools: config.floatingIps.pools,
  };
}

/**
 * Every VM's DHCP reservation (MAC -> IP, router = its subnet's gateway IP), sorted by VM name. A VM whose name no
 * host rule admits (stored by an older version) gets none: one such name must not stop DHCP for every VM.
 */
export function dhcpReservations(records: CloudRecords): DhcpReservation[] {
  const gateways = new Map(records.subnets.map((s) => [s.name, s.gatewayIp]));
  return records.vms
    .filter((v) => v.state !== 'deleting' && matchesRule(VM_REF, v.name))
    .map((v) => ({ vm: v.name, mac: v.mac, ip: v.ip, ...(gateways.has(v.subnet) && { router: gateways.get(v.subnet)! }) }))
    .sort((a, b) => (a.vm < b.vm ? -1 : a.vm > b.vm ? 1 : 0));
}

/**
 * The node's bootstrap spec from the cloud: roles, tunnel IP, controller target(s), derived datapath id, underlay,
 * the switch's IP (broadcast members) or its peers (switch), every subnet's gateway address on gateway and DHCP
 * nodes, SNAT (to the gateway's service IP as the seed did, else MASQUERADE), and one DHCP reservation per VM.
 * Undefined for a node with nothing to set up (management only). A DHCP node without subnets gets only its bridge.
 */
export function bootstrapSpecFor(
  node: NodeRecord,
  records: CloudRecords,
  settings: ProvisioningSettings,
  /** For an undo: a compute node without a switch node still gets its spec (without the switch's IP). */
  opts: { readonly forUndo?: boolean } = {},
): NodeBootstrapSpec | undefined {
  const model = nodeToModel(node);
  const nodes = records.nodes.map(nodeToModel);
  const addresses = records.subnets.map((s) => `${s.gatewayIp}/${parseCidr(s.cidr).prefix}`).sort();
  if (node.roles.every((r) => r === 'management')) return undefined;
  const badName = nameProblem(NODE_NAME, node.name);
  if (badName !== undefined) throw new UnprovisionableName(`${badName} (named under an older, wider rule: remove the node and add it again under a valid name)`);
  // The DHCP role needs at least one subnet to serve; until then the node gets its bridge (and connects) without it.
  const roles = node.roles.filter((r) => r !== 'management' && (r !== 'dhcp' || addresses.length > 0));
  const sw = nodes.find((n) => hasRole(n, 'switch'));
  const needsSwitch = settings.broadcast !== 'head-end';
  if (needsSwitch && isBroadcastMember(model) && hasRole(model, 'compute') && !sw && !opts.forUndo) throw new NotYetProvisionable(`node '${node.name}' waits for a switch node (its vxlan-sw port points there)`);
  const controller = settings.controllerFor(node.name);
  const mtu = settings.mtu ?? { underlayMtu: DEFAULT_UNDERLAY_MTU, underlayMtuByNode: {} };
  const overlayMtu = overlayMtuFor(records.nodes.map((n) => n.name), mtu.underlayMtu, mtu.underlayMtuByNode);
  if (controller.length === 0) throw new NotYetProvisionable('provisioning.controller is empty: the nodes need a target to reach the controller');
  const datapathId = dpidTextForNode(node.name, settings.datapathIds);
  let ssl: SslSpec | undefined;
  try {
    ssl = settings.sslFor?.(node.name, BigInt(`0x${datapathId}`));
  } catch (e) {
    if (e instanceof NodeTlsMissing) throw new NotYetProvisionable(e.message);
    throw e;
  }
  return {
    name: node.name,
    roles,
    tunnelIp: tunnelIp(model),
    controller,
    ...(settings.maxBackoffMs !== undefined && { controllerMaxBackoffMs: settings.maxBackoffMs }),
    datapathId,
    ...(ssl && { ssl }),
    stateDir: settings.stateDirFor(node.name),
    ...(settings.underlay && { underlay: { device: settings.underlay.device, address: `${node.underlayIp}/${settings.underlay.prefixLength}` } }),
    ...(isBroadcastMember(model) && sw && { switchIp: tunnelIp(sw) }),
    ...(hasRole(model, 'switch') && {
      // A node stored under an older, wider name rule can't have a port here; it must not take the others down with it.
      switchPeers: nodes.filter((n) => isBroadcastMember(n) && matchesRule(NODE_NAME, n.name)).map((n) => ({ name: n.name, ip: tunnelIp(n) })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    }),
    ...(settings.bfdIntervalMs !== undefined && (roles.includes('compute') || roles.includes('gateway')) && { bfd: { peers: bfdPeersOf(model, nodes), intervalMs: settings.bfdIntervalMs } }),
    ...(roles.includes('gateway') && {
      gateway: {
        addresses,
        overlayCidr: settings.overlay,
        ...(node.serviceIp !== undefined && node.serviceIp !== node.underlayIp && { snatTo: node.serviceIp }),
        ...(settings.egressInterface !== undefined && { egressInterface: settings.egressInterface }),
        ...floatingIpsSpecFor(node.name, records, settings.floatingIpPools ?? []),
      },
    }),
    ...(roles.includes('dhcp') && { dhcp: { addresses, reservations: dhcpReservations(records), mtu: overlayMtu } }),
    ...((roles.includes('gateway') || roles.includes('dhcp')) && { overlayMtu }),
  };
}

/** A node's status as the Provisioner keeps it: NodeProvisioning, or 'removing' with the removal's last error. */
interface NodeStatus extends Omit<NodeProvisioning, 'state'> {
  readonly state: NodeProvisioningState;
}

/** A run that failed and is retried: whoever waits for the node goes on waiting. */
function isFailure(status: NodeStatus | undefined): boolean {
  return status?.state === 'failed' || (status?.state === 'removing' && status.error !== undefined);
}

/** What the Provisioner runs on a node (src/hosts by default; tests pass fakes). */
export interface ProvisioningOps {
  bootstrap(exec: Executor, spec: NodeBootstrapSpec): Promise<{ readonly changes: readonly string[] }>;
  remove(exec: Executor, spec: NodeBootstrapSpec): Promise<{ readonly changes: readonly string[] }>;
  syncReservations(exec: Executor, spec: NodeBootstrapSpec, reservations: readonly DhcpReservation[]): Promise<string[]>;
  /** Only a gateway's floating IPs changed; without it, such a change runs the full bootstrap. */
  syncFloatingIps?(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]>;
}

const HOST_OPS: ProvisioningOps = { bootstrap: bootstrapNode, remove: removeNode, syncReservations: syncDhcpReservations, syncFloatingIps };

/**
 * The pending node removals the store keeps. CloudService adds one in the transaction that deletes the node (with
 * `Provisioner.undoFor`'s JSON); the Provisioner counts failed attempts and drops it once the undo went through.
 */
export interface RemovalLedger {
  list(): readonly NodeRemovalRecord[];
  failed(node: string, error: string, nextAttemptAt: Date): void;
  /** The undo went through, or the node came back on the same host (its bootstrap takes over). */
  done(node: string): void;
}

export interface ProvisionerOptions {
  readonly records: () => CloudRecords;
  /** Pending removals kept in the store; without it a removal lives in memory only (lost by a restart). */
  readonly removals?: RemovalLedger;
  /** The store's revision (bumped by every write): with it, one change is read once for all nodes, not once each. */
  readonly revision?: () => number;
  readonly ops?: ProvisioningOps;
  readonly settings: ProvisioningSettings;
  readonly executorFor: (node: NodeRecord) => Executor;
  /** A node that left the store is unprovisioned: its executor may be released (SSH connection closed). */
  readonly removed?: (node: string) => void;
  readonly log?: Log;
  /** First retry delay after a failed or waiting run; it doubles with each one in a row, jittered +-20 %. Default 5 s. */
  readonly retryMs?: number;
  /** The longest retry delay. Default 5 min. */
  readonly retryMaxMs?: number;
  readonly random?: () => number;
}

export const DEFAULT_RETRY_MS = 5_000;
export const DEFAULT_RETRY_MAX_MS = 300_000;
/** Each retry delay is moved by up to this share, up or down, so nodes that failed together do not retry together. */
const RETRY_JITTER = 0.2;

/** What the node was last brought to, as JSON: enough to tell the next run what to do (`touched` says what to undo). */
interface Applied {
  /** The spec without its reservations, as JSON: a difference here means a full bootstrap. */
  readonly base: string;
  readonly reservations: string;
  /** The gateway's floating IPs, as JSON: alone changed, only they are synced. */
  readonly floatingIps: string;
}

interface NodeTask {
  running?: Promise<void>;
  dirty: boolean;
  /** Run the full bootstrap on the next pass even if the spec is unchanged (recheck). */
  force?: boolean;
  /** The spec the node was last brought to; unset by a failed bootstrap and by removal. */
  applied?: Applied;
  /**
   * The spec of the last bootstrap started on the node, even one that failed half-way: what removal undoes. Cleared
   * only once a removal went through.
   */
  touched?: { readonly record: NodeRecord; readonly spec: NodeBootstrapSpec };
  status?: NodeStatus;
  retry?: NodeJS.Timeout;
  /** Unix time (ms) the retry timer fires. */
  retryAt?: number;
  /** Failed or waiting runs in a row (the retry backoff). */
  failures: number;
  failuresTotal: number;
  waiters: (() => void)[];
}

export class Provisioner {
  private readonly tasks = new Map<string, NodeTask>();
  private stopped = false;
  private readonly ops: ProvisioningOps;
  private snapshot?: { readonly revision: number } & Snapshot;

  constructor(private readonly opts: ProvisionerOptions) {
    this.ops = opts.ops ?? HOST_OPS;
  }

  /** The cloud changed (or the controller started): bring every node, and every removed one, to its spec. */
  notify(): void {
    if (this.stopped) return;
    const { records, removals } = this.read();
    const names = new Set([...records.nodes, ...removals.map((r) => r.node)].map((n) => n.name));
    for (const [name, t] of this.tasks) if (t.applied || t.touched) names.add(name);
    for (const name of names) this.schedule(name);
  }

  /**
   * Runs the node's full (idempotent) bootstrap again even though its spec did not change: its switch reconnected,
   * and a restarted ovs-vswitchd has lost what lives outside ovsdb (br-phy's and br0's addresses die with their taps).
   */
  recheck(node: string): void {
    if (this.stopped) return;
    const t = this.tasks.get(node);
    if (!t?.applied) return; // never provisioned by us, or a run is yet to come anyway
    t.force = true;
    this.schedule(node);
  }

  /**
   * What undoing the node will need (its last bootstrap spec, else the one it would get now), as JSON for the store
   * to keep with its removal; undefined when there is nothing to undo. Synchronous: it runs inside the store write
   * that deletes the node, with the records as they were.
   */
  undoFor(node: NodeRecord, records: CloudRecords): string | undefined {
    const touched = this.tasks.get(node.name)?.touched;
    if (touched) return JSON.stringify(touched.spec);
    try {
      const spec = bootstrapSpecFor(node, records, this.opts.settings, { forUndo: true });
      return spec && JSON.stringify(spec);
    } catch (e) {
      if (e instanceof NotYetProvisionable) return undefined; // no controller target: never provisioned
      throw e;
    }
  }

  /** The store's records and pending removals, read once per revision when the revision is known. */
  private read(): Snapshot {
    const revision = this.opts.revision?.();
    const fresh = (): Snapshot => ({ records: this.opts.records(), removals: this.opts.removals?.list() ?? [] });
    if (revision === undefined) return fresh();
    if (this.snapshot?.revision !== revision) this.snapshot = { revision, ...fresh() };
    return this.snapshot;
  }

  /** The node's provisioning, for the API; undefined for a node being removed (it is no longer in the store). */
  status(node: string): NodeProvisioning | undefined {
    const s = this.tasks.get(node)?.status;
    return s === undefined || s.state === 'removing' ? undefined : { ...s, state: s.state };
  }

  /** Every node being provisioned or removed, with its state and failure count (the /metrics gauges). */
  samples(): NodeProvisioningSample[] {
    const out: NodeProvisioningSample[] = [];
    for (const [node, t] of this.tasks) {
      if (t.status) out.push({ node, state: t.status.state, failures: t.failuresTotal, ...(t.retryAt !== undefined && { nextRetryAt: t.retryAt }) });
    }
    return out;
  }

  /** Resolves once the node's last run succeeded with nothing pending, or after `timeoutMs` (never rejects). */
  ready(node: string, timeoutMs = 60_000): Promise<void> {
    const t = this.tasks.get(node);
    if (!t || (t.status?.state === 'ready' && !t.running && !t.dirty)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      t.waiters.push(done);
    });
  }

  /** Waits for the runs in flight; starts no new ones. Nodes are left as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tasks.values()) clearTimeout(t.retry);
    await Promise.all([...this.tasks.values()].map((t) => t.running?.catch(() => undefined)));
    for (const t of this.tasks.values()) t.waiters.splice(0).forEach((w) => w());
  }

  private task(node: string): NodeTask {
    let t = this.tasks.get(node);
    if (!t) {
      t = { dirty: false, failures: 0, failuresTotal: 0, waiters: [] };
      this.tasks.set(node, t);
    }
    return t;
  }

  private schedule(node: string): void {
    const t = this.task(node);
    clearTimeout(t.retry);
    t.retry = undefined;
    t.retryAt = undefined;
    t.dirty = true;
    if (t.running) return; // the loop in flight picks the change up
    t.running = this.loop(node, t).finally(() => {
      t.running = undefined;
      // A change that came in after the loop's last check (it saw `running` set and left it to the loop).
      if (t.dirty && !this.stopped && this.tasks.get(node) === t) return this.schedule(node);
      if (!isFailure(t.status)) t.waiters.splice(0).forEach((w) => w());
    });
  }

  private async loop(node: string, t: NodeTask): Promise<void> {
    while (t.dirty && !this.stopped) {
      t.dirty = false;
      const started = Date.now();
      const snapshot = this.read();
      const removing = !snapshot.records.nodes.some((n) => n.name === node);
      try {
        t.status = { state: removing ? 'removing' : 'provisioning', at: new Date().toISOString(), changes: t.status?.changes ?? [], ...(t.failures > 0 && { attempts: t.failures }) };
        const changes = await this.once(node, t, snapshot);
        t.failures = 0;
        if (!this.tasks.has(node)) return;
        t.status = { state: 'ready', at: new Date().toISOString(), changes };
        if (changes.length > 0) this.opts.log?.info({ node, changes, ms: Date.now() - started }, 'node provisioned');
      } catch (e) {
        // Waiting (the cloud does not allow the node yet, e.g. its TLS files are not there) is retried like a
        // failure, so the node does not depend on the next change of the cloud; only failures count as such.
        const waiting = e instanceof NotYetProvisionable;
        const error = e instanceof Error ? e.message : String(e);
        t.failures++;
        if (!waiting) t.failuresTotal++;
        // A name no rule admits: retrying can't help; the next change of the cloud looks again.
        const delay = e instanceof UnprovisionableName || this.stopped ? undefined : this.retryDelay(t.failures);
        const retryAt = delay === undefined ? undefined : Date.now() + delay;
        t.status = {
          state: waiting ? 'waiting' : removing ? 'removing' : 'failed',
          at: new Date().toISOString(),
          error,
          changes: [],
          attempts: t.failures,
          ...(retryAt !== undefined && { nextRetryAt: new Date(retryAt).toISOString() }),
        };
        if (waiting) this.opts.log?.info({ node, reason: error, retryInMs: delay }, 'node not provisioned yet');
        else this.opts.log?.error({ node, err: error, attempts: t.failures, retryInMs: delay }, removing ? 'node removal failed' : 'node provisioning failed');
        if (delay !== undefined && !t.dirty) {
          t.retryAt = retryAt;
          t.retry = setTimeout(() => this.schedule(node), delay);
          t.retry.unref();
        }
      }
    }
  }

  /** One pass for one node; returns what changed. */
  private async once(node: string, t: NodeTask, { records, removals }: Snapshot): Promise<string[]> {
    const record = records.nodes.find((n) => n.name === node);
    const pending = removals.find((r) => r.node.name === node);
    if (!record) {
      const changes = await this.undo(node, t, pending);
      if (!t.dirty) {
        this.tasks.delete(node);
        this.opts.removed?.(node);
      }
      if (changes.length > 0) this.opts.log?.info({ node, changes }, 'node unprovisioned');
      return changes;
    }
    // Added back while its removal was pending. At another SSH target (another host): the old host is undone first
    // (the new one is set up in full below, t.applied being cleared by undo). On the same host: the full bootstrap
    // of the node as it is now takes the undo's place.
    let prevChanges: string[] = [];
    const previous = pending?.node ?? (this.opts.removals ? undefined : t.touched?.record);
    if (previous && previous.sshTarget !== record.sshTarget) {
      try {
        prevChanges = await this.undo(node, t, pending);
      } catch (e) {
        const where = previous.sshTarget ?? previous.name;
        throw new Error(`undoing its earlier removal from ${where} must go first: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    } else if (pending) {
      this.opts.removals?.done(node);
      t.applied = undefined;
    }
    const spec = bootstrapSpecFor(record, records, this.opts.settings);
    const exec = this.opts.executorFor(record);
    const reservations = JSON.stringify(spec?.dhcp?.reservations ?? []);
    const floatingIps = JSON.stringify(spec?.gateway?.floatingIps ?? null);
    const base = JSON.stringify(
      spec && { ...spec, ...(spec.dhcp && { dhcp: { ...spec.dhcp, reservations: [] } }), ...(spec.gateway && { gateway: { ...spec.gateway, floatingIps: undefined } }) },
    );
    const prev = t.applied;
    const force = t.force;
    t.force = false;
    let changes: string[] = [];
    if (!spec) {
      changes = await this.undo(node, t, undefined, true);
    } else if (force || prev?.base !== base) {
      validateNodeSpec(spec); // a spec refused before any command ran leaves nothing on the node for removal to undo
      t.touched = { record, spec };
      try {
        changes = [...(await this.ops.bootstrap(exec, spec)).changes];
      } catch (e) {
        // The node is half-way now: the retry must run the whole bootstrap again, even with an unchanged spec.
        t.applied = undefined;
        throw e;
      }
    } else {
      if (prev.reservations !== reservations && spec.dhcp) changes = await this.ops.syncReservations(exec, spec, spec.dhcp.reservations ?? []);
      if (prev.floatingIps !== floatingIps) {
        try {
          changes = [...changes, ...(this.ops.syncFloatingIps ? await this.ops.syncFloatingIps(exec, spec) : (await this.ops.bootstrap(exec, spec)).changes)];
        } catch (e) {
          t.applied = undefined;
          throw e;
        }
      }
    }
    t.applied = { base, reservations, floatingIps };
    if (spec) t.touched = { record, spec };
    return [...prevChanges, ...changes];
  }

  /**
   * Removes what bootstrap made on the node (also after a failed or half-done bootstrap, or a failed removal): on the
   * host and with the spec of its pending removal. With a ledger, that is the whole truth (a removal with nothing
   * to undo, or one dropped by force, has none); without one, or `fromMemory`, the last bootstrap started here.
   */
  private async undo(node: string, t: NodeTask, pending: NodeRemovalRecord | undefined, fromMemory = !this.opts.removals): Promise<string[]> {
    t.applied = undefined;
    let report: { readonly changes: readonly string[] } | undefined;
    try {
      const done = pending ? { record: pending.node, spec: undoSpec(pending) } : fromMemory ? t.touched : undefined;
      if (!done) return [];
      report = await this.ops.remove(this.opts.executorFor(done.record), done.spec);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      if (pending) this.opts.removals?.failed(node, error, new Date(Date.now() + this.retryDelay(t.failures + 1)));
      throw e;
    }
    t.touched = undefined;
    if (pending) this.opts.removals?.done(node);
    return [...report.changes];
  }

  /** The wait before the retry after `failures` unsuccessful runs in a row: retryMs doubling, jittered, capped. */
  private retryDelay(failures: number): number {
    const max = this.opts.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
    const base = Math.min(max, (this.opts.retryMs ?? DEFAULT_RETRY_MS) * 2 ** Math.min(failures - 1, 30));
    const jitter = 1 + RETRY_JITTER * (2 * (this.opts.random ?? Math.random)() - 1);
    return Math.round(Math.min(max, base * jitter));
  }
}

interface Snapshot {
  readonly records: CloudRecords;
  readonly removals: readonly NodeRemovalRecord[];
}

/** The bootstrap spec a pending removal undoes: data read back from the store, checked before it reaches a command. */
function undoSpec(pending: NodeRemovalRecord): NodeBootstrapSpec {
  let spec: NodeBootstrapSpec;
  try {
    spec = JSON.parse(pending.undo) as NodeBootstrapSpec;
    validateNodeSpec(spec);
  } catch (e) {
    throw new Error(`the stored undo of node '${pending.node.name}' is unusable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (spec.name !== pending.node.name) throw new Error(`the stored undo of node '${pending.node.name}' is for node '${spec.name}'`);
  return spec;
}
