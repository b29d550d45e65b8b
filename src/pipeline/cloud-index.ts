// The cloud model indexed for compiling: lookups by name, VMs per node / subnet, and every address already in the
// byte form flows carry. The byte arrays are built once per VM/subnet/node and shared by every flow that uses
// them (on every node), which is most of what keeps a 10,000-VM cloud small in memory.
import {
  domainOf,
  hasRole,
  ipv4ToNumber,
  tunnelIp,
  validateCloudSteps,
  vmProblems,
  type Cloud,
  type CloudNode,
  type Subnet,
  type Vm,
} from '../topology/model.js';
import { securityGroupProblems } from '../topology/security-groups.js';
import { macBytes, u32, u64 } from './fields.js';
import { OverlayMap } from './overlay-map.js';
import { indexSecurityGroups, type SecurityIndex } from './security-index.js';
import { runSteps, STEP_ITEMS, type Steps } from './steps.js';

export interface NodeInfo {
  readonly node: CloudNode;
  readonly tunnelIp: number;
  readonly tunnelIpText: string;
}

export interface SubnetInfo {
  readonly subnet: Subnet;
  readonly vni: number;
  /** 8 bytes: tun_id match / set_field value. */
  readonly vniBytes: Uint8Array;
  readonly gatewayIp: number;
  readonly gatewayIpBytes: Uint8Array;
  /** Its routing domain (reg2) and the 4 bytes reg2 is matched / loaded with. */
  readonly domain: number;
  readonly domainBytes: Uint8Array;
}

export interface VmInfo {
  readonly vm: Vm;
  readonly mac: Uint8Array;
  readonly ip: number;
  readonly ipBytes: Uint8Array;
  readonly subnet: SubnetInfo;
  readonly host: NodeInfo;
  readonly gateway: NodeInfo;
  /** Its transit address (north-south.ts), when it has one. */
  readonly transitIp?: number;
  readonly transitIpBytes?: Uint8Array;
  /** The id in its flows' cookies: its north-south address, unique across the cloud (its IP is only per domain). */
  readonly cookieId: number;
}

