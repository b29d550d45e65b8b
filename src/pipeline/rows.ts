// Row builders shared by several stages, and the constant match fields every node reuses.
import { OFPP, type Action, type FlowMod, type OxmField } from '../openflow/index.js';
import { GATEWAY_MAC } from '../topology/model.js';
import { ARP_OP, ETH_TYPE, FIELD_REFS, IP_PROTO, macBytes, MULTICAST_BIT, match, oxm, u16, u32, u8 } from './fields.js';
import { load, move, OUTPUT_IN_PORT, output, setField, flow } from './flow.js';
import { ETH_HEADER_LEN } from './mtu.js';
import { PRIORITY, TABLE } from './tables.js';

export const GATEWAY_MAC_BYTES = macBytes(GATEWAY_MAC);

export const F = {
  ethTypeArp: oxm('eth_type', u16(ETH_TYPE.ARP)),
  ethTypeIp: oxm('eth_type', u16(ETH_TYPE.IPV4)),
  ipProtoUdp: oxm('ip_proto', u8(IP_PROTO.UDP)),
  arpRequest: oxm('arp_op', u16(ARP_OP.REQUEST)),
  arpSpaZero: oxm('arp_spa', u32(0)),
  multicastDst: oxm('eth_dst', MULTICAST_BIT, MULTICAST_BIT),
  gatewayMacDst: oxm('eth_dst', GATEWAY_MAC_BYTES),
  dhcpClientSrc: oxm('udp_src', u16(68)),
  dhcpServerDst: oxm('udp_dst', u16(67)),
  dhcpServerSrc: oxm('udp_src', u16(67)),
  dhcpClientDst: oxm('udp_dst', u16(68)),
  inPortLocal: oxm('in_port', u32(OFPP.LOCAL)),
} as const;

const SET_ARP_REPLY = setField(oxm('arp_op', u16(ARP_OP.REPLY)));
const SET_ETH_SRC_GATEWAY = setField(oxm('eth_src', GATEWAY_MAC_BYTES));

const inPorts = new Map<number, OxmField>();
export function inPort(port: number): OxmField {
  let f = inPorts.get(port);
  if (!f) inPorts.set(port, (f = oxm('in_port', u32(port))));
  return f;
}

const tunIds = new WeakMap<Uint8Array, OxmField>();
/** tun_id=<VNI>, one object per subnet's VNI bytes. */
export function tunId(vniBytes: Uint8Array): OxmField {
  let f = tunIds.get(vniBytes);
  if (!f) tunIds.set(vniBytes, (f = oxm('tun_id', vniBytes)));
  return f;
}

const setTunIds = new WeakMap<Uint8Array, Action>();
/** set_field:<VNI>->tun_id, one object per subnet. */
export function setTunId(vniBytes: Uint8Array): Action {
  let a = setTunIds.get(vniBytes);
  if (!a) setTunIds.set(vniBytes, (a = setField(tunId(vniBytes))));
  return a;
}

const loadTunDst = new Map<number, Action>();

/** UDP from a DHCP client to a server (the match the seed writes `udp,tp_src=68,tp_dst=67`). */
export const DHCP_REQUEST_MATCH = [F.ethTypeIp, F.ipProtoUdp, F.dhcpClientSrc, F.dhcpServerDst] as const;

/** Send through vxlan-int to `ip` (a node's tunnel address). The caller has set tun_id (or matched it). */
export function tunnelTo(ip: number, vxlanInt: number): Action[] {
  let l = loadTunDst.get(ip);
  if (!l) loadTunDst.set(ip, (l = load(FIELD_REFS.tun_ipv4_dst, 32, ip)));
  return [l, output(vxlanInt)];
}

const checks = new Map<number, Action>();

/**
 * Into the tunnel with the path-MTU check: tun_ipv4_dst = `ip`, reg0[0] = the frame is longer than the overlay MTU
 * allows; the caller goes on to table 20 (TUNNEL_OUT), which outputs to vxlan-int only what fits.
 */
export function tunnelChecked(ip: number, overlayMtu: number): Action[] {
  let l = loadTunDst.get(ip);
  if (!l) loadTunDst.set(ip, (l = load(FIELD_REFS.tun_ipv4_dst, 32, ip)));
  const frameLen = overlayMtu + ETH_HEADER_LEN;
  let c = checks.get(frameLen);
  if (!c) checks.set(frameLen, (c = { type: 'nx_check_pkt_larger', pktLen: frameLen, ofs: TOO_BIG_BIT, dst: FIELD_REFS.reg0 }));
  return [l, c];
}

/** reg0 bit 0: set by check_pkt_larger in table 10, matched in table 20. */
export const TOO_BIG_BIT = 0;
export const tooBigMatch = oxm('reg0', u32(1 << TOO_BIG_BIT), u32(1 << TOO_BIG_BIT));

