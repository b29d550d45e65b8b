// What a node should look like: plain data, validated once before any command runs.
import { BRIDGE, GATEWAY_MAC, type NodeRole } from '../../topology/model.js';
import {
  assertControllerTarget,
  assertIfAddress,
  assertIfName,
  assertIpv4,
  assertMac,
  assertNodeName,
  assertNetwork,
  assertPath,
  assertVmRef,
  ValidationError,
} from '../validate.js';

/**
 * Userspace (netdev) tunnelling needs the node's underlay address on an OVS bridge of its own with the underlay NIC
 * as its port (lab.md): `br-phy` holds `address`, `device` is its port.
 */
export interface UnderlayBridgeSpec {
  /** Default 'br-phy'. */
  readonly bridge?: string;
  /** The underlay NIC, e.g. 'eth0'. */
  readonly device: string;
  /** The node's underlay address with prefix, e.g. '10.99.0.1/24' (its IP is normally `tunnelIp`). */
  readonly address: string;
}

export interface RouteSpec {
  /** Destination network, e.g. '192.168.20.0/22'. */
  readonly to: string;
  readonly via?: string;
  readonly dev?: string;
}

export interface GatewaySpec {
  /** Subnet gateway IPs with their prefix, held on br0, e.g. ['192.168.20.1/27']. */
  readonly addresses: readonly string[];
  /** The overlay range whose traffic leaving it is SNATed, e.g. '192.168.20.0/22'. */
  readonly overlayCidr: string;
  /**
   * The transit range (topology/north-south.ts): the addresses other projects' VMs reach this kernel by (OVS rewrites
   * them), SNATed and routed back into br0 like the overlay. Omitted while the cloud has no such VM.
   */
  readonly transitCidr?: string;
  /** SNAT --to-source this address (the seed's way); MASQUERADE when omitted. */
  readonly snatTo?: string;
  /** Only NAT traffic leaving through this interface (iptables -o). */
  readonly egressInterface?: string;
  /** Routes back into the overlay. Default: overlayCidr (and transitCidr) via br0. */
  readonly routes?: readonly RouteSpec[];
  /** Floating IPs (floating-ips.ts): omitted = none (and any we made are removed). */
  readonly floatingIps?: FloatingIpsSpec;
}

export interface FloatingIpsSpec {
  /** The outside link that holds them, e.g. 'eth1'. */
  readonly interface: string;
  /** The gateway's pool as ranges 'a-b' (a = b for one address): its /32s on the link are ours to remove. */
  readonly pool: readonly string[];
  /** Each attached floating IP and the address it is translated to (the VM's, as the gateway sees it). */
  readonly attached: readonly { readonly address: string; readonly target: string }[];
  /**
   * The source a VM without a floating IP of this gateway gets when it reaches one of them from inside the cloud
   * (hairpin): the gateway's outside address, as the outside world sees that VM. Omitted: no hairpin SNAT for them.
   */
  readonly hairpinSource?: string;
}

/** At most this many floating IPs attached on one gateway: a bound on one spec (and one iptables-restore). */
export const MAX_ATTACHED_FLOATING_IPS = 16_384;

export interface DhcpReservation {
  /** The VM's name: tags its options in dnsmasq. */
  readonly vm: string;
  readonly mac: string;
  readonly ip: string;
  /** Default route handed out (the subnet's gateway IP). */
  readonly router?: string;
  readonly dns?: readonly string[];
}

export interface DhcpSpec {
  /** The DHCP server's addresses on br0 (the seed puts the subnet gateway IPs there), one per subnet served. */
  readonly addresses: readonly string[];
  /** Where dnsmasq's config, reservations, leases and pid file live. Default `${stateDir}/dnsmasq`. */
  readonly dir?: string;
  readonly domain?: string;
  /** Lease time, dnsmasq syntax ('12h', 'infinite'). Default '12h'. */
  readonly leaseTime?: string;
  /** Initial reservations; later changes go through syncDhcpReservations. */
  readonly reservations?: readonly DhcpReservation[];
  /** The interface MTU announced to every client (DHCP option 26): the overlay MTU. */
  readonly mtu?: number;
}

