// The control plane's domain operations: nodes, subnets and VMs. Every change is one store transaction (validation,
// allocation and the write together), then a network apply of the affected nodes, then the VM backend where there
// is one. Results are typed; failures are the DomainErrors of ./errors.ts. No HTTP here: src/api maps it.
import { parseFlavor } from '../topology/flavors.js';
import {
  DEFAULT_OVERLAY,
  DEFAULT_PREFIX,
  MAX_SUBNET_PREFIX,
  cidrText,
  gatewayOf,
  nextFreeBlock,
  nextFreeIp,
  nextFreeMac,
  nextFreeVni,
  overlaps,
  usableHosts,
  within,
} from '../topology/ipam.js';
import {
  NODE_ROLES,
  hasRole,
  ipv4ToNumber,
  isOverlayEndpoint,
  numberToIpv4,
  parseCidr,
  tunnelIp,
  validateCloud,
  type Cidr,
  type Cloud,
  type NodeRole,
} from '../topology/model.js';
import { toCloud, type CloudRecords, type NodeRecord, type SubnetRecord, type VmRecord, type VmState } from '../topology/records.js';
import { computeLoads, placeVm } from '../topology/scheduler.js';
import type { CloudStore, StoreReader, StoreWriter } from '../topology/store.js';
import { ApplyQueue, type NetworkResult } from './apply-queue.js';
import { DeadlineExceeded, withDeadline } from './deadline.js';
import { nodeRemovalView, sshHost, type NodeRemovalView } from './node-removals.js';
import { BackendFailed, CapacityExhausted, Conflict, Invalid, NotFound, Unsupported } from './errors.js';
import { AZ_NAME, IMAGE_REF, NODE_NAME, SSH_TARGET, SUBNET_NAME, VM_NAME, badIpv4, badName } from './validate.js';

export type { NetworkResult } from './apply-queue.js';

// --- collaborators: implemented by the runtime, pipeline and hosts glue; faked in tests -----------------------

/** Compiles the cloud and brings the given nodes' switches to it. */
export interface NetworkApplier {
  /**
   * `affectedNodes` may name nodes no longer in `cloud` (just removed): their flows of ours should go.
   * Resolves when every connected node among them has confirmed its flows (or a timeout passed); the rest are pending.
   */
  apply(cloud: Cloud, affectedNodes: readonly string[]): Promise<NetworkResult>;
}

/** Everything a backend needs to build a VM: where, what, and its addresses as allocated. */
export interface VmSpec {
  readonly name: string;
  readonly node: NodeRecord;
  readonly image: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly mac: string;
  readonly ip: string;
  readonly prefixLength: number;
  readonly gatewayIp: string;
  /** The VM's interface on the node's br0. */
  readonly port: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface VmBackend {
  /** Creates and starts the VM with exactly `spec.mac` on port `spec.port` of br0. */
  create(spec: VmSpec): Promise<void>;
  start(spec: VmSpec): Promise<void>;
  stop(spec: VmSpec): Promise<void>;
  /** Idempotent: a VM that is already gone is not an error. */
  delete(spec: VmSpec): Promise<void>;
  exec?(spec: VmSpec, argv: readonly string[]): Promise<ExecResult>;
  /** The node left the cloud (it had no VMs): forget what was kept for it (its driver, its connection). */
  nodeRemoved?(name: string): void;
}

/** One installed flow, as `ovs-ofctl dump-flows` shows it, with its counters. */
export interface FlowRow {
  readonly table: number;
  readonly priority: number;
  /** '0x4d43000000000001' */
  readonly cookie: string;
  readonly packets: number;
  readonly bytes: number;
  readonly durationSeconds: number;
  /** The whole flow in ovs-ofctl syntax, counters included. */
  readonly text: string;
}

export interface FlowReader {
  /** The node's installed flows, or undefined when its switch is not connected. */
  flows(node: string): Promise<FlowRow[] | undefined>;
}

export interface DatapathPort {
  readonly name: string;
  readonly number: number;
}

export interface DatapathInfo {
  readonly node: string;
  /** 16 hex digits. */
  readonly dpid: string;
  readonly connected: boolean;
  /** ISO time of the last connect (or disconnect, when not connected). */
  readonly since: string;
  readonly ports: DatapathPort[];
}

export interface DatapathView {
  list(): DatapathInfo[];
}

export type ResyncOutcome = { readonly connected: false } | { readonly connected: true; readonly flowMods: number; readonly seconds: number };

export interface Resyncer {
  /** Reads the node's flows and sends what differs from its desired pipeline. */
  resync(node: string): Promise<ResyncOutcome>;
}

/** pino-compatible. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CloudServiceDeps {
  readonly store: CloudStore;
  readonly network: NetworkApplier;
  readonly backend: VmBackend;
  readonly flows: FlowReader;
  readonly datapaths: DatapathView;
  readonly resyncer: Resyncer;
  /** The range subnets are carved from. Default 192.168.20.0/22. */
  readonly overlay?: string;
  readonly log?: Log;
  readonly now?: () => Date;
  /** How far the node's provisioning got (when the controller provisions nodes). */
  readonly provisioning?: (node: string) => ProvisioningView | undefined;
  /**
   * What undoing a removed node's bootstrap needs (JSON; `Provisioner.undoFor`), given the node and the records
   * before its removal; kept in the store with the removal until the undo went through. Absent or undefined:
   * nothing to undo (the controller does not provision nodes).
   */
  readonly nodeUndo?: (node: NodeRecord, records: CloudRecords) => string | undefined;
  /** How long a VM backend create / delete may take before the VM is given up on (kept in 'error'). */
  readonly backendTimeouts?: Partial<BackendTimeouts>;
}

