// What the control plane stores: the cloud model plus what only the control plane needs (capacity, SSH targets,
// flavors, images, VM state). `toCloud` projects records onto the plain model the pipeline compiles.
import type { FloatingIpRecord } from './floating-ips.js';
import type { Cloud, CloudNode, NodeRole, SecurityGroup, SecurityRule, Subnet, Vm } from './model.js';
import { vmInstanceName } from './names.js';
import { modelName, projectOf, type ProjectRecord } from './projects.js';

export interface NodeRecord {
  readonly name: string;
  readonly roles: readonly NodeRole[];
  readonly underlayIp: string;
  /** Gateways: the tunnel endpoint other nodes send VXLAN to (defaults to underlayIp). */
  readonly serviceIp?: string;
  /** How the hosts layer reaches the node, e.g. 'root@10.0.0.2'; absent for local/namespace nodes. */
  readonly sshTarget?: string;
  readonly az?: string;
  /** Compute nodes: capacity for VMs. 0 for nodes without the compute role. */
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly createdAt: string;
}

export interface SubnetRecord {
  readonly name: string;
  /** Its project (projects.ts); the store always fills this in (absent in a record = the default project). */
  readonly project?: string;
  readonly cidr: string;
  readonly gatewayIp: string;
  readonly vni: number;
  readonly createdAt: string;
}

export type VmState = 'creating' | 'running' | 'stopped' | 'deleting' | 'error';

export const VM_STATES: readonly VmState[] = ['creating', 'running', 'stopped', 'deleting', 'error'];

export interface VmRecord {
  readonly name: string;
  /** Its project, its subnet's (the store always fills this in). */
  readonly project?: string;
  readonly subnet: string;
  readonly node: string;
  readonly gateway: string;
  /** The flavor as asked for ('4C8G' or a named flavor); cpus and memoryMiB are what it resolved to. */
  readonly flavor: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly image: string;
  readonly ip: string;
  /** VMs of a project other than the default one: its cloud-unique transit address (north-south.ts). */
  readonly transitIp?: string;
  readonly mac: string;
  readonly port: string;
  /**
   * Its name on its node: LXD container, netns namespace, files (names.ts vmInstanceName; unique across the cloud).
   * The store always fills it in; absent in a new record = vmInstanceName(project, name).
   */
  readonly instance?: string;
  readonly state: VmState;
  /** Why the VM is in state 'error'. */
  readonly error?: string;
  readonly createdAt: string;
  /** Its security groups in name order (the store always fills this in; `default` unless given others). */
  readonly securityGroups?: readonly string[];
}

export interface SecurityRuleRecord extends SecurityRule {
  readonly createdAt: string;
}

export interface SecurityGroupRecord {
  readonly id: number;
  readonly name: string;
  /** Its project (the store always fills this in); only VMs and rules of that project may name it. */
  readonly project?: string;
  readonly description: string;
  /** In id order (the order they were added). */
  readonly rules: readonly SecurityRuleRecord[];
  readonly createdAt: string;
}

/**
 * A node that left the store while its undo on the node (what its bootstrap made) has not yet gone through: kept,
 * and retried, until it does, across restarts.
 */
export interface NodeRemovalRecord {
  /** The node as it was: the undo reaches it by its SSH target (or name). */
  readonly node: NodeRecord;
  /** What the undo needs, as JSON (the node's bootstrap spec; opaque here). */
  readonly undo: string;
  readonly requestedAt: string;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly lastError?: string;
  /** ISO time of the next attempt. */
  readonly nextAttemptAt: string;
}

export interface CloudRecords {
  readonly nodes: readonly NodeRecord[];
  readonly subnets: readonly SubnetRecord[];
  readonly vms: readonly VmRecord[];
  /** Every security group with its rules (the store always fills this in). */
  readonly securityGroups?: readonly SecurityGroupRecord[];
  /** Every floating IP (the stores fill this in; gateways' provisioning reads it). */
  readonly floatingIps?: readonly FloatingIpRecord[];
  /** Every project (the store always fills this in): their routing domains. */
  readonly projects?: readonly ProjectRecord[];
}

export function nodeToModel(n: NodeRecord): CloudNode {
  return {
    name: n.name,
    roles: n.roles,
    underlayIp: n.underlayIp,
    ...(n.az !== undefined && { az: n.az }),
    ...(n.serviceIp !== undefined && { serviceIp: n.serviceIp }),
  };
}

/** `domains`: routing domain by project name; a subnet of a project not in it (or without one) is in the default domain. */
export function subnetToModel(s: SubnetRecord, domains?: ReadonlyMap<string, number>): Subnet {
  const domain = domains?.get(projectOf(s));
  return { name: modelName(s), cidr: s.cidr, gatewayIp: s.gatewayIp, vni: s.vni, ...(domain !== undefined && { domain }) };
}

/** A name `record` refers to (a subnet, a group), in the model: resolved in the record's project. */
const refInModel = (record: { readonly project?: string }, name: string): string => modelName({ project: projectOf(record), name });

export function vmToModel(v: VmRecord): Vm {
  const vm: Vm = {
    name: modelName(v),
    subnet: refInModel(v, v.subnet),
    node: v.node,
    gateway: v.gateway,
    ip: v.ip,
    mac: v.mac,
    port: v.port,
    ...(v.transitIp !== undefined && { transitIp: v.transitIp }),
  };
  return v.securityGroups?.length ? { ...vm, securityGroups: v.securityGroups.map((g) => refInModel(v, g)) } : vm;
}

/** A VM's name on its node (the store fills `instance` in; a record without it is named as a new VM would be). */
export function instanceOf(v: VmRecord): string {
  return v.instance ?? vmInstanceName(projectOf(v), v.name);
}

/** Routing domain by project name, of the projects that have one. */
export function domainsOf(projects: readonly ProjectRecord[] | undefined): Map<string, number> {
  return new Map((projects ?? []).flatMap((p) => (p.domain === undefined ? [] : [[p.name, p.domain] as const])));
}

export function securityGroupToModel(g: SecurityGroupRecord): SecurityGroup {
  return {
    id: g.id,
    name: modelName(g),
    rules: g.rules.map(({ createdAt: _, ...rule }) => (rule.remoteGroup === undefined ? rule : { ...rule, remoteGroup: refInModel(g, rule.remoteGroup) })),
  };
}

/**
 * The model the pipeline compiles. VMs being deleted are left out (their flows go before the container does);
 * every other state keeps its flows, so a stopped VM comes back with its network intact.
 */
export function toCloud(records: CloudRecords): Cloud {
  const domains = domainsOf(records.projects);
  return {
    nodes: records.nodes.map(nodeToModel),
    subnets: records.subnets.map((s) => subnetToModel(s, domains)),
    vms: records.vms.filter((v) => v.state !== 'deleting').map(vmToModel),
    ...(records.securityGroups && { securityGroups: records.securityGroups.map(securityGroupToModel) }),
  };
}
