// What the cloud service needs from the world, as interfaces: the network (compile and push flows), the VM backend,
// the switches' flows and datapaths, a logger. src/daemon implements them (runtime, pipeline and hosts glue); tests
// pass fakes.
import type { FloatingIpPool } from '../topology/floating-ips.js';
import type { Cloud } from '../topology/model.js';
import type { CloudRecords, NodeRecord } from '../topology/records.js';
import type { CloudStore } from '../topology/store.js';
import type { NetworkResult } from './apply-queue.js';

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
  /** Its instance name on the node (records.ts instanceOf): the LXD container, the netns namespace, files. */
  readonly name: string;
  /** The VM's own name, the hostname its guest has and sends (DHCP option 12); `name` is unique on the node, this only in its project. */
  readonly hostname: string;
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

export interface VmExecResult {
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
  exec?(spec: VmSpec, argv: readonly string[]): Promise<VmExecResult>;
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

export const SILENT: Log = { info: () => {}, warn: () => {}, error: () => {} };

/** A node's last provisioning outcome, as GET /api/v1/nodes shows it. */
export interface ProvisioningView {
  readonly state: 'provisioning' | 'ready' | 'waiting' | 'failed';
  /** ISO time of that outcome. */
  readonly at: string;
  /** Why it failed, or what it waits for. */
  readonly error?: string;
  /** Failed or waiting runs in a row (the retry backoff's exponent); absent once a run went through. */
  readonly attempts?: number;
  /** ISO time of the next retry (failed or waiting), when one is scheduled. */
  readonly nextRetryAt?: string;
}

export interface BackendTimeouts {
  readonly createMs: number;
  readonly deleteMs: number;
}

/** `vms.createTimeoutSeconds` and `vms.deleteTimeoutSeconds`: an LXD create may fetch an image first. */
export const DEFAULT_BACKEND_TIMEOUTS: BackendTimeouts = { createMs: 600_000, deleteMs: 120_000 };

export interface CloudServiceDeps {
  readonly store: CloudStore;
  readonly network: NetworkApplier;
  readonly backend: VmBackend;
  readonly flows: FlowReader;
  readonly datapaths: DatapathView;
  readonly resyncer: Resyncer;
  /** The range subnets are carved from. Default 192.168.20.0/22. */
  readonly overlay?: string;
  /** Where VMs of projects other than the default one get their transit address (north-south.ts). Default 100.64.0.0/16. */
  readonly transitRange?: string;
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
  /** Each gateway's floating IP pool (`floatingIps.pools`, checked by the configuration). */
  readonly floatingIpPools?: readonly FloatingIpPool[];
  /** Resolves once the node's provisioning has caught up with the store (bounded; never rejects). */
  readonly nodeProvisioned?: (node: string) => Promise<void>;
}

/** Per request: the request's logger, so its lines carry the request id. */
export interface OpContext {
  readonly log?: Log;
  /**
   * The project the request is confined to (its token's, or the one it names): records of other projects are
   * refused (Forbidden), and what it creates goes there. Absent: the whole cloud; new records go to `default`.
   */
  readonly project?: string;
}