/**
 * ARP responder (table 50): turn a request for `ip` into the reply from `mac`, back out of the port it came in on.
 * `scope` says whose requests: reg2 = a routing domain (VM and gateway IPs), or in_port = LOCAL (transit addresses).
 * The seed's rewrite, in OF1.3: Nicira move where a field is copied, set_field where a constant is written.
 */
export function arpResponder(cookie: bigint, ipBytes: Uint8Array, mac: Uint8Array, scope: OxmField): FlowMod {
  return flow({
    table: TABLE.BROADCAST,
    priority: PRIORITY[TABLE.BROADCAST].ARP_RESPONDER,
    cookie,
    match: match(scope, F.ethTypeArp, F.arpRequest, oxm('arp_tpa', ipBytes)),
    actions: arpReplyActions(ipBytes, mac),
  });
}

/**
 * The same answer for a *unicast* ARP request to the gateway MAC (Linux re-confirms a stale neighbour with unicast
 * probes first): without it the probe would follow the VM's egress to its gateway, whose kernel answers from LOCAL
 * without a tun_id, and the answer is dropped, so the VM's route briefly fails every time its gateway entry ages.
 */
export function gatewayUnicastArpResponder(cookie: bigint, gatewayIpBytes: Uint8Array, domain: OxmField): FlowMod {
  return flow({
    table: TABLE.UNICAST,
    priority: PRIORITY[TABLE.UNICAST].GATEWAY_ARP,
    cookie,
    match: match(domain, F.ethTypeArp, F.arpRequest, F.gatewayMacDst, oxm('arp_tpa', gatewayIpBytes)),
    actions: arpReplyActions(gatewayIpBytes, GATEWAY_MAC_BYTES),
  });
}

function arpReplyActions(ipBytes: Uint8Array, mac: Uint8Array): Action[] {
  const macField = mac === GATEWAY_MAC_BYTES ? null : mac;
  return [
    move(FIELD_REFS.eth_src, FIELD_REFS.eth_dst, 48),
    macField ? setField(oxm('eth_src', macField)) : SET_ETH_SRC_GATEWAY,
    SET_ARP_REPLY,
    move(FIELD_REFS.arp_sha, FIELD_REFS.arp_tha, 48),
    setField(oxm('arp_sha', mac)),
    move(FIELD_REFS.arp_spa, FIELD_REFS.arp_tpa, 32),
    setField(oxm('arp_spa', ipBytes)),
    OUTPUT_IN_PORT,
  ];
}

const domainMatches = new WeakMap<Uint8Array, OxmField>();
/** reg2=<domain>: the packet is of this routing domain; one object per subnet's domain bytes. */
export function inDomain(domainBytes: Uint8Array): OxmField {
  let f = domainMatches.get(domainBytes);
  if (!f) domainMatches.set(domainBytes, (f = oxm('reg2', domainBytes)));
  return f;
}

const domainLoads = new Map<number, Action>();
/** reg2 = `domain` (table 0: the routing domain the packet belongs to from here on). */
export function loadDomain(domain: number): Action {
  let a = domainLoads.get(domain);
  if (!a) domainLoads.set(domain, (a = load(FIELD_REFS.reg2, 32, domain)));
  return a;
}

const vmPorts = new Map<number, Action>();
/** reg1 = `port`: the VM the security-group tables filter for (set in table 0 for a VM's frames, in 10 on delivery). */
export function loadVmPort(port: number): Action {
  let a = vmPorts.get(port);
  if (!a) vmPorts.set(port, (a = load(FIELD_REFS.reg1, 32, port)));
  return a;
}

/** resubmit(,30): into the ingress tables with in_port unchanged (NXAST_RESUBMIT_TABLE's 16-bit OFPP_IN_PORT). */
const RESUBMIT_INGRESS: Action = { type: 'nx_resubmit', inPort: OFPP.IN_PORT - 0xffff0000, table: TABLE.INGRESS_CT };

/**
 * A broadcast/multicast copy to each of `ports` (local VM ports): straight out, or, when the node filters its VMs'
 * ingress (security groups), through each receiver's ingress rules: reg1 = its port, then resubmit(,30), exactly
 * what unicast delivery does with goto. Table 30's ct(table=31) forks (the recirculated copy goes on in 31 while
 * this row's actions go on with the packet as it was), so each receiver gets its own conntrack pass in its own zone
 * and its own verdict; a receiver whose rules refuse the packet is skipped (its per-VM drop row counts it).
 */
export function deliverCopies(ports: readonly number[], filtered: boolean): Action[] {
  return filtered ? ports.flatMap((p) => [loadVmPort(p), RESUBMIT_INGRESS]) : ports.map((p) => output(p));
}

/** An explicit drop row (no instructions). */
export function drop(table: number, priority: number, cookie: bigint, ...fields: OxmField[]): FlowMod {
  return flow({ table, priority, cookie, match: match(...fields) });
}
