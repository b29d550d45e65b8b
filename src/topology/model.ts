// The cloud model: plain, serialisable data. Nodes, subnets and VMs refer to each other by name. IPAM, the store
// and the API build on these types; the pipeline compiles them into flows. Nothing here does I/O.
import { matchesRule, STORED_NAME, SWITCH_PORT_PREFIX } from './names.js';

/** What a node does. A node may have several roles (e.g. compute + gateway, or switch + management). */
export type NodeRole = 'compute' | 'gateway' | 'switch' | 'dhcp' | 'management';

export const NODE_ROLES: readonly NodeRole[] = ['compute', 'gateway', 'switch', 'dhcp', 'management'];

export interface CloudNode {
  readonly name: string;
  readonly roles: readonly NodeRole[];
  /** The node's address on the underlay network (its VXLAN `local_ip`). */
  readonly underlayIp: string;
  /** Availability zone, e.g. 'AZ-1'. */
  readonly az?: string;
  /**
   * Gateways only: the service IP, the gateway's tunnel endpoint. In the seed it could be a public cloud host reached
   * through WireGuard, so it may differ from `underlayIp`. Defaults to `underlayIp`.
   */
  readonly serviceIp?: string;
}

export interface Subnet {
  readonly name: string;
  /** e.g. '192.168.20.0/27' */
  readonly cidr: string;
  /** The subnet's gateway IP (answered with GATEWAY_MAC on every node; held on gateway and DHCP nodes' br0). */
  readonly gatewayIp: string;
  /** VXLAN network identifier: the `tun_id` of every packet of this subnet (24 bits, > 0). */
  readonly vni: number;
  /**
   * Its project's routing domain (reg2 in the pipeline, 1..MAX_DOMAIN): routing, ARP answers and filtering only ever
   * join subnets of one domain, so two domains may use the same addresses. Absent = DEFAULT_DOMAIN.
   */
  readonly domain?: number;
}

/** The default project's routing domain (and that of a model that names none). */
export const DEFAULT_DOMAIN = 1;
/** Routing domain ids are 16 bits (store-assigned, never reused). */
export const MAX_DOMAIN = 0xffff;

export function domainOf(subnet: { readonly domain?: number }): number {
  return subnet.domain ?? DEFAULT_DOMAIN;
}

export interface Vm {
  readonly name: string;
  /** Subnet name. */
  readonly subnet: string;
  /** Name of the compute node it runs on. */
  readonly node: string;
  /** Name of the gateway node it is bound to (its egress). */
  readonly gateway: string;
  readonly ip: string;
  /** Lower-case 'aa:bb:cc:dd:ee:ff'. */
  readonly mac: string;
  /** Name of its interface on the node's br0 (the OpenFlow port number is learned from the switch). */
  readonly port: string;
  /** Its security groups (security-groups.ts); none given = `default`. */
  readonly securityGroups?: readonly string[];
  /**
   * VMs of a project other than the default one: a cloud-unique address from `network.transitRange` that stands for
   * the VM on its gateway (north-south.ts), where two projects' equal addresses would otherwise meet.
   */
  readonly transitIp?: string;
}

export type SgDirection = 'ingress' | 'egress';
export type SgProtocol = 'tcp' | 'udp' | 'icmp' | 'any';

/** An allow rule of a security group (security-groups.ts has the semantics and checks). */
export interface SecurityRule {
  /** Unique among all rules of the cloud, 1..MAX_RULE_ID (store-assigned): names the rule in cookies and the API. */
  readonly id: number;
  readonly direction: SgDirection;
  readonly protocol: SgProtocol;
  /** tcp/udp only: the destination port range (both set, min <= max); absent = every port. */
  readonly portMin?: number;
  readonly portMax?: number;
  /** icmp only: the ICMP type (0-255) and, with a type, the code (0-255); absent = every type / every code. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Exactly one remote: an IPv4 CIDR (the peer's address) or another group (its members' addresses). */
  readonly remoteCidr?: string;
  readonly remoteGroup?: string;
}