export interface NodeBootstrapSpec {
  readonly name: string;
  readonly roles: readonly NodeRole[];
  /** The node's tunnel endpoint (VXLAN local_ip): its underlay IP, or a gateway's service IP. */
  readonly tunnelIp: string;
  /** OpenFlow controller target(s) for br0, e.g. 'tcp:10.0.0.1:6653' or 'unix:/path' (lab). */
  readonly controller: string | readonly string[];
  /**
   * Cap on OVS's reconnect backoff to the controller, ms (the Controller rows' `max_backoff`; OVS allows >= 1000).
   * Omitted: whatever the rows hold (OVS default 8000).
   */
  readonly controllerMaxBackoffMs?: number;
  /** Default 'br0'. */
  readonly bridge?: string;
  /** 'auto' (default): 'system' when the openvswitch kernel module is loaded, else 'netdev'. */
  readonly datapathType?: 'auto' | 'system' | 'netdev';
  /** br0's MAC. Default: the gateway MAC on gateway and DHCP nodes, OVS's choice elsewhere. */
  readonly bridgeMac?: string;
  /**
   * br0's OpenFlow datapath id (16 hex digits), which tells the controller which node a switch is. The controller
   * derives it from the node name (`dpidTextForNode` in src/daemon/node-pipelines.ts). Omitted: OVS's choice.
   */
  readonly datapathId?: string;
  /** Userspace tunnelling layout (br-phy); omit on nodes whose underlay address is on a NIC. */
  readonly underlay?: UnderlayBridgeSpec;
  /** Compute and DHCP nodes: the switch node's tunnel IP (the `vxlan-sw` port). */
  readonly switchIp?: string;
  /** Switch node: every broadcast member (compute and DHCP nodes); one VXLAN port each. */
  readonly switchPeers?: readonly { readonly name: string; readonly ip: string }[];
  readonly gateway?: GatewaySpec;
  /**
   * BFD tunnel ports (gateway failover): one per peer tunnel IP (`bfdPortName`: remote_ip=<peer>, key=0,
   * bfd:enable=true, min_rx = min_tx = intervalMs). Omitted: none (and any we made are removed).
   */
  readonly bfd?: { readonly peers: readonly string[]; readonly intervalMs: number };
  readonly dhcp?: DhcpSpec;
  /**
   * The overlay (VM) MTU: on gateway and DHCP nodes br0's own MTU (OVS `mtu_request`), so the node's kernel never
   * sends a VM a frame too big for the tunnel and fragments or answers "fragmentation needed" toward the outside.
   */
  readonly overlayMtu?: number;
  /** Bookkeeping on the node (what to restore on removal). Default '/var/lib/minicloud'. */
  readonly stateDir?: string;
  /** The node's OpenFlow TLS key, certificate and CA (for `ssl:` controller targets): installed with set-ssl. */
  readonly ssl?: SslSpec;
}

/** PEM texts (not paths: the controller reads them and the executor writes them on the node). */
export interface SslSpec {
  readonly privateKey: string;
  readonly certificate: string;
  /** The CA the controller's certificate chains to (ovs-pki: `controllerca/cacert.pem`). */
  readonly caCertificate: string;
}

/** The largest PEM text accepted for one file (a certificate chain of a few RSA-4096 certificates fits). */
const MAX_PEM = 64 * 1024;

/** Checks the PEM texts' shape (a key is a private key, a certificate a certificate) and size; never echoes them. */
export function validateSsl(ssl: SslSpec): void {
  const pem = (field: string, text: unknown, label: string, what: string): void => {
    const ok = typeof text === 'string' && text.length <= MAX_PEM && new RegExp(`^-----BEGIN ${label}-----\\n[\\s\\S]*-----END ${label}-----$`).test(text.trim());
    if (!ok) throw new ValidationError(field, typeof text === 'string' ? `(${text.length} characters)` : typeof text, `${what} in PEM, at most ${MAX_PEM} characters`);
  };
  pem('ssl.privateKey', ssl.privateKey, '(?:RSA |EC |ENCRYPTED )?PRIVATE KEY', 'a private key');
  pem('ssl.certificate', ssl.certificate, 'CERTIFICATE', 'a certificate');
  pem('ssl.caCertificate', ssl.caCertificate, 'CERTIFICATE', 'a certificate');
}

