// The store interface: what the control plane keeps, and the one way to change it (an atomic `write`).
//
// `read` and `write` take synchronous functions on purpose. Allocation (IPAM, MACs, VNIs, placement) reads what is
// taken and writes the new record in the same `write`, so two concurrent requests can never get the same address.
// SQLite runs the function inside one IMMEDIATE transaction. etcd (etcd-store.ts) runs it against its local,
// watch-fed snapshot and commits with a compare-and-swap on the cloud's revision, re-running it on conflict: so the
// function must do no I/O and have no effect outside the writer it is given, and may run more than once.
// `read` answers from what this process has (SQLite's file, etcd's snapshot) and so stays synchronous; `write`
// is a Promise because a distributed commit is a network round trip.
import type { FloatingIpRecord } from './floating-ips.js';
import type { ProjectRecord } from './projects.js';
import type { SecurityRuleSpec } from './security-groups.js';
import type { CloudRecords, NodeRecord, NodeRemovalRecord, SecurityGroupRecord, SubnetRecord, VmRecord, VmState } from './records.js';

/**
 * A subnet, VM or security group: its name within its project (absent = the default project). Names are unique per
 * project, so this is a record's key; a record is a ScopedName of itself. References between records (a VM's subnet
 * and groups, a rule's remote group, a floating IP's VM) are names in the referring record's project.
 */
export interface ScopedName {
  readonly project?: string;
  readonly name: string;
}

export interface VmFilter {
  readonly node?: string;
  /** Its subnet (a subnet names its project: only that project's VMs). */
  readonly subnet?: ScopedName;
  readonly gateway?: string;
  readonly project?: string;
}

export interface StoreReader {
  listNodes(): NodeRecord[];
  getNode(name: string): NodeRecord | undefined;
  /** In name order (then project). */
  listSubnets(): SubnetRecord[];
  getSubnet(subnet: ScopedName): SubnetRecord | undefined;
  /** All VMs in name order (then project), or those on one node / in one subnet / bound to one gateway / of one project. */
  listVms(filter?: VmFilter): VmRecord[];
  getVm(vm: ScopedName): VmRecord | undefined;
  /** Everything, for `toCloud`. */
  records(): CloudRecords;
  /** Bumped by every committed write. */
  revision(): number;
  getMeta(key: string): string | undefined;
  /** Every meta key and value, in key order (for a backup). */
  listMeta(): [string, string][];
  /** The highest security group and rule ids ever handed out (ids are never reused); for a backup. */
  securityIdHighWater(): { readonly group: number; readonly rule: number };
  /** Pending node removals, by node name. */
  listNodeRemovals(): NodeRemovalRecord[];
  getNodeRemoval(name: string): NodeRemovalRecord | undefined;
  /** Every security group with its rules, in name order (then project). */
  listSecurityGroups(): SecurityGroupRecord[];
  getSecurityGroup(group: ScopedName): SecurityGroupRecord | undefined;
  /** Every project in name order (`default` always among them). */
  listProjects(): ProjectRecord[];
  getProject(name: string): ProjectRecord | undefined;
  /** Floating IPs in address order (numeric), or those of one gateway / project / VM. */
  listFloatingIps(filter?: FloatingIpFilter): FloatingIpRecord[];
  getFloatingIp(address: string): FloatingIpRecord | undefined;
}

export interface FloatingIpFilter {
  readonly gateway?: string;
  readonly project?: string;
  readonly vm?: ScopedName;
}