export interface BackendTimeouts {
  readonly createMs: number;
  readonly deleteMs: number;
}

/** `vms.createTimeoutSeconds` and `vms.deleteTimeoutSeconds`: an LXD create may fetch an image first. */
export const DEFAULT_BACKEND_TIMEOUTS: BackendTimeouts = { createMs: 600_000, deleteMs: 120_000 };

/** A node's last provisioning outcome, as GET /api/v1/nodes shows it. */
export interface ProvisioningView {
  readonly state: 'provisioning' | 'ready' | 'waiting' | 'failed';
  /** ISO time of that outcome. */
  readonly at: string;
  /** Why it failed, or what it waits for. */
  readonly error?: string;
}

/** Per request: the request's logger, so its lines carry the request id. */
export interface OpContext {
  readonly log?: Log;
}

// --- inputs and views ---------------------------------------------------------------------------------------------

export interface AddNodeInput {
  readonly name: string;
  readonly roles: readonly NodeRole[];
  readonly underlayIp: string;
  readonly serviceIp?: string;
  readonly sshTarget?: string;
  readonly az?: string;
  readonly cpus?: number;
  readonly memoryMiB?: number;
}

export interface CreateSubnetInput {
  readonly name: string;
  /** Carve the next free block of this length from the overlay range (default 27)... */
  readonly prefixLength?: number;
  /** ...or take exactly this block. */
  readonly cidr?: string;
}

export interface CreateVmInput {
  readonly name: string;
  readonly subnet: string;
  /** '4C8G', '2C512M' or a named flavor (tiny, small, medium, large, xlarge). */
  readonly flavor: string;
  readonly image: string;
  /** The gateway node for its egress; default: one in the VM's AZ with the fewest VMs. */
  readonly gateway?: string;
  /** Only nodes of this AZ. */
  readonly az?: string;
  /** Exactly this compute node. */
  readonly node?: string;
}

export interface NodeView extends Omit<NodeRecord, 'roles'> {
  readonly roles: NodeRole[];
  readonly used: { readonly cpus: number; readonly memoryMiB: number; readonly vms: number };
  readonly provisioning?: ProvisioningView;
}

export interface SubnetView extends SubnetRecord {
  readonly prefixLength: number;
  readonly addresses: { readonly usable: number; readonly used: number; readonly free: number };
}

export type VmView = VmRecord;

/** A committed change and how far its flows got. */
export interface Mutation<T> {
  readonly value: T;
  readonly network: NetworkResult;
}

const NOT_A_CHANGE: NetworkResult = { confirmed: [], pending: [] };

// --- the service ----------------------------------------------------------------------------------------------------

export class CloudService {
  readonly overlay: Cidr;
  private readonly store: CloudStore;
  private readonly deps: CloudServiceDeps;
  private readonly applies: ApplyQueue;
  /** VMs with a backend operation in flight; a second operation on one is a Conflict. */
  private readonly busy = new Map<string, string>();
  private readonly now: () => Date;
  private readonly timeouts: BackendTimeouts;

  constructor(deps: CloudServiceDeps) {
    this.deps = deps;
    this.timeouts = { ...DEFAULT_BACKEND_TIMEOUTS, ...deps.backendTimeouts };
    this.store = deps.store;
    this.overlay = parseCidr(deps.overlay ?? DEFAULT_OVERLAY);
    this.now = deps.now ?? (() => new Date());
    this.applies = new ApplyQueue(
      () => this.store.read((r) => toCloud(r.records())),
      (cloud, nodes) => deps.network.apply(cloud, nodes),
      (error, nodes) => deps.log?.error({ err: error, nodes }, 'network apply failed; the nodes stay pending'),
    );
  }

  /** The model the pipeline compiles, as stored now. */
  cloud(): Cloud {
    return this.store.read((r) => toCloud(r.records()));
  }

  records(): CloudRecords {
    return this.store.read((r) => r.records());
  }

  revision(): number {
    return this.store.read((r) => r.revision());
  }