export const DEFAULT_BRIDGE = BRIDGE;
export const DEFAULT_UNDERLAY_BRIDGE = 'br-phy';
export const DEFAULT_STATE_DIR = '/var/lib/minicloud';

export function hasRole(spec: NodeBootstrapSpec, role: NodeRole): boolean {
  return spec.roles.includes(role);
}

export function bridgeOf(spec: NodeBootstrapSpec): string {
  return spec.bridge ?? DEFAULT_BRIDGE;
}

export function stateDirOf(spec: NodeBootstrapSpec): string {
  return spec.stateDir ?? DEFAULT_STATE_DIR;
}

export function controllersOf(spec: NodeBootstrapSpec): string[] {
  return typeof spec.controller === 'string' ? [spec.controller] : [...spec.controller];
}

export function bridgeMacOf(spec: NodeBootstrapSpec): string | undefined {
  if (spec.bridgeMac) return spec.bridgeMac.toLowerCase();
  return hasRole(spec, 'gateway') || hasRole(spec, 'dhcp') ? GATEWAY_MAC : undefined;
}

/** Throws ValidationError on the first bad field; checks role requirements too. */
export function validateNodeSpec(spec: NodeBootstrapSpec): void {
  assertNodeName('node name', spec.name);
  const roles = ['compute', 'gateway', 'switch', 'dhcp', 'management'];
  if (!Array.isArray(spec.roles) || spec.roles.some((r) => !roles.includes(r))) throw new ValidationError('roles', spec.roles, `each one of ${roles.join(', ')}`);
  assertIpv4('tunnelIp', spec.tunnelIp);
  const controllers = controllersOf(spec);
  if (controllers.length === 0) throw new ValidationError('controller', spec.controller, 'at least one target');
  controllers.forEach((c) => assertControllerTarget('controller', c));
  const backoff = spec.controllerMaxBackoffMs;
  if (backoff !== undefined && !(Number.isInteger(backoff) && backoff >= 1000 && backoff <= 3_600_000)) {
    throw new ValidationError('controllerMaxBackoffMs', backoff, 'an integer from 1000 to 3600000 (ms)');
  }
  assertIfName('bridge', bridgeOf(spec));
  if (spec.datapathType && !['auto', 'system', 'netdev'].includes(spec.datapathType)) throw new ValidationError('datapathType', spec.datapathType, 'auto, system or netdev');
  if (spec.bridgeMac !== undefined) assertMac('bridgeMac', spec.bridgeMac);
  if (spec.datapathId !== undefined && !/^[0-9a-f]{16}$/.test(spec.datapathId)) throw new ValidationError('datapathId', spec.datapathId, '16 lower-case hex digits');
  assertPath('stateDir', stateDirOf(spec));
  if (spec.ssl !== undefined) validateSsl(spec.ssl);
  if (spec.underlay) {
    assertIfName('underlay.bridge', spec.underlay.bridge ?? DEFAULT_UNDERLAY_BRIDGE);
    assertIfName('underlay.device', spec.underlay.device);
    assertIfAddress('underlay.address', spec.underlay.address);
  }
  // No switch IP on a compute node is a cloud without a switch node (head-end broadcast): no vxlan-sw port.
  if ((hasRole(spec, 'compute') || hasRole(spec, 'dhcp')) && spec.switchIp !== undefined) assertIpv4('switchIp', spec.switchIp);
  if (hasRole(spec, 'switch')) {
    if (!Array.isArray(spec.switchPeers)) throw new ValidationError('switchPeers', spec.switchPeers, 'a list (may be empty)');
    for (const p of spec.switchPeers) {
      assertNodeName('switchPeers.name', p.name);
      assertIpv4('switchPeers.ip', p.ip);
    }
  }
  if (spec.bfd !== undefined) {
    if (!Array.isArray(spec.bfd.peers)) throw new ValidationError('bfd.peers', spec.bfd.peers, 'a list of IPv4 addresses');
    spec.bfd.peers.forEach((ip) => assertIpv4('bfd.peers', ip));
    const ms = spec.bfd.intervalMs;
    if (!(Number.isInteger(ms) && ms >= 1 && ms <= 60_000)) throw new ValidationError('bfd.intervalMs', ms, 'an integer from 1 to 60000 (ms)');
  }
  if (hasRole(spec, 'gateway')) {
    const g = spec.gateway;
    if (!g) throw new ValidationError('gateway', g, 'required for the gateway role');
    g.addresses.forEach((a) => assertIfAddress('gateway.addresses', a));
    assertNetwork('gateway.overlayCidr', g.overlayCidr);
    if (g.transitCidr !== undefined) assertNetwork('gateway.transitCidr', g.transitCidr);
    if (g.snatTo !== undefined) assertIpv4('gateway.snatTo', g.snatTo);
    if (g.egressInterface !== undefined) assertIfName('gateway.egressInterface', g.egressInterface);
    if (g.floatingIps !== undefined) validateFloatingIps(g.floatingIps);
    for (const r of g.routes ?? []) {
      assertNetwork('gateway.routes.to', r.to);
      if (r.via !== undefined) assertIpv4('gateway.routes.via', r.via);
      if (r.dev !== undefined) assertIfName('gateway.routes.dev', r.dev);
      if (r.via === undefined && r.dev === undefined) throw new ValidationError('gateway.routes', r, 'needs via or dev');
    }
  }
  if (hasRole(spec, 'dhcp')) {
    const d = spec.dhcp;
    if (!d) throw new ValidationError('dhcp', d, 'required for the dhcp role');
    if (d.addresses.length === 0) throw new ValidationError('dhcp.addresses', d.addresses, 'at least one server address');
    d.addresses.forEach((a) => assertIfAddress('dhcp.addresses', a));
    if (d.dir !== undefined) assertPath('dhcp.dir', d.dir);
    if (d.domain !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,62})$/i.test(d.domain)) throw new ValidationError('dhcp.domain', d.domain, 'a domain name');
    if (d.leaseTime !== undefined && !/^(infinite|\d{1,7}[smhd]?)$/.test(d.leaseTime)) throw new ValidationError('dhcp.leaseTime', d.leaseTime, "like '12h' or 'infinite'");
    (d.reservations ?? []).forEach(validateReservation);
  }
}