export interface SecurityGroup {
  /** 1..MAX_GROUP_ID (store-assigned): names the group in cookies. */
  readonly id: number;
  readonly name: string;
  readonly rules: readonly SecurityRule[];
}

export interface Cloud {
  readonly nodes: readonly CloudNode[];
  readonly subnets: readonly Subnet[];
  readonly vms: readonly Vm[];
  /**
   * Security groups (security-groups.ts). The controller always has them (the store holds at least `default`);
   * a model without them (the pipeline's fixtures) compiles without port security and filtering.
   */
  readonly securityGroups?: readonly SecurityGroup[];
}

/** The one MAC every node answers ARP for every subnet gateway IP with (seed). Gateway and DHCP nodes give br0 this MAC. */
export const GATEWAY_MAC = '12:00:00:ff:ff:ff';

/** The overlay bridge on every node. */
export const BRIDGE = 'br0';
/** Unicast VXLAN port (`remote_ip=flow, key=flow, local_ip=<tunnel ip>`) on compute, gateway and DHCP nodes. */
export const PORT_VXLAN_INT = 'vxlan-int';
/** VXLAN port to the switch node (`remote_ip=<switch ip>, key=flow`) on nodes that take part in broadcast. */
export const PORT_VXLAN_SW = 'vxlan-sw';

/** Name of the switch node's VXLAN port to a host (`remote_ip=<host tunnel ip>, key=flow`). */
export function switchPortName(hostName: string): string {
  return `${SWITCH_PORT_PREFIX}${hostName}`;
}

/** The VNI of BFD tunnel ports: no subnet has it (their VNIs are 1..16777215), so no VM frame ever lands on one. */
export const BFD_TUNNEL_KEY = 0;

/**
 * A node's BFD tunnel port to a peer (`remote_ip=<peer tunnel ip>, key=0, bfd:enable=true`; compute nodes have one
 * per gateway, gateways one per compute node): `bfd-` and the peer's tunnel IP in 8 hex digits (12 characters).
 */
export function bfdPortName(peerTunnelIp: string): string {
  return `bfd-${ipv4ToNumber(peerTunnelIp).toString(16).padStart(8, '0')}`;
}

/**
 * The tunnel IPs a node runs BFD with, sorted: a compute node with every gateway (the paths its VMs' egress takes), a
 * gateway with every compute node (the other end of those sessions). Gateway failover reads the compute side.
 */
export function bfdPeersOf(node: CloudNode, nodes: readonly CloudNode[]): string[] {
  const peers = new Set<string>();
  for (const n of nodes) {
    if (n.name === node.name) continue;
    if ((hasRole(node, 'compute') && hasRole(n, 'gateway')) || (hasRole(node, 'gateway') && hasRole(n, 'compute'))) peers.add(tunnelIp(n));
  }
  peers.delete(tunnelIp(node));
  return [...peers].sort();
}

export function hasRole(node: CloudNode, role: NodeRole): boolean {
  return node.roles.includes(role);
}

/** Compute, gateway and DHCP nodes terminate the overlay: they have vxlan-int and know every VM. */
export function isOverlayEndpoint(node: CloudNode): boolean {
  return hasRole(node, 'compute') || hasRole(node, 'gateway') || hasRole(node, 'dhcp');
}

/**
 * Nodes with a vxlan-sw port (and a port on the switch node): compute nodes (their VMs broadcast and receive
 * broadcast) and the DHCP node (its broadcast DHCP replies go out through the switch). Gateways don't need one.
 */
export function isBroadcastMember(node: CloudNode): boolean {
  return hasRole(node, 'compute') || hasRole(node, 'dhcp');
}

/** The address other nodes send VXLAN to: a gateway's service IP, else the underlay IP. */
export function tunnelIp(node: CloudNode): string {
  return (hasRole(node, 'gateway') && node.serviceIp) || node.underlayIp;
}