  /**
   * After a restart: a VM left 'creating' or 'deleting' by a crash is marked 'error' (the backend may or may not
   * have it); deleting it again cleans up. Returns the names it marked.
   */
  recoverInterrupted(): string[] {
    return this.store.write((w) => {
      const stuck = w.listVms().filter((v) => v.state === 'creating' || v.state === 'deleting');
      for (const v of stuck) w.setVmState(v.name, 'error', `interrupted while ${v.state} (controller restarted)`);
      return stuck.map((v) => v.name);
    });
  }

  // --- nodes

  listNodes(): NodeView[] {
    return this.store.read((r) => {
      const vms = r.listVms();
      return r.listNodes().map((n) => this.nodeView(n, vms));
    });
  }

  getNode(name: string): NodeView {
    return this.store.read((r) => this.nodeView(mustGetNode(r, name), r.listVms({ node: name })));
  }

  private nodeView(node: NodeRecord, vms: readonly VmRecord[]): NodeView {
    const p = this.deps.provisioning?.(node.name);
    return { ...nodeView(node, vms), ...(p && { provisioning: { state: p.state, at: p.at, ...(p.error !== undefined && { error: p.error }) } }) };
  }

  async addNode(input: AddNodeInput, ctx: OpContext = {}): Promise<Mutation<NodeView>> {
    const node = this.store.write((w) => {
      const record = this.checkNewNode(w, input);
      w.insertNode(record);
      this.assertConsistent(w);
      return record;
    });
    this.log(ctx).info({ node: node.name, roles: node.roles }, 'node added');
    const network = await this.applies.request(this.allNodes());
    return { value: this.nodeView(node, []), network };
  }

  /** Removed nodes whose undo on the node has not yet gone through (retried with backoff, and at every start). */
  listNodeRemovals(): NodeRemovalView[] {
    return this.store.read((r) => r.listNodeRemovals().map(nodeRemovalView));
  }

  /**
   * Removes the node from the store; undoing its bootstrap on the host follows (kept in the store until it went
   * through). `force`: the host is gone for good: no undo is kept, and a pending one of a node already removed is
   * dropped.
   */
  async removeNode(name: string, ctx: OpContext = {}, opts: { readonly force?: boolean } = {}): Promise<Mutation<{ name: string }>> {
    const pending = this.store.read((r) => (r.getNode(name) ? undefined : r.getNodeRemoval(name)));
    if (pending && !opts.force) {
      throw new Conflict(
        undefined,
        `node '${name}' is already removed; undoing its bootstrap on ${pending.node.sshTarget ?? pending.node.underlayIp} is pending ` +
          `(${pending.attempts} failed attempts${pending.lastError !== undefined ? `, last: ${pending.lastError}` : ''}) and retried until it goes through; ` +
          'remove it with force if that host is gone for good',
      );
    }
    const dropped = pending !== undefined && this.store.write((w) => !w.getNode(name) && w.deleteNodeRemoval(name));
    if (dropped) {
      this.log(ctx).warn({ node: name }, 'pending node removal dropped (force): its host keeps what bootstrap made');
      return { value: { name }, network: await this.applies.request(this.allNodes()) };
    }
    const affected = this.store.write((w) => {
      const node = mustGetNode(w, name);
      const hosted = w.listVms({ node: name });
      const bound = w.listVms({ gateway: name });
      if (hosted.length > 0 || bound.length > 0) {
        const names = [...hosted, ...bound].map((v) => v.name);
        throw new Conflict(undefined, `node '${name}' still has VMs (${summarise(names)}): delete them first`);
      }
      const all = w.listNodes().map((n) => n.name);
      const undo = opts.force ? undefined : this.deps.nodeUndo?.(node, w.records());
      w.deleteNode(name);
      // One pending removal per name. An earlier one at another target is still to be undone on its host; this
      // node was never set up (its provisioning undoes the old host first), so the earlier one is kept.
      const earlier = w.getNodeRemoval(name);
      if (undo !== undefined && !(earlier && earlier.node.sshTarget !== node.sshTarget)) {
        const now = this.now().toISOString();
        w.putNodeRemoval({ node, undo, requestedAt: now, attempts: 0, nextAttemptAt: now });
      }
      return all;
    });
    this.log(ctx).info({ node: name, force: opts.force === true }, 'node removed');
    this.deps.backend.nodeRemoved?.(name);
    return { value: { name }, network: await this.applies.request(affected) };
  }

  // --- subnets

  listSubnets(): SubnetView[] {
    return this.store.read((r) => {
      const vms = r.listVms();
      return r.listSubnets().map((s) => subnetView(s, vms.filter((v) => v.subnet === s.name).length));
    });
  }

  getSubnet(name: string): SubnetView {
    return this.store.read((r) => subnetView(mustGetSubnet(r, name), r.listVms({ subnet: name }).length));
  }