function validateFloatingIps(f: FloatingIpsSpec): void {
  assertIfName('gateway.floatingIps.interface', f.interface);
  if (!Array.isArray(f.pool) || f.pool.length > 256) throw new ValidationError('gateway.floatingIps.pool', f.pool, 'a list of at most 256 ranges');
  for (const r of f.pool) {
    const [a, b, ...rest] = typeof r === 'string' ? r.split('-') : [];
    if (rest.length > 0) throw new ValidationError('gateway.floatingIps.pool', r, "a range 'a-b' of IPv4 addresses");
    assertIpv4('gateway.floatingIps.pool', a);
    assertIpv4('gateway.floatingIps.pool', b ?? a);
  }
  if (!Array.isArray(f.attached) || f.attached.length > MAX_ATTACHED_FLOATING_IPS) throw new ValidationError('gateway.floatingIps.attached', f.attached.length, `at most ${MAX_ATTACHED_FLOATING_IPS}`);
  if (f.hairpinSource !== undefined) assertIpv4('gateway.floatingIps.hairpinSource', f.hairpinSource);
  const seen = new Set<string>();
  for (const a of f.attached) {
    assertIpv4('gateway.floatingIps.attached.address', a.address);
    assertIpv4('gateway.floatingIps.attached.target', a.target);
    if (seen.has(a.address)) throw new ValidationError('gateway.floatingIps.attached.address', a.address, 'each address once');
    seen.add(a.address);
  }
}

export function validateReservation(r: DhcpReservation): void {
  assertVmRef('reservation.vm', r.vm);
  assertMac('reservation.mac', r.mac);
  assertIpv4('reservation.ip', r.ip);
  if (r.router !== undefined) assertIpv4('reservation.router', r.router);
  (r.dns ?? []).forEach((d) => assertIpv4('reservation.dns', d));
}