export interface StoreWriter extends StoreReader {
  insertNode(node: NodeRecord): void;
  deleteNode(name: string): boolean;
  insertSubnet(subnet: SubnetRecord): void;
  deleteSubnet(subnet: ScopedName): boolean;
  /** Its instance name (absent: vmInstanceName of project and name) is unique across the cloud. */
  insertVm(vm: VmRecord): void;
  setVmState(vm: ScopedName, state: VmState, error?: string): void;
  /** Binds a VM's egress to another gateway node (which must exist; gateway failover). False: no such VM. */
  setVmGateway(vm: ScopedName, gateway: string): boolean;
  /** Gives a VM its transit address (north-south.ts); VMs made before routing domains get theirs this way. False: no such VM. */
  setVmTransitIp(vm: ScopedName, transitIp: string): boolean;
  /** Removes the record: only now are its IP, MAC, port and instance name free for another VM. */
  deleteVm(vm: ScopedName): boolean;
  setMeta(key: string, value: string): void;
  /** Inserts or replaces the pending removal of `removal.node.name`. */
  putNodeRemoval(removal: NodeRemovalRecord): void;
  deleteNodeRemoval(name: string): boolean;
  /** 1, 2, 3... per name, never reused (e.g. VM port names). */
  nextSequence(name: string): number;
  /** Inserts a group (no rules); returns its id (never reused; `id` is for a restore, which keeps a backup's ids). */
  insertSecurityGroup(group: { readonly name: string; readonly description: string; readonly createdAt: string; readonly project?: string; readonly id?: number }): number;
  /** Refused (throws) while a VM is a member or another group's rule names it. */
  deleteSecurityGroup(group: ScopedName): boolean;
  /** Returns the rule's id (unique among all groups, never reused). A remote group is one of `group`'s project. */
  insertSecurityRule(group: ScopedName, rule: SecurityRuleSpec, createdAt: string, id?: number): number;
  /** After a restore: no id up to these is handed out again. */
  reserveSecurityIds(upTo: { readonly group: number; readonly rule: number }): void;
  deleteSecurityRule(group: ScopedName, id: number): boolean;
  /** Replaces a VM's memberships (groups of its project, by name). */
  setVmSecurityGroups(vm: ScopedName, groups: readonly string[]): void;
  insertProject(project: ProjectRecord): void;
  /** Replaces its description, overlay and quotas (the name stays). */
  updateProject(project: ProjectRecord): boolean;
  /** Refused (throws) while the project owns a subnet, VM or security group. */
  deleteProject(name: string): boolean;
  /** Refused (throws) for an address taken, or a gateway, project or VM that does not exist. */
  insertFloatingIp(fip: FloatingIpRecord): void;
  /** Attaches (a VM of the floating IP's project, by name) or detaches (undefined); refused (throws) for a VM that does not exist or has another. */
  setFloatingIpVm(address: string, vm: string | undefined): boolean;
  deleteFloatingIp(address: string): boolean;
}

export interface CloudStore {
  read<T>(fn: (r: StoreReader) => T): T;
  /**
   * All of fn's writes or none: a throw (or a crash) leaves the store as it was. Once it resolves, `read` sees the
   * write. Rejects with `StoreUnavailableError` when the store cannot commit (etcd without quorum).
   */
  write<T>(fn: (w: StoreWriter) => T): Promise<T>;
  close(): void;
}

/** admin: everything, never scoped; member: reads and writes its project's resources; viewer: reads (all, or its project's). */
export const API_TOKEN_ROLES = ['admin', 'member', 'viewer'] as const;
export type ApiTokenRole = (typeof API_TOKEN_ROLES)[number];

/** An API token as stored: never its secret, only the SHA-256 of the whole token text. */
export interface ApiTokenRecord {
  /** The id carried in the token text (`mc_<id>_<secret>`), so a lookup needs no scan. */
  readonly id: string;
  readonly name: string;
  readonly role: ApiTokenRole;
  /** The one project a member or viewer token sees and touches; absent = the whole cloud (admins, cloud viewers). */
  readonly project?: string;
  /** SHA-256 of the token text, hex. */
  readonly hash: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
}

export interface TokenReader {
  getApiToken(id: string): ApiTokenRecord | undefined;
  /** In name order. */
  listApiTokens(): ApiTokenRecord[];
}

export interface TokenWriter extends TokenReader {
  insertApiToken(token: ApiTokenRecord): void;
  deleteApiToken(name: string): boolean;
  setApiTokenLastUsed(id: string, at: string): void;
}

/**
 * API tokens live in the store but are not part of the cloud: their writes do not bump the revision (a last-used
 * time must not make the network glue recompile the cloud).
 */
export interface TokenStore {
  readTokens<T>(fn: (r: TokenReader) => T): T;
  /** One transaction, like `CloudStore.write`. */
  writeTokens<T>(fn: (w: TokenWriter) => T): Promise<T>;
}

/** The store cannot commit now (etcd has lost its quorum or cannot be reached); reads still answer. The API says 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** A write kept conflicting with other writers past its retry bound (count or time). The API says 503 too. */
export class StoreConflictError extends StoreUnavailableError {}