  async createSubnet(input: CreateSubnetInput, ctx: OpContext = {}): Promise<Mutation<SubnetView>> {
    const subnet = this.store.write((w) => {
      const bad = badName(input.name, SUBNET_NAME, 'subnet name');
      if (bad) throw new Invalid('name', bad);
      if (w.getSubnet(input.name)) throw new Conflict('name', `a subnet named '${input.name}' already exists`);
      const existing = w.listSubnets();
      const block = this.chooseBlock(input, existing);
      const vni = nextFreeVni(new Set(existing.map((s) => s.vni)));
      if (vni === undefined) throw new CapacityExhausted('name', 'every VNI (1..16777215) is in use');
      const record: SubnetRecord = {
        name: input.name,
        cidr: cidrText(block),
        gatewayIp: numberToIpv4(gatewayOf(block)),
        vni,
        createdAt: this.now().toISOString(),
      };
      w.insertSubnet(record);
      this.assertConsistent(w);
      return record;
    });
    this.log(ctx).info({ subnet: subnet.name, cidr: subnet.cidr, vni: subnet.vni }, 'subnet created');
    const network = await this.applies.request(this.allNodes());
    return { value: subnetView(subnet, 0), network };
  }

  async deleteSubnet(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    this.store.write((w) => {
      mustGetSubnet(w, name);
      const vms = w.listVms({ subnet: name });
      if (vms.length > 0) throw new Conflict(undefined, `subnet '${name}' still has VMs (${summarise(vms.map((v) => v.name))}): delete them first`);
      w.deleteSubnet(name);
    });
    this.log(ctx).info({ subnet: name }, 'subnet deleted');
    return { value: { name }, network: await this.applies.request(this.allNodes()) };
  }

  // --- VMs

  listVms(filter: { readonly node?: string; readonly subnet?: string } = {}): VmView[] {
    return this.store.read((r) => r.listVms(filter));
  }

  getVm(name: string): VmView {
    return this.store.read((r) => mustGetVm(r, name));
  }

  async createVm(input: CreateVmInput, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    const log = this.log(ctx);
    const vm = this.store.write((w) => {
      const record = this.allocateVm(w, input);
      w.insertVm(record);
      this.assertConsistent(w);
      return record;
    });
    log.info({ vm: vm.name, node: vm.node, ip: vm.ip, mac: vm.mac }, 'VM allocated');
    this.busy.set(vm.name, 'create');
    const busy = new BusyRelease(this.busy, vm.name);
    try {
      const network = await this.applies.request(this.vmNodes());
      const spec = this.specOf(vm);
      try {
        await withDeadline(this.deps.backend.create(spec), this.timeouts.createMs, `creating VM '${vm.name}' on node '${vm.node}'`);
      } catch (e) {
        if (e instanceof DeadlineExceeded) {
          // The create goes on on the node: nothing may be undone under it. The VM stays busy until it ends.
          busy.after(e.running);
          log.error({ vm: vm.name, err: e }, 'VM backend create timed out; the VM is kept (error) with its addresses');
          this.store.write((w) => w.setVmState(vm.name, 'error', `create failed: ${e.message}; cleanup pending: delete the VM (once the create has ended) to clean up the node`));
          throw new BackendFailed(`${e.message}: VM '${vm.name}' is kept in state error with its IP and MAC reserved; delete it once the create has ended to clean up the node`);
        }
        return await this.rollbackCreate(vm, spec, e, busy, log);
      }
      const running = this.store.write((w) => {
        w.setVmState(vm.name, 'running');
        return mustGetVm(w, vm.name);
      });
      log.info({ vm: vm.name }, 'VM running');
      return { value: running, network };
    } finally {
      busy.release();
    }
  }

  /**
   * After a failed create: the node may hold half a VM (the backend's own rollback may have failed too), with our MAC
   * and IP. It is cleaned up here (delete is idempotent); only when that works are the record and its addresses freed.
   * Else the VM stays in 'error', saying the cleanup is pending, and `deleteVm` retries it. Always throws.
   */
  private async rollbackCreate(vm: VmRecord, spec: VmSpec, cause: unknown, busy: BusyRelease, log: Log): Promise<never> {
    const why = errorText(cause);
    // A Conflict: the node already has a VM of that name which is not this one; it is not ours to delete.
    const cleanNode = !(cause instanceof Conflict);
    log.error({ vm: vm.name, err: cause }, cleanNode ? 'VM backend create failed; cleaning up the node' : 'VM backend create refused; releasing the allocation');
    if (cleanNode) {
      this.busy.set(vm.name, 'cleanup after a failed create');
      this.store.write((w) => w.setVmState(vm.name, 'deleting'));
      await this.applies.request(this.vmNodes());
      try {
        await withDeadline(this.deps.backend.delete(spec), this.timeouts.deleteMs, `cleaning up VM '${vm.name}' on node '${vm.node}'`);
      } catch (e) {
        if (e instanceof DeadlineExceeded) busy.after(e.running);
        log.error({ vm: vm.name, err: e }, 'cleaning up after a failed VM create failed; the VM is kept (error) with its addresses');
        this.store.write((w) => w.setVmState(vm.name, 'error', `create failed: ${why}; cleanup failed: ${errorText(e)}; cleanup pending: delete the VM to retry it`));
        await this.applies.request(this.vmNodes());
        throw new BackendFailed(
          `creating VM '${vm.name}' on node '${vm.node}' failed: ${why}; cleaning up the node failed too (${errorText(e)}): ` +
            `the VM is kept in state error with its IP and MAC reserved; delete it to retry the cleanup`,
        );
      }
    }
    // Only now, with nothing of it left on the node, are its IP, MAC and port free for another.
    this.store.write((w) => w.deleteVm(vm.name));
    if (!cleanNode) await this.applies.request(this.vmNodes()); // else its flows went with 'deleting'
    if (cause instanceof Invalid || cause instanceof Conflict) throw cause;
    throw new BackendFailed(`creating VM '${vm.name}' on node '${vm.node}' failed: ${why}`);
  }