// --- addresses -------------------------------------------------------------------------------------------------

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** '10.0.0.1' -> 0x0a000001; throws on anything else. */
export function ipv4ToNumber(ip: string): number {
  const m = IPV4.exec(ip);
  if (!m) throw new Error(`bad IPv4 address '${ip}'`);
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new Error(`bad IPv4 address '${ip}'`);
    n = n * 256 + octet;
  }
  return n;
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function isMac(mac: string): boolean {
  return MAC.test(mac);
}

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

export function parseCidr(cidr: string): Cidr {
  const [ip, len, ...rest] = cidr.split('/');
  const prefix = Number(len);
  if (ip === undefined || rest.length || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`bad CIDR '${cidr}'`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = ipv4ToNumber(ip);
  if ((network & mask) >>> 0 !== network) throw new Error(`CIDR '${cidr}' has host bits set`);
  return { network, prefix };
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
  return ((ip & mask) >>> 0) === cidr.network;
}

// --- validation ------------------------------------------------------------------------------------------------

/**
 * Everything wrong with a cloud, as human-readable problems (empty when it is consistent): unique names, IPs, MACs
 * and VNIs; references that resolve to nodes with the right role; addresses inside their subnet. The pipeline
 * refuses to compile a cloud with problems.
 */
export function validateCloud(cloud: Cloud): string[] {
  const steps = validateCloudSteps(cloud);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** VMs checked between two yields of validateCloudSteps. */
const VALIDATE_CHUNK = 500;

/** `validateCloud` yielding between bounded chunks of work (a caller with an event loop to keep drives it). */
export function* validateCloudSteps(cloud: Cloud): Generator<void, string[], void> {
  const problems: string[] = [];
  const unique = (what: string, values: readonly string[]): void => {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) problems.push(`duplicate ${what} '${v}'`);
      seen.add(v);
    }
  };
  const tryParse = <T>(what: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
      return undefined;
    }
  };

  const nodes = new Map(cloud.nodes.map((n) => [n.name, n]));
  const subnets = new Map(cloud.subnets.map((s) => [s.name, s]));
  unique('node name', cloud.nodes.map((n) => n.name));
  unique('node tunnel IP', cloud.nodes.map(tunnelIp));
  unique('subnet name', cloud.subnets.map((s) => s.name));
  unique('subnet VNI', cloud.subnets.map((s) => String(s.vni)));
  yield;
  unique('VM name', cloud.vms.map((v) => v.name));
  // An address is unique within its routing domain; a transit address across the cloud.
  unique('VM IP', cloud.vms.map((v) => vmAddressKey(v, subnets)));
  unique('VM transit IP', cloud.vms.flatMap((v) => (v.transitIp === undefined ? [] : [v.transitIp])));
  yield;
  unique('VM MAC', cloud.vms.map((v) => v.mac));
  unique('VM port on one node', cloud.vms.map((v) => `${v.node}/${v.port}`));
  yield;

  for (const n of cloud.nodes) {
    // Names an older version accepted stay consistent here; new nodes must pass NODE_NAME (checked on creation).
    if (!matchesRule(STORED_NAME, n.name)) problems.push(`node '${n.name}': bad name`);
    if (n.roles.length === 0) problems.push(`node '${n.name}': no role`);
    for (const r of n.roles) if (!NODE_ROLES.includes(r)) problems.push(`node '${n.name}': unknown role '${r}'`);
    tryParse(`node '${n.name}'`, () => ipv4ToNumber(n.underlayIp));
    if (n.serviceIp !== undefined) tryParse(`node '${n.name}'`, () => ipv4ToNumber(n.serviceIp!));
    // One br0 cannot be both the broadcast hub and an overlay endpoint: VXLAN from a host would arrive on the
    // switch's port for that host, never on vxlan-int (OVS picks the most specific tunnel port).
    if (hasRole(n, 'switch') && isOverlayEndpoint(n)) problems.push(`node '${n.name}': the switch role cannot share br0 with compute/gateway/dhcp`);
  }
  if (cloud.nodes.filter((n) => hasRole(n, 'switch')).length > 1) problems.push('more than one switch node');
  if (cloud.nodes.filter((n) => hasRole(n, 'dhcp')).length > 1) problems.push('more than one DHCP node');

  for (const s of cloud.subnets) {
    if (s.domain !== undefined && (!Number.isInteger(s.domain) || s.domain < 1 || s.domain > MAX_DOMAIN)) problems.push(`subnet '${s.name}': routing domain ${s.domain} out of range 1..${MAX_DOMAIN}`);
    if (!Number.isInteger(s.vni) || s.vni < 1 || s.vni > 0xffffff) problems.push(`subnet '${s.name}': VNI ${s.vni} out of range 1..16777215`);
    const cidr = tryParse(`subnet '${s.name}'`, () => parseCidr(s.cidr));
    const gw = tryParse(`subnet '${s.name}'`, () => ipv4ToNumber(s.gatewayIp));
    if (cidr && gw !== undefined && !cidrContains(cidr, gw)) problems.push(`subnet '${s.name}': gateway ${s.gatewayIp} not in ${s.cidr}`);
  }

  for (let i = 0; i < cloud.vms.length; i++) {
    if (i > 0 && i % VALIDATE_CHUNK === 0) yield;
    problems.push(...vmProblems(cloud.vms[i]!, nodes, subnets));
  }
  return problems;
}

