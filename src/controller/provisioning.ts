// Node provisioning from the store: every node's bootstrap spec (src/hosts) is a pure function of the cloud records
// (`bootstrapSpecFor`), and the Provisioner keeps each node equal to its spec. It is told when the cloud changed
// (`notify`), recomputes every node's spec, and runs, per node, serialized and coalesced: the full idempotent
// bootstrap when anything but the DHCP reservations changed, only `syncDhcpReservations` when just those did, and
// `removeNode` for a node that left the store. Failures are logged with the node and the failing command, kept in
// `status(node)` (a node being removed: `samples()`, the /metrics gauge), and retried with a backoff; the API never
// waits for any of it (VM creation waits for its node).
import { join } from 'node:path';
import {
  bootstrapNode,
  removeNode,
  syncDhcpReservations,
  type DhcpReservation,
  type Executor,
  type NodeBootstrapSpec,
} from '../hosts/index.js';
import { hasRole, isBroadcastMember, parseCidr, tunnelIp } from '../topology/model.js';
import { nodeToModel, type CloudRecords, type NodeRecord } from '../topology/records.js';
import type { Log } from './cloud-service.js';
import type { Config } from './config.js';
import { DEFAULT_UNDERLAY_MTU, overlayMtuFor } from '../pipeline/mtu.js';
import { dpidTextForNode } from './network.js';

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
}

/** Thrown by `bootstrapSpecFor` when the cloud does not yet allow the node to be set up (e.g. no switch node). */
export class NotYetProvisionable extends Error {
  override readonly name = 'NotYetProvisionable';
}

/** The settings from the configuration; in lab mode each node reaches us through `<labDir>/<node>/controller.sock`. */
export function provisioningSettings(config: Config): ProvisioningSettings {
  const { labDir } = config.vms;
  const p = config.provisioning;
  return {
    controllerFor: (node) => (labDir !== undefined ? [`unix:${join(labDir, node, 'controller.sock')}`] : p.controller),
    overlay: config.overlay,
    ...(p.underlay && { underlay: p.underlay }),
    ...(p.egressInterface !== undefined && { egressInterface: p.egressInterface }),
    stateDirFor: (node) => (labDir !== undefined ? join(labDir, node, 'state') : p.stateDir),
    datapathIds: config.openflow.datapathIds,
    ...(p.maxBackoffMs !== undefined && { maxBackoffMs: p.maxBackoffMs }),
    mtu: config.network,
  };
}

/** Every VM's DHCP reservation (MAC -> IP, router = its subnet's gateway IP), sorted by VM name. */
export function dhcpReservations(records: CloudRecords): DhcpReservation[] {
  const gateways = new Map(records.subnets.map((s) => [s.name, s.gatewayIp]));
  return records.vms
    .filter((v) => v.state !== 'deleting')
    .map((v) => ({ vm: v.name, mac: v.mac, ip: v.ip, ...(gateways.has(v.subnet) && { router: gateways.get(v.subnet)! }) }))
    .sort((a, b) => (a.vm < b.vm ? -1 : a.vm > b.vm ? 1 : 0));
}

/**
 * The node's bootstrap spec from the cloud: roles, tunnel IP, controller target(s), derived datapath id, underlay,
 * the switch's IP (broadcast members) or its peers (switch), every subnet's gateway address on gateway and DHCP
 * nodes, SNAT (to the gateway's service IP as the seed did, else MASQUERADE), and one DHCP reservation per VM.
 * Undefined for a node with nothing to set up (management only). A DHCP node without subnets gets only its bridge.
 */