  async deleteVm(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    const log = this.log(ctx);
    const vm = this.claim(name, 'delete', ['running', 'stopped', 'error', 'deleting']);
    const busy = new BusyRelease(this.busy, name);
    try {
      this.store.write((w) => w.setVmState(name, 'deleting'));
      await this.applies.request(this.vmNodes()); // its flows go first: nothing reaches a half-deleted VM
      try {
        await withDeadline(this.deps.backend.delete(this.specOf(vm)), this.timeouts.deleteMs, `deleting VM '${name}' on node '${vm.node}'`);
      } catch (e) {
        if (e instanceof DeadlineExceeded) busy.after(e.running);
        log.error({ vm: name, err: e }, 'VM backend delete failed; the VM is kept (error) with its addresses');
        this.store.write((w) => w.setVmState(name, 'error', `delete failed: ${errorText(e)}; cleanup pending: delete the VM to retry it`));
        await this.applies.request(this.vmNodes());
        throw new BackendFailed(
          `deleting VM '${name}' on node '${vm.node}' failed: ${errorText(e)}: the VM is kept in state error with its IP and MAC reserved; delete it again to retry`,
        );
      }
      // Only now, with the VM gone, are its IP, MAC and port free for another.
      this.store.write((w) => w.deleteVm(name));
      log.info({ vm: name }, 'VM deleted');
      return { value: { name }, network: await this.applies.request(this.vmNodes()) };
    } finally {
      busy.release();
    }
  }

  startVm(name: string, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    return this.transition(name, 'start', ['stopped', 'error'], 'running', ctx);
  }

  stopVm(name: string, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    return this.transition(name, 'stop', ['running', 'error'], 'stopped', ctx);
  }

  async execVm(name: string, argv: readonly string[]): Promise<ExecResult> {
    const backend = this.deps.backend;
    if (!backend.exec) throw new Unsupported('this VM backend cannot run commands in a VM');
    const vm = this.getVm(name);
    if (vm.state !== 'running') throw new Conflict(undefined, `VM '${name}' is ${vm.state}, not running`);
    if (argv.length === 0) throw new Invalid('command', 'empty command');
    try {
      return await backend.exec(this.specOf(vm), argv);
    } catch (e) {
      if (e instanceof Invalid) throw e; // the command's fault (e.g. its output over the limit), not the backend's
      throw new BackendFailed(`running a command in VM '${name}' failed: ${errorText(e)}`);
    }
  }

  // --- datapaths

  async flows(node: string): Promise<FlowRow[]> {
    this.getNode(node);
    const rows = await this.deps.flows.flows(node);
    if (rows === undefined) throw new Conflict(undefined, `node '${node}' is not connected: its flows can't be read`);
    return rows;
  }