/** A VM's address qualified by its routing domain ('1/192.168.20.5'): what must be unique among VMs. */
export function vmAddressKey(v: Vm, subnets: ReadonlyMap<string, Subnet>): string {
  const s = subnets.get(v.subnet);
  return `${s ? domainOf(s) : DEFAULT_DOMAIN}/${v.ip}`;
}

/** What is wrong with one VM against the nodes and subnets it refers to (not uniqueness among VMs). */
export function vmProblems(v: Vm, nodes: ReadonlyMap<string, CloudNode>, subnets: ReadonlyMap<string, Subnet>): string[] {
  const problems: string[] = [];
  const where = `VM '${v.name}'`;
  const subnet = subnets.get(v.subnet);
  const host = nodes.get(v.node);
  const gateway = nodes.get(v.gateway);
  if (!subnet) problems.push(`${where}: unknown subnet '${v.subnet}'`);
  if (!host) problems.push(`${where}: unknown node '${v.node}'`);
  else if (!hasRole(host, 'compute')) problems.push(`${where}: node '${v.node}' is not a compute node`);
  if (!gateway) problems.push(`${where}: unknown gateway '${v.gateway}'`);
  else if (!hasRole(gateway, 'gateway')) problems.push(`${where}: node '${v.gateway}' is not a gateway`);
  if (!isMac(v.mac)) problems.push(`${where}: bad MAC '${v.mac}' (lower-case aa:bb:cc:dd:ee:ff)`);
  else if (parseInt(v.mac.slice(0, 2), 16) & 1) problems.push(`${where}: MAC ${v.mac} is multicast`);
  if (v.mac === GATEWAY_MAC) problems.push(`${where}: MAC is the gateway MAC`);
  if (!v.port) problems.push(`${where}: no port name`);
  if (v.transitIp !== undefined) {
    try {
      ipv4ToNumber(v.transitIp);
    } catch (e) {
      problems.push(`${where}: transit IP: ${(e as Error).message}`);
    }
  }
  let ip: number | undefined;
  try {
    ip = ipv4ToNumber(v.ip);
  } catch (e) {
    problems.push(`${where}: ${(e as Error).message}`);
  }
  if (subnet && ip !== undefined) {
    try {
      const cidr = parseCidr(subnet.cidr);
      if (!cidrContains(cidr, ip)) problems.push(`${where}: IP ${v.ip} not in ${subnet.cidr}`);
    } catch {
      /* reported with the subnet */
    }
    if (v.ip === subnet.gatewayIp) problems.push(`${where}: IP is the gateway IP`);
  }
  return problems;
}
