// What the service takes (inputs) and gives (views, mutations): the shapes the API's schemas mirror.
import { usableHosts } from '../topology/ipam.js';
import { parseCidr, type NodeRole } from '../topology/model.js';
import { projectOf } from '../topology/projects.js';
import type { NodeRecord, SubnetRecord, VmRecord } from '../topology/records.js';
import type { NetworkResult } from './apply-queue.js';
import type { ProvisioningView } from './collaborators.js';

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
  /** Its security groups (none: default). */
  readonly securityGroups?: readonly string[];
}

export interface NodeDetails extends Omit<NodeRecord, 'roles'> {
  readonly roles: NodeRole[];
  readonly used: { readonly cpus: number; readonly memoryMiB: number; readonly vms: number };
  readonly provisioning?: ProvisioningView;
}

export interface SubnetView extends SubnetRecord {
  readonly project: string;
  readonly prefixLength: number;
  readonly addresses: { readonly usable: number; readonly used: number; readonly free: number };
}

export type VmView = VmRecord & { readonly project: string };

/** A record as the API shows it: with its project always said. */
export function withProject<T extends { readonly project?: string }>(record: T): T & { readonly project: string } {
  return { ...record, project: projectOf(record) };
}

/** A committed change and how far its flows got. */
export interface Mutation<T> {
  readonly value: T;
  readonly network: NetworkResult;
}

export const NOT_A_CHANGE: NetworkResult = { confirmed: [], pending: [] };

/** The node with what its VMs use (`vms`: any list; only the node's own count). */
export function nodeDetails(node: NodeRecord, vms: readonly VmRecord[], provisioning?: ProvisioningView): NodeDetails {
  const mine = vms.filter((v) => v.node === node.name);
  return {
    ...node,
    roles: [...node.roles],
    used: { cpus: sum(mine.map((v) => v.cpus)), memoryMiB: sum(mine.map((v) => v.memoryMiB)), vms: mine.length },
    ...(provisioning && {
      provisioning: {
        state: provisioning.state,
        at: provisioning.at,
        ...(provisioning.error !== undefined && { error: provisioning.error }),
        ...(provisioning.attempts !== undefined && { attempts: provisioning.attempts }),
        ...(provisioning.nextRetryAt !== undefined && { nextRetryAt: provisioning.nextRetryAt }),
      },
    }),
  };
}

export function subnetView(subnet: SubnetRecord, vmCount: number): SubnetView {
  const block = parseCidr(subnet.cidr);
  const usable = usableHosts(block);
  return { ...subnet, project: projectOf(subnet), prefixLength: block.prefix, addresses: { usable, used: vmCount, free: usable - vmCount } };
}

/** Up to five names, then how many more. */
export function summarise(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** What /metrics shows of the cloud's contents. */
export interface Inventory {
  readonly vmsByState: Readonly<Record<string, number>>;
  readonly nodesByRole: Readonly<Record<string, number>>;
  readonly subnets: readonly { readonly name: string; readonly free: number; readonly used: number }[];
  /** Floating IPs attached and not, and the pools' free addresses (absent: a service without them). */
  readonly floatingIps?: { readonly attached: number; readonly unattached: number; readonly free: number };
}
