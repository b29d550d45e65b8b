// Validation and allocation for new nodes, subnets and VMs: pure functions over a store reader, run inside the
// write transaction that inserts the record they return. Placement, addresses (IP, MAC, VNI, CIDR block) and the
// gateway binding are decided here; nothing here writes or talks to the network.
import { parseFlavor } from '../topology/flavors.js';
import { DEFAULT_PREFIX, MAX_SUBNET_PREFIX, cidrText, gatewayOf, nextFreeBlock, nextFreeIp, nextFreeMac, nextFreeVni, overlaps, usableHosts, within } from '../topology/ipam.js';
import { NODE_ROLES, hasRole, ipv4ToNumber, isOverlayEndpoint, numberToIpv4, parseCidr, tunnelIp, validateCloud, type Cidr } from '../topology/model.js';
import { vmInstanceName } from '../topology/names.js';
import { instanceOf, toCloud, type NodeRecord, type SubnetRecord, type VmRecord } from '../topology/records.js';
import { computeLoads, placeVm } from '../topology/scheduler.js';
import { DEFAULT_PROJECT, projectOf, quotaExceeded } from '../topology/projects.js';
import { DEFAULT_TRANSIT_RANGE, projectUsesTransit } from '../topology/north-south.js';
import type { StoreReader } from '../topology/store.js';
import type { OpContext } from './collaborators.js';
import { usageOf } from './projects.js';
import { securityGroupProblems } from '../topology/security-groups.js';
import { CapacityExhausted, Conflict, Invalid, QuotaExceeded, errorText } from './errors.js';
import { sshHost } from './node-removals.js';
import { vmGroups } from './security-groups.js';
import { AZ_NAME, IMAGE_REF, NODE_NAME, SSH_TARGET, SUBNET_NAME, VM_NAME, badIpv4, badName } from './validate.js';
import type { AddNodeInput, CreateSubnetInput, CreateVmInput } from './views.js';

/** The record of a node to add, or why it can't be. */
export function newNode(r: StoreReader, input: AddNodeInput, now: () => Date): NodeRecord {
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
    createdAt: now().toISOString(),
  };
  const mine = tunnelIp(record);
  for (const n of nodes) {
    if (n.underlayIp === input.underlayIp) throw new Conflict('underlayIp', `${input.underlayIp} is already node '${n.name}'s underlay address`);
    if (tunnelIp(n) === mine) throw new Conflict(input.serviceIp !== undefined ? 'serviceIp' : 'underlayIp', `${mine} is already node '${n.name}'s tunnel address`);
  }
  return record;
}

/**
 * The record of a subnet to create in `overlay`: its block (given or the next free one), gateway and VNI. Blocks may
 * not overlap within `project` (its routing domain); another project may hold the same one. VNIs are cloud-unique.
 */
export function newSubnet(r: StoreReader, input: CreateSubnetInput, overlay: Cidr, now: () => Date, project: string = DEFAULT_PROJECT): SubnetRecord {
  const bad = badName(input.name, SUBNET_NAME, 'subnet name');
  if (bad) throw new Invalid('name', bad);
  if (r.getSubnet({ project, name: input.name })) throw new Conflict('name', `a subnet named '${input.name}' already exists${inProjectText(project)}`);
  const existing = r.listSubnets();
  const block = chooseBlock(input, existing.filter((s) => projectOf(s) === project), overlay);
  const vni = nextFreeVni(new Set(existing.map((s) => s.vni)));
  if (vni === undefined) throw new CapacityExhausted('name', 'every VNI (1..16777215) is in use');
  return {
    name: input.name,
    cidr: cidrText(block),
    gatewayIp: numberToIpv4(gatewayOf(block)),
    vni,
    createdAt: now().toISOString(),
  };
}

function chooseBlock(input: CreateSubnetInput, existing: readonly SubnetRecord[], overlay: Cidr): Cidr {
  const overlayText = cidrText(overlay);
  const used = existing.map((s) => ({ subnet: s, cidr: parseCidr(s.cidr) }));
  if (input.cidr !== undefined) {
    if (input.prefixLength !== undefined) throw new Invalid('cidr', 'give either cidr or prefixLength, not both');
    let block: Cidr;
    try {
      block = parseCidr(input.cidr);
    } catch (e) {
      throw new Invalid('cidr', errorText(e));
    }
    if (!within(block, overlay)) throw new Invalid('cidr', `${input.cidr} is not inside the overlay range ${overlayText}`);
    if (block.prefix > MAX_SUBNET_PREFIX) throw new Invalid('cidr', `a /${block.prefix} has no room for VMs (at most /${MAX_SUBNET_PREFIX})`);
    const clash = used.find((u) => overlaps(u.cidr, block));
    if (clash) throw new Conflict('cidr', `${input.cidr} overlaps subnet '${clash.subnet.name}' (${clash.subnet.cidr})`);
    return block;
  }
  const prefix = input.prefixLength ?? DEFAULT_PREFIX;
  if (!Number.isInteger(prefix) || prefix < overlay.prefix || prefix > MAX_SUBNET_PREFIX) {
    throw new Invalid('prefixLength', `/${prefix} is out of range: the overlay ${overlayText} holds /${overlay.prefix} to /${MAX_SUBNET_PREFIX}`);
  }
  const block = nextFreeBlock(overlay, prefix, used.map((u) => u.cidr));
  if (!block) throw new CapacityExhausted('prefixLength', `the overlay range ${overlayText} has no free /${prefix} left`);
  return block;
}

/**
 * Validation, placement and address allocation for a new VM (state 'creating'). `port` names its br0 interface;
 * it is asked for last, once the VM is sure to be allocated.
 */