export function bootstrapSpecFor(node: NodeRecord, records: CloudRecords, settings: ProvisioningSettings): NodeBootstrapSpec | undefined {
  const model = nodeToModel(node);
  const nodes = records.nodes.map(nodeToModel);
  const addresses = records.subnets.map((s) => `${s.gatewayIp}/${parseCidr(s.cidr).prefix}`).sort();
  if (node.roles.every((r) => r === 'management')) return undefined;
  // The DHCP role needs at least one subnet to serve; until then the node gets its bridge (and connects) without it.
  const roles = node.roles.filter((r) => r !== 'management' && (r !== 'dhcp' || addresses.length > 0));
  const sw = nodes.find((n) => hasRole(n, 'switch'));
  if (isBroadcastMember(model) && hasRole(model, 'compute') && !sw) throw new NotYetProvisionable(`node '${node.name}' waits for a switch node (its vxlan-sw port points there)`);
  const controller = settings.controllerFor(node.name);
  const mtu = settings.mtu ?? { underlayMtu: DEFAULT_UNDERLAY_MTU, underlayMtuByNode: {} };
  const overlayMtu = overlayMtuFor(records.nodes.map((n) => n.name), mtu.underlayMtu, mtu.underlayMtuByNode);
  if (controller.length === 0) throw new NotYetProvisionable('provisioning.controller is empty: the nodes need a target to reach the controller');
  return {
    name: node.name,
    roles,
    tunnelIp: tunnelIp(model),
    controller,
    ...(settings.maxBackoffMs !== undefined && { controllerMaxBackoffMs: settings.maxBackoffMs }),
    datapathId: settings.datapathIds?.[node.name]?.toLowerCase().padStart(16, '0') ?? dpidTextForNode(node.name),
    stateDir: settings.stateDirFor(node.name),
    ...(settings.underlay && { underlay: { device: settings.underlay.device, address: `${node.underlayIp}/${settings.underlay.prefixLength}` } }),
    ...(isBroadcastMember(model) && sw && { switchIp: tunnelIp(sw) }),
    ...(hasRole(model, 'switch') && {
      switchPeers: nodes.filter(isBroadcastMember).map((n) => ({ name: n.name, ip: tunnelIp(n) })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    }),
    ...(roles.includes('gateway') && {
      gateway: {
        addresses,
        overlayCidr: settings.overlay,
        ...(node.serviceIp !== undefined && node.serviceIp !== node.underlayIp && { snatTo: node.serviceIp }),
        ...(settings.egressInterface !== undefined && { egressInterface: settings.egressInterface }),
      },
    }),
    ...(roles.includes('dhcp') && { dhcp: { addresses, reservations: dhcpReservations(records), mtu: overlayMtu } }),
    ...((roles.includes('gateway') || roles.includes('dhcp')) && { overlayMtu }),
  };
}

/** Every state /metrics shows; the API's are all but 'removing' (a node that left the store, its removal running or retried). */
export const NODE_PROVISIONING_STATES = ['provisioning', 'ready', 'waiting', 'failed', 'removing'] as const;
export type NodeProvisioningState = (typeof NODE_PROVISIONING_STATES)[number];
export type ProvisioningState = Exclude<NodeProvisioningState, 'removing'>;

export interface NodeProvisioning {
  readonly state: ProvisioningState;
  /** ISO time of the last outcome. */
  readonly at: string;
  readonly error?: string;
  /** What the last run changed. */
  readonly changes: readonly string[];
}

/** One node the Provisioner looks after, for /metrics. */
export interface NodeProvisioningSample {
  readonly node: string;
  readonly state: NodeProvisioningState;
  /** Failed runs (bootstrap, DHCP sync or removal) since the Provisioner took the node on. */
  readonly failures: number;
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
}

const HOST_OPS: ProvisioningOps = { bootstrap: bootstrapNode, remove: removeNode, syncReservations: syncDhcpReservations };

export interface ProvisionerOptions {
  readonly records: () => CloudRecords;
  /** The store's revision (bumped by every write): with it, one change is read once for all nodes, not once each. */
  readonly revision?: () => number;
  readonly ops?: ProvisioningOps;
  readonly settings: ProvisioningSettings;
  readonly executorFor: (node: NodeRecord) => Executor;
  /** A node that left the store is unprovisioned: its executor may be released (SSH connection closed). */
  readonly removed?: (node: string) => void;
  readonly log?: Log;
  /** First retry delay after a failure (doubles up to 30 s). Default 1000. */
  readonly retryMs?: number;
}

/** What the node was last brought to, as JSON: enough to tell the next run what to do (`touched` says what to undo). */
interface Applied {
  /** The spec without its reservations, as JSON: a difference here means a full bootstrap. */
  readonly base: string;
  readonly reservations: string;
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
  /** Failures in a row (the retry backoff). */
  failures: number;
  failuresTotal: number;
  waiters: (() => void)[];
}

export class Provisioner {
  private readonly tasks = new Map<string, NodeTask>();
  private stopped = false;
  private readonly ops: ProvisioningOps;
  private snapshot?: { readonly revision: number; readonly records: CloudRecords };

  constructor(private readonly opts: ProvisionerOptions) {
    this.ops = opts.ops ?? HOST_OPS;
  }

  /** The cloud changed (or the controller started): bring every node, and every removed one, to its spec. */
  notify(): void {
    if (this.stopped) return;
    const names = new Set(this.records().nodes.map((n) => n.name));
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

  /** The store's records, read once per revision when the revision is known. */
  private records(): CloudRecords {
    const revision = this.opts.revision?.();
    if (revision === undefined) return this.opts.records();
    if (this.snapshot?.revision !== revision) this.snapshot = { revision, records: this.opts.records() };
    return this.snapshot.records;
  }

  /** The node's provisioning, for the API; undefined for a node being removed (it is no longer in the store). */
  status(node: string): NodeProvisioning | undefined {
    const s = this.tasks.get(node)?.status;
    return s === undefined || s.state === 'removing' ? undefined : { ...s, state: s.state };
  }

  /** Every node being provisioned or removed, with its state and failure count (the /metrics gauges). */
  samples(): NodeProvisioningSample[] {
    const out: NodeProvisioningSample[] = [];
    for (const [node, t] of this.tasks) if (t.status) out.push({ node, state: t.status.state, failures: t.failuresTotal });
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
    t.dirty = true;
    if (t.running) return; // the loop in flight picks the change up
    t.running = this.loop(node, t).finally(() => {
      t.running = undefined;
      if (!isFailure(t.status)) t.waiters.splice(0).forEach((w) => w());
    });
  }

  private async loop(node: string, t: NodeTask): Promise<void> {
    while (t.dirty && !this.stopped) {
      t.dirty = false;
      const started = Date.now();
      const records = this.records();
      const removing = !records.nodes.some((n) => n.name === node);
      try {
        t.status = { state: removing ? 'removing' : 'provisioning', at: new Date().toISOString(), changes: t.status?.changes ?? [] };
        const changes = await this.once(node, t, records);
        t.failures = 0;
        if (!this.tasks.has(node)) return;
        t.status = { state: 'ready', at: new Date().toISOString(), changes };
        if (changes.length > 0) this.opts.log?.info({ node, changes, ms: Date.now() - started }, 'node provisioned');
      } catch (e) {
        const waiting = e instanceof NotYetProvisionable;
        const error = e instanceof Error ? e.message : String(e);
        t.status = { state: waiting ? 'waiting' : removing ? 'removing' : 'failed', at: new Date().toISOString(), error, changes: [] };
        if (waiting) {
          this.opts.log?.info({ node, reason: error }, 'node not provisioned yet');
          continue;
        }
        t.failures++;
        t.failuresTotal++;
        const delay = Math.min(30_000, (this.opts.retryMs ?? 1000) * 2 ** (t.failures - 1));
        this.opts.log?.error({ node, err: error, retryInMs: delay }, removing ? 'node removal failed' : 'node provisioning failed');
        if (!this.stopped && !t.dirty) {
          t.retry = setTimeout(() => this.schedule(node), delay);
          t.retry.unref();
        }
      }
    }
  }

  /** One pass for one node; returns what changed. */
  private async once(node: string, t: NodeTask, records: CloudRecords): Promise<string[]> {
    const record = records.nodes.find((n) => n.name === node);
    if (!record) {
      const changes = await this.undo(t);
      if (!t.dirty) {
        this.tasks.delete(node);
        this.opts.removed?.(node);
      }
      if (changes.length > 0) this.opts.log?.info({ node, changes }, 'node unprovisioned');
      return changes;
    }
    // Added back at another address while its removal was pending: the old host is undone first (and the new one
    // is set up in full below, t.applied being cleared by undo).
    const prevChanges = t.touched && t.touched.record.sshTarget !== record.sshTarget ? await this.undo(t) : [];
    const spec = bootstrapSpecFor(record, records, this.opts.settings);
    const exec = this.opts.executorFor(record);
    const reservations = JSON.stringify(spec?.dhcp?.reservations ?? []);
    const base = JSON.stringify(spec && { ...spec, ...(spec.dhcp && { dhcp: { ...spec.dhcp, reservations: [] } }) });
    const prev = t.applied;
    const force = t.force;
    t.force = false;
    let changes: string[] = [];
    if (!spec) {
      changes = await this.undo(t);
    } else if (force || prev?.base !== base) {
      t.touched = { record, spec };
      try {
        changes = [...(await this.ops.bootstrap(exec, spec)).changes];
      } catch (e) {
        // The node is half-way now: the retry must run the whole bootstrap again, even with an unchanged spec.
        t.applied = undefined;
        throw e;
      }
    } else if (prev.reservations !== reservations && spec.dhcp) {
      changes = await this.ops.syncReservations(exec, spec, spec.dhcp.reservations ?? []);
    }
    t.applied = { base, reservations };
    if (spec) t.touched = { record, spec };
    return [...prevChanges, ...changes];
  }

  /** Removes what bootstrap made on the node (also after a failed or half-done bootstrap, or a failed removal). */
  private async undo(t: NodeTask): Promise<string[]> {
    t.applied = undefined;
    const done = t.touched;
    if (!done) return [];
    const report = await this.ops.remove(this.opts.executorFor(done.record), done.spec);
    t.touched = undefined;
    return [...report.changes];
  }
}