  /** Every datapath the runtime knows, plus a not-connected entry for each node that never connected. */
  datapaths(): DatapathInfo[] {
    const known = this.deps.datapaths.list();
    const seen = new Set(known.map((d) => d.node));
    const missing = this.listNodes()
      .filter((n) => !seen.has(n.name))
      .map((n): DatapathInfo => ({ node: n.name, dpid: '', connected: false, since: n.createdAt, ports: [] }));
    return [...known, ...missing].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  async resync(node: string, ctx: OpContext = {}): Promise<{ node: string; flowMods: number; seconds: number }> {
    this.getNode(node);
    const outcome = await this.deps.resyncer.resync(node);
    if (!outcome.connected) throw new Conflict(undefined, `node '${node}' is not connected: it is resynced when it connects`);
    this.log(ctx).info({ node, flowMods: outcome.flowMods, seconds: outcome.seconds }, 'node resynced');
    return { node, flowMods: outcome.flowMods, seconds: outcome.seconds };
  }

  // --- internals

  private checkNewNode(r: StoreReader, input: AddNodeInput): NodeRecord {
    const bad = badName(input.name, NODE_NAME, 'node name');
    if (bad) throw new Invalid('name', bad);
    const roles = [...new Set(input.roles)];
    if (roles.length === 0) throw new Invalid('roles', `give at least one of ${NODE_ROLES.join(', ')}`);
    const unknown = roles.find((x) => !NODE_ROLES.includes(x));
    if (unknown !== undefined) throw new Invalid('roles', `unknown role '${unknown}' (roles: ${NODE_ROLES.join(', ')})`);
    const probe = { name: input.name, roles, underlayIp: input.underlayIp };
    if (hasRole(probe, 'switch') && isOverlayEndpoint(probe)) {
      throw new Invalid('roles', 'the switch role cannot share a node (one br0) with compute, gateway or dhcp');
    }
    const badIp = badIpv4(input.underlayIp);
    if (badIp) throw new Invalid('underlayIp', badIp);
    if (input.serviceIp !== undefined) {
      if (!roles.includes('gateway')) throw new Invalid('serviceIp', 'only gateway nodes have a service IP');
      const badService = badIpv4(input.serviceIp);
      if (badService) throw new Invalid('serviceIp', badService);
    }
    if (input.sshTarget !== undefined && !SSH_TARGET.test(input.sshTarget)) {
      throw new Invalid('sshTarget', `'${input.sshTarget}' is not '[user@]host[:port]'`);
    }
    if (input.az !== undefined) {
      const badAz = badName(input.az, AZ_NAME, 'AZ name');
      if (badAz) throw new Invalid('az', badAz);
    }
    const cpus = input.cpus ?? 0;
    const memoryMiB = input.memoryMiB ?? 0;
    if (roles.includes('compute')) {
      if (!Number.isInteger(cpus) || cpus < 1) throw new Invalid('cpus', 'a compute node needs at least 1 CPU');
      if (!Number.isInteger(memoryMiB) || memoryMiB < 64) throw new Invalid('memoryMiB', 'a compute node needs at least 64 MiB of memory');
    }

    if (r.getNode(input.name)) throw new Conflict('name', `a node named '${input.name}' already exists`);
    // Another node's undo still due on the same host would tear down this one's bootstrap once it gets through.
    for (const p of r.listNodeRemovals()) {
      const sameHost = p.node.underlayIp === input.underlayIp || (p.node.sshTarget !== undefined && input.sshTarget !== undefined && sshHost(p.node.sshTarget) === sshHost(input.sshTarget));
      if (p.node.name !== input.name && sameHost) {
        throw new Conflict(
          'name',
          `node '${p.node.name}' was removed from that host (${p.node.sshTarget ?? p.node.underlayIp}) and undoing its bootstrap there is still pending` +
            `${p.lastError !== undefined ? ` (last attempt: ${p.lastError})` : ''}: add this node once that is done, or add it back as '${p.node.name}'`,
        );
      }
    }
    const nodes = r.listNodes();
    if (roles.includes('switch')) {
      const other = nodes.find((n) => hasRole(n, 'switch'));
      if (other) throw new Conflict('roles', `node '${other.name}' is already the switch node (only one is allowed)`);
    }
    if (roles.includes('dhcp')) {
      const other = nodes.find((n) => hasRole(n, 'dhcp'));
      if (other) throw new Conflict('roles', `node '${other.name}' is already the DHCP node (only one is allowed)`);
    }
    const record: NodeRecord = {
      name: input.name,
      roles,
      underlayIp: input.underlayIp,
      ...(input.serviceIp !== undefined && { serviceIp: input.serviceIp }),
      ...(input.sshTarget !== undefined && { sshTarget: input.sshTarget }),
      ...(input.az !== undefined && { az: input.az }),
      cpus,
      memoryMiB,
      createdAt: this.now().toISOString(),
    };
    const mine = tunnelIp(record);
    for (const n of nodes) {
      if (n.underlayIp === input.underlayIp) throw new Conflict('underlayIp', `${input.underlayIp} is already node '${n.name}'s underlay address`);
      if (tunnelIp(n) === mine) throw new Conflict(input.serviceIp !== undefined ? 'serviceIp' : 'underlayIp', `${mine} is already node '${n.name}'s tunnel address`);
    }
    return record;
  }

  private chooseBlock(input: CreateSubnetInput, existing: readonly SubnetRecord[]): Cidr {
    const overlay = cidrText(this.overlay);
    const used = existing.map((s) => ({ subnet: s, cidr: parseCidr(s.cidr) }));
    if (input.cidr !== undefined) {
      if (input.prefixLength !== undefined) throw new Invalid('cidr', 'give either cidr or prefixLength, not both');
      let block: Cidr;
      try {
        block = parseCidr(input.cidr);
      } catch (e) {
        throw new Invalid('cidr', errorText(e));
      }
      if (!within(block, this.overlay)) throw new Invalid('cidr', `${input.cidr} is not inside the overlay range ${overlay}`);
      if (block.prefix > MAX_SUBNET_PREFIX) throw new Invalid('cidr', `a /${block.prefix} has no room for VMs (at most /${MAX_SUBNET_PREFIX})`);
      const clash = used.find((u) => overlaps(u.cidr, block));
      if (clash) throw new Conflict('cidr', `${input.cidr} overlaps subnet '${clash.subnet.name}' (${clash.subnet.cidr})`);
      return block;
    }
    const prefix = input.prefixLength ?? DEFAULT_PREFIX;
    if (!Number.isInteger(prefix) || prefix < this.overlay.prefix || prefix > MAX_SUBNET_PREFIX) {
      throw new Invalid('prefixLength', `/${prefix} is out of range: the overlay ${overlay} holds /${this.overlay.prefix} to /${MAX_SUBNET_PREFIX}`);
    }
    const block = nextFreeBlock(this.overlay, prefix, used.map((u) => u.cidr));
    if (!block) throw new CapacityExhausted('prefixLength', `the overlay range ${overlay} has no free /${prefix} left`);
    return block;
  }

  /** Validation, placement and address allocation for a new VM; runs inside the write transaction. */
  private allocateVm(w: StoreWriter, input: CreateVmInput): VmRecord {
    const bad = badName(input.name, VM_NAME, 'VM name');
    if (bad) throw new Invalid('name', bad);
    if (!IMAGE_REF.test(input.image)) throw new Invalid('image', `'${input.image}' is not an image reference such as 'images:debian/12'`);
    const flavor = parseFlavor(input.flavor);
    if ('error' in flavor) throw new Invalid('flavor', flavor.error);
    if (input.az !== undefined) {
      const badAz = badName(input.az, AZ_NAME, 'AZ name');
      if (badAz) throw new Invalid('az', badAz);
    }
    const subnet = w.getSubnet(input.subnet);
    if (!subnet) throw new Invalid('subnet', `no subnet named '${input.subnet}'`);
    const nodes = w.listNodes();
    let gateway: NodeRecord | undefined;
    if (input.gateway !== undefined) {
      gateway = nodes.find((n) => n.name === input.gateway);
      if (!gateway) throw new Invalid('gateway', `no node named '${input.gateway}'`);
      if (!hasRole(gateway, 'gateway')) throw new Invalid('gateway', `node '${input.gateway}' is not a gateway`);
    } else if (!nodes.some((n) => hasRole(n, 'gateway'))) {
      throw new Invalid('gateway', 'no gateway node is registered: add one before creating VMs');
    }
    if (input.node !== undefined) {
      const host = nodes.find((n) => n.name === input.node);
      if (!host) throw new Invalid('node', `no node named '${input.node}'`);
      if (!hasRole(host, 'compute')) throw new Invalid('node', `node '${input.node}' is not a compute node`);
    }
    if (w.getVm(input.name)) throw new Conflict('name', `a VM named '${input.name}' already exists`);

    const vms = w.listVms();
    const placement = placeVm(computeLoads(nodes, vms), {
      flavor,
      ...(input.az !== undefined && { az: input.az }),
      ...(input.node !== undefined && { node: input.node }),
      ...(gateway?.az !== undefined && { preferAz: gateway.az }),
    });
    if (!placement.ok) throw new CapacityExhausted(input.node !== undefined ? 'node' : input.az !== undefined ? 'az' : 'flavor', placement.reason);
    gateway ??= chooseGateway(nodes, vms, placement.node.az);

    const block = parseCidr(subnet.cidr);
    const ip = nextFreeIp(block, new Set(vms.map((v) => v.ip)));
    if (ip === undefined) {
      throw new CapacityExhausted('subnet', `subnet '${subnet.name}' (${subnet.cidr}) is full: all ${usableHosts(block)} VM addresses are taken`);
    }
    const mac = nextFreeMac(ipv4ToNumber(ip), new Set(vms.map((v) => v.mac)));
    return {
      name: input.name,
      subnet: subnet.name,
      node: placement.node.name,
      gateway: gateway.name,
      flavor: input.flavor,
      cpus: flavor.cpus,
      memoryMiB: flavor.memoryMiB,
      image: input.image,
      ip,
      mac,
      port: `mcvm${w.nextSequence('vm-port')}`,
      state: 'creating',
      createdAt: this.now().toISOString(),
    };
  }

  /** The last line of defence: a write that would leave an inconsistent model is rolled back. */
  private assertConsistent(r: StoreReader): void {
    const problems = validateCloud(toCloud(r.records()));
    if (problems.length > 0) throw new Invalid('request', `the change would make the cloud inconsistent: ${problems.join('; ')}`);
  }

  /** Marks a VM busy with `op`, or says why it can't be. */
  private claim(name: string, op: string, from: readonly VmState[]): VmRecord {
    const vm = this.getVm(name);
    const inFlight = this.busy.get(name);
    if (inFlight !== undefined) throw new Conflict(undefined, `VM '${name}' is busy (${inFlight} in progress)`);
    if (!from.includes(vm.state)) throw new Conflict(undefined, `VM '${name}' is ${vm.state}: cannot ${op} it`);
    this.busy.set(name, op);
    return vm;
  }

  private async transition(name: string, op: 'start' | 'stop', from: readonly VmState[], to: VmState, ctx: OpContext): Promise<Mutation<VmView>> {
    const current = this.getVm(name);
    if (current.state === to && !this.busy.has(name)) return { value: current, network: NOT_A_CHANGE };
    const vm = this.claim(name, op, from);
    try {
      try {
        await this.deps.backend[op](this.specOf(vm));
      } catch (e) {
        this.store.write((w) => w.setVmState(name, 'error', `${op} failed: ${errorText(e)}`));
        throw new BackendFailed(`${op === 'start' ? 'starting' : 'stopping'} VM '${name}' failed: ${errorText(e)}`);
      }
      const updated = this.store.write((w) => {
        w.setVmState(name, to);
        return mustGetVm(w, name);
      });
      this.log(ctx).info({ vm: name, state: to }, `VM ${op === 'start' ? 'started' : 'stopped'}`);
      return { value: updated, network: NOT_A_CHANGE };
    } finally {
      this.busy.delete(name);
    }
  }

  private specOf(vm: VmRecord): VmSpec {
    return this.store.read((r) => {
      const node = mustGetNode(r, vm.node);
      const subnet = mustGetSubnet(r, vm.subnet);
      return {
        name: vm.name,
        node,
        image: vm.image,
        cpus: vm.cpus,
        memoryMiB: vm.memoryMiB,
        mac: vm.mac,
        ip: vm.ip,
        prefixLength: parseCidr(subnet.cidr).prefix,
        gatewayIp: subnet.gatewayIp,
        port: vm.port,
      };
    });
  }

  private allNodes(): string[] {
    return this.store.read((r) => r.listNodes().map((n) => n.name));
  }

  /** A VM's flows live on every overlay endpoint (ARP answers, routing) and the switch node (broadcast). */
  private vmNodes(): string[] {
    return this.store.read((r) =>
      r
        .listNodes()
        .filter((n) => isOverlayEndpoint(n) || hasRole(n, 'switch'))
        .map((n) => n.name),
    );
  }

  private log(ctx: OpContext): Log {
    return ctx.log ?? this.deps.log ?? SILENT;
  }
}

const SILENT: Log = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * Clears a VM's busy mark when its operation returns, or, when a backend step it stopped waiting for (a deadline)
 * still runs on the node, once that step ends: nothing else may touch the VM under it.
 */
class BusyRelease {
  private running: Promise<void> | undefined;