export interface CloudIndex {
  readonly cloud: Cloud;
  /** All in name order (the order flows are emitted in). */
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly subnets: ReadonlyMap<string, SubnetInfo>;
  readonly vms: ReadonlyMap<string, VmInfo>;
  readonly vmList: readonly VmInfo[];
  readonly subnetList: readonly SubnetInfo[];
  /** node name -> subnet name -> that node's VMs of that subnet, in name order. */
  readonly localVms: ReadonlyMap<string, ReadonlyMap<string, readonly VmInfo[]>>;
  /** subnet name -> names of the nodes hosting its VMs, in name order. */
  readonly subnetHosts: ReadonlyMap<string, readonly string[]>;
  /** VM name by IP, by MAC and by 'node/port': uniqueness checks in O(1) when one VM is added. */
  readonly vmByAddress: ReadonlyMap<string, string>;
  readonly switchNode?: NodeInfo;
  readonly dhcpNode?: NodeInfo;
  /** Security groups, when the cloud has them (the controller's always does): port security and filtering on. */
  readonly sg?: SecurityIndex<VmInfo>;
}

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid cloud model: ${problems.join('; ')}`);
  }
}

const byName = <T extends { readonly name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function nodeInfo(node: CloudNode): NodeInfo {
  const ip = tunnelIp(node);
  return { node, tunnelIp: ipv4ToNumber(ip), tunnelIpText: ip };
}

function subnetInfo(subnet: Subnet): SubnetInfo {
  const gatewayIp = ipv4ToNumber(subnet.gatewayIp);
  const domain = domainOf(subnet);
  return { subnet, vni: subnet.vni, vniBytes: u64(subnet.vni), gatewayIp, gatewayIpBytes: u32(gatewayIp), domain, domainBytes: u32(domain) };
}

function vmInfo(vm: Vm, nodes: ReadonlyMap<string, NodeInfo>, subnets: ReadonlyMap<string, SubnetInfo>): VmInfo {
  const ip = ipv4ToNumber(vm.ip);
  const transitIp = vm.transitIp === undefined ? undefined : ipv4ToNumber(vm.transitIp);
  return {
    vm,
    mac: macBytes(vm.mac),
    ip,
    ipBytes: u32(ip),
    subnet: subnets.get(vm.subnet)!,
    host: nodes.get(vm.node)!,
    gateway: nodes.get(vm.gateway)!,
    ...(transitIp !== undefined && { transitIp, transitIpBytes: u32(transitIp) }),
    cookieId: transitIp ?? ip,
  };
}

/** Validates and indexes a cloud. Throws ModelError listing every problem. */
export function indexCloud(cloud: Cloud): CloudIndex {
  return runSteps(indexCloudSteps(cloud));
}

/** `indexCloud` in bounded chunks (steps.ts): a 10k-VM cloud takes about 100 ms of one core to validate and index. */
export function* indexCloudSteps(cloud: Cloud): Steps<CloudIndex> {
  const problems = yield* validateCloudSteps(cloud);
  yield;
  if (cloud.securityGroups) problems.push(...securityGroupProblems(cloud.securityGroups, cloud.vms));
  if (problems.length) throw new ModelError(problems);
  yield;
  const nodes = new Map([...cloud.nodes].sort(byName).map((n) => [n.name, nodeInfo(n)] as const));
  const subnetList = [...cloud.subnets].sort(byName).map(subnetInfo);
  const subnets = new Map(subnetList.map((s) => [s.subnet.name, s] as const));
  const sorted = [...cloud.vms].sort(byName);
  const vmList = new Array<VmInfo>(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    if (i % (4 * STEP_ITEMS) === 0) yield;
    vmList[i] = vmInfo(sorted[i]!, nodes, subnets);
  }
  return yield* assembleSteps(cloud, nodes, subnets, subnetList, vmList);
}

function* assembleSteps(
  cloud: Cloud,
  nodes: ReadonlyMap<string, NodeInfo>,
  subnets: ReadonlyMap<string, SubnetInfo>,
  subnetList: readonly SubnetInfo[],
  vmList: readonly VmInfo[],
): Steps<CloudIndex> {
  yield;
  const vms = new Map(vmList.map((v) => [v.vm.name, v] as const));
  const localVms = new Map<string, Map<string, VmInfo[]>>();
  const hostSets = new Map<string, Set<string>>();
  yield;
  for (const v of vmList) {
    let perSubnet = localVms.get(v.vm.node);
    if (!perSubnet) localVms.set(v.vm.node, (perSubnet = new Map()));
    let list = perSubnet.get(v.vm.subnet);
    if (!list) perSubnet.set(v.vm.subnet, (list = []));
    list.push(v);
    let hosts = hostSets.get(v.vm.subnet);
    if (!hosts) hostSets.set(v.vm.subnet, (hosts = new Set()));
    hosts.add(v.vm.node);
  }
  const subnetHosts = new Map([...hostSets].map(([s, h]) => [s, [...h].sort()] as const));
  yield;
  const vmByAddress = new Map<string, string>();
  for (let i = 0; i < vmList.length; i++) {
    if (i > 0 && i % (4 * STEP_ITEMS) === 0) yield;
    const v = vmList[i]!;
    for (const a of addresses(v.vm, v.subnet.domain)) vmByAddress.set(a, v.vm.name);
  }
  const all = [...nodes.values()];
  const switchNode = all.find((n) => hasRole(n.node, 'switch'));
  const dhcpNode = all.find((n) => hasRole(n.node, 'dhcp'));
  yield;
  const sg = cloud.securityGroups && indexSecurityGroups(cloud.securityGroups, vmList);
  return {
    cloud,
    nodes,
    subnets,
    vms,
    vmList,
    subnetList,
    localVms,
    subnetHosts,
    vmByAddress,
    ...(switchNode && { switchNode }),
    ...(dhcpNode && { dhcpNode }),
    ...(sg && { sg }),
  };
}

/**
 * The index after adding one VM, built in O(VMs of its node + subnet) plus a few shallow copies: the incremental
 * path for the most common change (a full `indexCloud` re-parses every address).
 */
export function indexWithVm(index: CloudIndex, vm: Vm): CloudIndex {
  if (index.vms.has(vm.name)) throw new ModelError([`duplicate VM name '${vm.name}'`]);
  // Validate only what one VM can break: its own fields and references, and uniqueness against the others.
  const problems = vmProblems(vm, nodesByName(index), subnetsByName(index));
  if (index.cloud.securityGroups) problems.push(...securityGroupProblems(index.cloud.securityGroups, [vm]));
  const domain = index.subnets.get(vm.subnet)?.domain;
  for (const a of addresses(vm, domain)) {
    const other = index.vmByAddress.get(a);
    if (other !== undefined) problems.push(`VM '${vm.name}' clashes with '${other}' (${a})`);
  }
  if (problems.length) throw new ModelError(problems);
  const info = vmInfo(vm, index.nodes, index.subnets);
  const cloud = { ...index.cloud, vms: [...index.cloud.vms, vm] };
  return patch(index, cloud, insertSorted(index.vmList, info), vm, info, (list) => insertSorted(list, info));
}

/** The index after removing one VM (see indexWithVm). */
export function indexWithoutVm(index: CloudIndex, name: string): CloudIndex {
  const info = index.vms.get(name);
  if (!info) return index;
  const cloud = { ...index.cloud, vms: index.cloud.vms.filter((v) => v.name !== name) };
  const vmList = index.vmList.filter((v) => v !== info);
  return patch(index, cloud, vmList, info.vm, undefined, (list) => list.filter((v) => v !== info));
}

const nodeMaps = new WeakMap<CloudIndex['nodes'], ReadonlyMap<string, CloudNode>>();
const nodesByName = (index: CloudIndex): ReadonlyMap<string, CloudNode> => {
  let m = nodeMaps.get(index.nodes);
  if (!m) nodeMaps.set(index.nodes, (m = new Map([...index.nodes].map(([k, v]) => [k, v.node] as const))));
  return m;
};
const subnetMaps = new WeakMap<CloudIndex['subnets'], ReadonlyMap<string, Subnet>>();
const subnetsByName = (index: CloudIndex): ReadonlyMap<string, Subnet> => {
  let m = subnetMaps.get(index.subnets);
  if (!m) subnetMaps.set(index.subnets, (m = new Map([...index.subnets].map(([k, v]) => [k, v.subnet] as const))));
  return m;
};

function patch(
  index: CloudIndex,
  cloud: Cloud,
  vmList: readonly VmInfo[],
  vm: Vm,
  added: VmInfo | undefined,
  edit: (list: readonly VmInfo[]) => readonly VmInfo[],
): CloudIndex {
  const vms = OverlayMap.with(index.vms, vm.name, added);
  const perSubnet = new Map(index.localVms.get(vm.node) ?? []);
  const list = edit(perSubnet.get(vm.subnet) ?? []);
  if (list.length) perSubnet.set(vm.subnet, list);
  else perSubnet.delete(vm.subnet);
  const localVms = OverlayMap.with(index.localVms, vm.node, perSubnet.size ? perSubnet : undefined);
  const hosts = [...index.nodes.keys()].filter((n) => localVms.get(n)?.has(vm.subnet));
  const subnetHosts = OverlayMap.with(index.subnetHosts, vm.subnet, hosts.length ? hosts : undefined);
  let vmByAddress = index.vmByAddress;
  for (const a of addresses(vm, index.subnets.get(vm.subnet)?.domain)) vmByAddress = OverlayMap.with(vmByAddress, a, added ? vm.name : undefined);
  // Group memberships follow the VM list (a remote-group rule allows its members' addresses).
  const sg = cloud.securityGroups && indexSecurityGroups(cloud.securityGroups, vmList);
  return { ...index, cloud, vms, vmList, localVms, subnetHosts, vmByAddress, ...(sg && { sg }) };
}

/** The keys a VM must not share with another: its IP in its routing domain, its MAC, its port on its node, its transit IP. */
function addresses(vm: Vm, domain: number | undefined): string[] {
  const keys = [`ip ${domain ?? 0}/${vm.ip}`, `mac ${vm.mac}`, `port ${vm.node}/${vm.port}`];
  if (vm.transitIp !== undefined) keys.push(`transit ${vm.transitIp}`);
  return keys;
}

function insertSorted(list: readonly VmInfo[], info: VmInfo): VmInfo[] {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.vm.name < info.vm.name) lo = mid + 1;
    else hi = mid;
  }
  const out = list.slice();
  out.splice(lo, 0, info);
  return out;
}