export function allocateVm(
  r: StoreReader,
  input: CreateVmInput,
  port: () => string,
  now: () => Date,
  ctx: OpContext = {},
  transitRange: Cidr = parseCidr(DEFAULT_TRANSIT_RANGE),
): VmRecord {
  const bad = badName(input.name, VM_NAME, 'VM name');
  if (bad) throw new Invalid('name', bad);
  if (!IMAGE_REF.test(input.image)) throw new Invalid('image', `'${input.image}' is not an image reference such as 'images:debian/12'`);
  const flavor = parseFlavor(input.flavor);
  if ('error' in flavor) throw new Invalid('flavor', flavor.error);
  if (input.az !== undefined) {
    const badAz = badName(input.az, AZ_NAME, 'AZ name');
    if (badAz) throw new Invalid('az', badAz);
  }
  // A VM belongs to the request's project, and so do its subnet and groups: names are looked up there only.
  const project = ctx.project ?? DEFAULT_PROJECT;
  const subnet = r.getSubnet({ project, name: input.subnet });
  if (!subnet) throw new Invalid('subnet', `no subnet named '${input.subnet}'${inProjectText(project)}`);
  const nodes = r.listNodes();
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
  if (r.getVm({ project, name: input.name })) throw new Conflict('name', `a VM named '${input.name}' already exists${inProjectText(project)}`);
  // Its name on the node must be free across the cloud (names.ts vmInstanceName): only a default-project VM named
  // with '--' before VM names lost it can hold another project's instance name.
  const instance = vmInstanceName(project, input.name);
  const holder = r.listVms().find((v) => instanceOf(v) === instance);
  if (holder) throw new Conflict('name', `VM '${holder.name}' of project '${projectOf(holder)}' already has the instance name '${instance}' on the nodes: choose another name`);

  const projectRecord = r.getProject(project);
  if (projectRecord) {
    const over = quotaExceeded(projectRecord, usageOf(r, project), { vms: 1, vcpus: flavor.cpus, memoryMiB: flavor.memoryMiB });
    if (over) throw new QuotaExceeded('flavor', over);
  }

  const vms = r.listVms();
  const placement = placeVm(computeLoads(nodes, vms), {
    flavor,
    ...(input.az !== undefined && { az: input.az }),
    ...(input.node !== undefined && { node: input.node }),
    ...(gateway?.az !== undefined && { preferAz: gateway.az }),
  });
  if (!placement.ok) throw new CapacityExhausted(input.node !== undefined ? 'node' : input.az !== undefined ? 'az' : 'flavor', placement.reason);
  gateway ??= chooseGateway(nodes, vms, placement.node.az);

  const block = parseCidr(subnet.cidr);
  // Addresses are per project (its routing domain); MACs and transit addresses are cloud-unique.
  const ip = nextFreeIp(block, new Set(vms.filter((v) => projectOf(v) === project).map((v) => v.ip)));
  if (ip === undefined) {
    throw new CapacityExhausted('subnet', `subnet '${subnet.name}' (${subnet.cidr}) is full: all ${usableHosts(block)} VM addresses are taken`);
  }
  const mac = nextFreeMac(ipv4ToNumber(ip), new Set(vms.map((v) => v.mac)));
  let transitIp: string | undefined;
  if (projectUsesTransit(project)) {
    transitIp = nextFreeTransitIp(transitRange, vms);
    if (transitIp === undefined) throw new CapacityExhausted('subnet', `the transit range ${cidrText(transitRange)} (network.transitRange) is full: no address left for a VM of a project`);
  }
  return {
    name: input.name,
    project,
    instance,
    subnet: subnet.name,
    node: placement.node.name,
    gateway: gateway.name,
    flavor: input.flavor,
    cpus: flavor.cpus,
    memoryMiB: flavor.memoryMiB,
    image: input.image,
    ip,
    ...(transitIp !== undefined && { transitIp }),
    mac,
    port: port(),
    state: 'creating',
    createdAt: now().toISOString(),
    securityGroups: vmGroups(r, input.securityGroups, project),
  };
}

/** The lowest transit address nobody holds: the range's first usable address is kept for nobody (never a VM's). */
export function nextFreeTransitIp(range: Cidr, vms: readonly { readonly transitIp?: string }[]): string | undefined {
  return nextFreeIp(range, new Set(vms.flatMap((v) => (v.transitIp === undefined ? [] : [v.transitIp]))));
}

/** A gateway in the AZ of the VM's node if there is one, the one with the fewest VMs bound, then by name. */
function chooseGateway(nodes: readonly NodeRecord[], vms: readonly VmRecord[], az: string | undefined): NodeRecord {
  const gateways = nodes.filter((n) => hasRole(n, 'gateway'));
  const local = gateways.filter((g) => g.az !== undefined && g.az === az);
  const pool = local.length > 0 ? local : gateways;
  const bound = (g: NodeRecord): number => vms.filter((v) => v.gateway === g.name).length;
  return [...pool].sort((a, b) => bound(a) - bound(b) || (a.name < b.name ? -1 : 1))[0]!;
}

/** ' in project P' for messages about a name of a project other than the default one. */
export function inProjectText(project: string): string {
  return project === DEFAULT_PROJECT ? '' : ` in project '${project}'`;
}

/** The last line of defence: a write that would leave an inconsistent model is rolled back. */
export function assertConsistent(r: StoreReader): void {
  const cloud = toCloud(r.records());
  const problems = [...validateCloud(cloud), ...(cloud.securityGroups ? securityGroupProblems(cloud.securityGroups, cloud.vms) : [])];
  if (problems.length > 0) throw new Invalid('request', `the change would make the cloud inconsistent: ${problems.join('; ')}`);
}