  constructor(
    private readonly busy: Map<string, string>,
    private readonly name: string,
  ) {}

  after(running: Promise<void>): void {
    this.running = running;
  }

  release(): void {
    const clear = (): void => void this.busy.delete(this.name);
    if (this.running) void this.running.then(clear);
    else clear();
  }
}

function mustGetNode(r: StoreReader, name: string): NodeRecord {
  const n = r.getNode(name);
  if (!n) throw new NotFound('node', name);
  return n;
}

function mustGetSubnet(r: StoreReader, name: string): SubnetRecord {
  const s = r.getSubnet(name);
  if (!s) throw new NotFound('subnet', name);
  return s;
}

function mustGetVm(r: StoreReader, name: string): VmRecord {
  const v = r.getVm(name);
  if (!v) throw new NotFound('vm', name);
  return v;
}

function nodeView(node: NodeRecord, vms: readonly VmRecord[]): NodeView {
  const mine = vms.filter((v) => v.node === node.name);
  return {
    ...node,
    roles: [...node.roles],
    used: { cpus: sum(mine.map((v) => v.cpus)), memoryMiB: sum(mine.map((v) => v.memoryMiB)), vms: mine.length },
  };
}

function subnetView(subnet: SubnetRecord, vmCount: number): SubnetView {
  const block = parseCidr(subnet.cidr);
  const usable = usableHosts(block);
  return { ...subnet, prefixLength: block.prefix, addresses: { usable, used: vmCount, free: usable - vmCount } };
}

/** A gateway in the AZ of the VM's node if there is one, the one with the fewest VMs bound, then by name. */
function chooseGateway(nodes: readonly NodeRecord[], vms: readonly VmRecord[], az: string | undefined): NodeRecord {
  const gateways = nodes.filter((n) => hasRole(n, 'gateway'));
  const local = gateways.filter((g) => g.az !== undefined && g.az === az);
  const pool = local.length > 0 ? local : gateways;
  const bound = (g: NodeRecord): number => vms.filter((v) => v.gateway === g.name).length;
  return [...pool].sort((a, b) => bound(a) - bound(b) || (a.name < b.name ? -1 : 1))[0]!;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function summarise(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

