// The one-line summary ovs-ofctl prints under a packet-in or packet-out (ofp_packet_to_string): the packet's headers
// as Open vSwitch's flow_extract reads them, printed as the match of exactly those fields (flow_format: the fields
// match_wc_init keeps for the packet's protocols, zero or not), then the L4 checksum. Header parsing follows
// lib/flow.c: a header cut short stops the parse there and leaves the fields after it zero.
import type { Match, OxmField } from '../types.js';
import { formatMatch } from './match-text.js';

const ETH = { IP: 0x0800, IPV6: 0x86dd, ARP: 0x0806, RARP: 0x8035, MPLS: 0x8847, MPLSM: 0x8848, VLAN: 0x8100, QINQ: 0x88a8 } as const;
const IPPROTO = { HOPOPTS: 0, ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, ROUTING: 43, FRAGMENT: 44, AH: 51, ICMPV6: 58, DSTOPTS: 60, SCTP: 132 } as const;
/** The eth_type of a frame whose 802.3 length field has no SNAP header behind it (FLOW_DL_TYPE_NONE). */
const DL_TYPE_NONE = 0x05ff;
const ETH_TYPE_MIN = 0x0600;
/** OVS parses this many VLAN headers (flow_vlan_limit) and MPLS labels. */
const MAX_VLANS = 2;
const MAX_MPLS = 3;
const FRAG_ANY = 1;
const FRAG_LATER = 2;

/** The packet's fields as flow_extract fills struct flow (only those a summary can show). */
interface Flow {
  dlDst: Uint8Array;
  dlSrc: Uint8Array;
  dlType: number;
  vlans: number[];
  mpls: number[];
  nwSrc: Uint8Array;
  nwDst: Uint8Array;
  ipv6Label: number;
  nwProto: number;
  nwTos: number;
  nwTtl: number;
  nwFrag: number;
  tpSrc: number;
  tpDst: number;
  tcpFlags: number;
  arpSha: Uint8Array;
  arpTha: Uint8Array;
  ndTarget: Uint8Array;
  /** Offset and length of the L4 header and payload, when the L3 header parsed. */
  l4?: { readonly at: number; readonly size: number };
}

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

function emptyFlow(v6: boolean): Flow {
  const addr = v6 ? 16 : 4;
  return {
    dlDst: new Uint8Array(6),
    dlSrc: new Uint8Array(6),
    dlType: 0,
    vlans: [],
    mpls: [],
    nwSrc: new Uint8Array(addr),
    nwDst: new Uint8Array(addr),
    ipv6Label: 0,
    nwProto: 0,
    nwTos: 0,
    nwTtl: 0,
    nwFrag: 0,
    tpSrc: 0,
    tpDst: 0,
    tcpFlags: 0,
    arpSha: new Uint8Array(6),
    arpTha: new Uint8Array(6),
    ndTarget: new Uint8Array(16),
  };
}

/** parse_ethertype: an Ethernet II type, or the SNAP type behind an 802.2 LLC/SNAP header, or DL_TYPE_NONE. */
function ethertype(p: Uint8Array, at: number): [number, number] {
  const t = u16(p, at);
  at += 2;
  if (t >= ETH_TYPE_MIN) return [t, at];
  if (p.length - at < 8) return [DL_TYPE_NONE, at];
  if (p[at] !== 0xaa || p[at + 1] !== 0xaa || p[at + 2] !== 0x03 || p[at + 3] !== 0 || p[at + 4] !== 0 || p[at + 5] !== 0) return [DL_TYPE_NONE, at];
  const snap = u16(p, at + 6);
  return [snap >= ETH_TYPE_MIN ? snap : DL_TYPE_NONE, at + 8];
}

/** flow_extract for an Ethernet frame, as far as the summary needs. */
function extract(p: Uint8Array): Flow {
  const f = emptyFlow(false);
  if (p.length < 14) return f;
  f.dlDst = p.subarray(0, 6);
  f.dlSrc = p.subarray(6, 12);
  let at = 12;
  while ((u16(p, at) === ETH.VLAN || u16(p, at) === ETH.QINQ) && f.vlans.length < MAX_VLANS && p.length - at >= 6) {
    f.vlans.push(u16(p, at + 2) | 0x1000);
    at += 4;
  }
  [f.dlType, at] = ethertype(p, at);
  if (f.dlType === ETH.MPLS || f.dlType === ETH.MPLSM) {
    while (f.mpls.length < MAX_MPLS && p.length - at >= 4) {
      const lse = u32(p, at);
      f.mpls.push(lse);
      at += 4;
      if (lse & 0x100) break;
    }
    return f;
  }
  if (f.dlType === ETH.IP) extractIpv4(p, at, f);
  else if (f.dlType === ETH.IPV6) extractIpv6(p, at, f);
  else if (f.dlType === ETH.ARP || f.dlType === ETH.RARP) extractArp(p, at, f);
  return f;
}

function extractIpv4(p: Uint8Array, at: number, f: Flow): void {
  const size = p.length - at;
  if (size < 20) return;
  const ihl = (p[at]! & 0x0f) * 4;
  const totLen = u16(p, at + 2);
  if (ihl < 20 || size < ihl || totLen > size || ihl > totLen) return;
  f.nwSrc = p.subarray(at + 12, at + 16);
  f.nwDst = p.subarray(at + 16, at + 20);
  const fragOff = u16(p, at + 6);
  if (fragOff & 0x3fff) f.nwFrag = FRAG_ANY | (fragOff & 0x1fff ? FRAG_LATER : 0);
  f.nwTos = p[at + 1]!;
  f.nwTtl = p[at + 8]!;
  f.nwProto = p[at + 9]!;
  extractL4(p, at + ihl, totLen - ihl, f);
}

function extractIpv6(p: Uint8Array, at: number, f: Flow): void {
  f.nwSrc = new Uint8Array(16);
  f.nwDst = new Uint8Array(16);
  const size = p.length - at;
  if (size < 40) return;
  const plen = u16(p, at + 4);
  if (plen > size - 40) return;
  f.nwSrc = p.subarray(at + 8, at + 24);
  f.nwDst = p.subarray(at + 24, at + 40);
  const tcFlow = u32(p, at);
  let proto = p[at + 6]!;
  let frag = 0;
  let pos = at + 40;
  const end = pos + plen;
  // parse_ipv6_ext_hdrs__: hop-by-hop, routing, destination options, AH and fragment headers, 8 bytes at least.
  for (;;) {
    if (proto !== IPPROTO.HOPOPTS && proto !== IPPROTO.ROUTING && proto !== IPPROTO.DSTOPTS && proto !== IPPROTO.AH && proto !== IPPROTO.FRAGMENT) break;
    if (end - pos < 8) return;
    if (proto === IPPROTO.FRAGMENT) {
      proto = p[pos]!;
      const offlg = u16(p, pos + 2);
      pos += 8;
      if (offlg !== 0) {
        frag = FRAG_ANY;
        if (offlg & 0xfff8) {
          frag |= FRAG_LATER;
          proto = IPPROTO.FRAGMENT;
          break;
        }
      }
      continue;
    }
    const len = proto === IPPROTO.AH ? (p[pos + 1]! + 2) * 4 : (p[pos + 1]! + 1) * 8;
    proto = p[pos]!;
    if (end - pos < len) return;
    pos += len;
  }
  f.ipv6Label = tcFlow & 0xfffff;
  f.nwTos = (tcFlow >>> 20) & 0xff;
  f.nwTtl = p[at + 7]!;
  f.nwProto = proto;
  f.nwFrag = frag;
  extractL4(p, pos, end - pos, f);
}

function extractL4(p: Uint8Array, at: number, size: number, f: Flow): void {
  f.l4 = { at, size };
  if (f.nwFrag & FRAG_LATER) return;
  const proto = f.nwProto;
  if (proto === IPPROTO.TCP) {
    if (size < 20) return;
    f.tcpFlags = u16(p, at + 12) & 0x0fff;
    [f.tpSrc, f.tpDst] = [u16(p, at), u16(p, at + 2)];
  } else if (proto === IPPROTO.UDP) {
    if (size >= 8) [f.tpSrc, f.tpDst] = [u16(p, at), u16(p, at + 2)];
  } else if (proto === IPPROTO.SCTP) {
    if (size >= 12) [f.tpSrc, f.tpDst] = [u16(p, at), u16(p, at + 2)];
  } else if (proto === IPPROTO.ICMP || proto === IPPROTO.IGMP) {
    if (size >= 8) [f.tpSrc, f.tpDst] = [p[at]!, p[at + 1]!];
  } else if (proto === IPPROTO.ICMPV6) {
    if (size < 8) return;
    [f.tpSrc, f.tpDst] = [p[at]!, p[at + 1]!];
    if (f.tpDst === 0 && (f.tpSrc === 135 || f.tpSrc === 136)) extractNd(p, at + 8, size - 8, f);
  }
}

/** parse_icmpv6: the neighbor discovery target and the first source / target link-layer address options. */
function extractNd(p: Uint8Array, at: number, size: number, f: Flow): void {
  if (size < 16) return;
  const target = p.subarray(at, at + 16);
  at += 16;
  size -= 16;
  let sll: Uint8Array | undefined;
  let tll: Uint8Array | undefined;
  while (size >= 8) {
    const type = p[at]!;
    const len = p[at + 1]! * 8;
    if (!len || len > size) break;
    if (len === 8 && (type === 1 || type === 2)) {
      const mac = p.subarray(at + 2, at + 8);
      const seen = type === 1 ? sll : tll;
      // The same option twice makes the packet invalid: no target and no addresses.
      if (seen && seen.some((b) => b !== 0)) return;
      if (type === 1) sll = mac;
      else tll = mac;
    }
    at += len;
    size -= len;
  }
  f.ndTarget = target;
  if (sll) f.arpSha = sll;
  if (tll) f.arpTha = tll;
}

function extractArp(p: Uint8Array, at: number, f: Flow): void {
  if (p.length - at < 28) return;
  if (u16(p, at) !== 1 || u16(p, at + 2) !== ETH.IP || p[at + 4] !== 6 || p[at + 5] !== 4) return;
  f.nwSrc = p.subarray(at + 14, at + 18);
  f.nwDst = p.subarray(at + 24, at + 28);
  const op = u16(p, at + 6);
  if (op <= 0xff) f.nwProto = op;
  f.arpSha = p.subarray(at + 8, at + 14);
  f.arpTha = p.subarray(at + 18, at + 24);
}

const be = (n: number, len: number): Uint8Array => {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--, n = Math.floor(n / 256)) out[i] = n & 0xff;
  return out;
};
const field = (name: string, value: Uint8Array): OxmField => ({ field: name, value }) as OxmField;

/** match_wc_init: the fields a packet of this flow's protocols is matched on, exactly. */
function flowMatch(f: Flow): Match {
  const m: OxmField[] = [field('vlan_tci', be(f.vlans[0] ?? 0, 2)), field('eth_src', f.dlSrc), field('eth_dst', f.dlDst), field('eth_type', be(f.dlType, 2))];
  if (f.dlType === ETH.ARP || f.dlType === ETH.RARP) {
    m.push(field('arp_spa', f.nwSrc), field('arp_tpa', f.nwDst), field('arp_op', be(f.nwProto, 2)), field('arp_sha', f.arpSha), field('arp_tha', f.arpTha));
    return m;
  }
  if (f.dlType === ETH.MPLS || f.dlType === ETH.MPLSM) {
    const lse = f.mpls[0] ?? 0;
    m.push(field('mpls_label', be(lse >>> 12, 4)), field('mpls_tc', be((lse >>> 9) & 7, 1)), field('mpls_ttl', be(lse & 0xff, 1)), field('mpls_bos', be((lse >>> 8) & 1, 1)));
    return m;
  }
  const v6 = f.dlType === ETH.IPV6;
  if (!v6 && f.dlType !== ETH.IP) return m;
  m.push(field(v6 ? 'ipv6_src' : 'ip_src', f.nwSrc), field(v6 ? 'ipv6_dst' : 'ip_dst', f.nwDst));
  if (v6) m.push(field('ipv6_label', be(f.ipv6Label, 4)));
  m.push(field('nw_proto', be(f.nwProto, 1)), field('nw_tos', be(f.nwTos, 1)), field('nw_ecn', be(f.nwTos & 3, 1)), field('nw_ttl', be(f.nwTtl, 1)), field('ip_frag', be(f.nwFrag, 1)));
  const p = f.nwProto;
  const isNd = v6 && p === IPPROTO.ICMPV6 && f.tpDst === 0 && (f.tpSrc === 135 || f.tpSrc === 136);
  if (isNd) m.push(field('nd_target', f.ndTarget), field('nd_sll', f.arpSha), field('nd_tll', f.arpTha));
  if (f.nwFrag & FRAG_LATER) return m;
  if (p === IPPROTO.TCP) m.push(field('tcp_src', be(f.tpSrc, 2)), field('tcp_dst', be(f.tpDst, 2)), field('tcp_flags', be(f.tcpFlags, 2)));
  else if (p === IPPROTO.UDP) m.push(field('udp_src', be(f.tpSrc, 2)), field('udp_dst', be(f.tpDst, 2)));
  else if (p === IPPROTO.SCTP) m.push(field('sctp_src', be(f.tpSrc, 2)), field('sctp_dst', be(f.tpDst, 2)));
  else if (p === IPPROTO.ICMP && !v6) m.push(field('icmp_type', be(f.tpSrc, 1)), field('icmp_code', be(f.tpDst, 1)));
  else if (p === IPPROTO.ICMPV6 && v6) m.push(field('icmpv6_type', be(f.tpSrc, 1)), field('icmpv6_code', be(f.tpDst, 1)));
  return m;
}

const genericL4 = (f: Flow): boolean =>
  f.nwProto === IPPROTO.IGMP || (f.nwProto === IPPROTO.ICMP && f.dlType === ETH.IPV6) || (f.nwProto === IPPROTO.ICMPV6 && f.dlType === ETH.IP);

/** The L4 checksum OVS appends (tcp_csum:..., udp_csum:..., ...), when the L4 header is all there. */
function checksum(p: Uint8Array, f: Flow): string {
  if (!f.l4) return '';
  const { at, size } = f.l4;
  const hexOf = (n: number): string => n.toString(16);
  switch (f.nwProto) {
    case IPPROTO.TCP:
      return size >= 20 ? ` tcp_csum:${hexOf(u16(p, at + 16))}` : '';
    case IPPROTO.UDP:
      return size >= 8 ? ` udp_csum:${hexOf(u16(p, at + 6))}` : '';
    case IPPROTO.SCTP:
      return size >= 12 ? ` sctp_csum:${hexOf(u32(p, at + 8))}` : '';
    case IPPROTO.ICMP:
      return size >= 8 ? ` icmp_csum:${hexOf(u16(p, at + 2))}` : '';
    case IPPROTO.ICMPV6:
      return size >= 4 ? ` icmp6_csum:${hexOf(u16(p, at + 2))}` : '';
  }
  return '';
}

/** The packet as ovs-ofctl summarises an Ethernet frame: its flow, then its L4 checksum. */
export function formatPacket(packet: Uint8Array): string {
  const f = extract(packet);
  return withInnerHeaders(formatMatch(flowMatch(f)), f) + checksum(packet, f);
}

/**
 * What OVS's flow has beyond one OXM match: the second VLAN header (matched once the first is present, printed
 * after it as dl_vlan1 / vlan_tci1), the MPLS label stack entries after the first up to the bottom of stack, and
 * IGMP's type and code.
 */
function withInnerHeaders(text: string, f: Flow): string {
  if (f.vlans.length > 0) {
    const tci = f.vlans[1] ?? 0;
    const vlan1 = tci & 0x1000 ? `dl_vlan1=${tci & 0xfff},dl_vlan_pcp1=${tci >>> 13}` : `vlan_tci1=0x${tci.toString(16).padStart(4, '0')}`;
    text = text.replace(',dl_src=', `,${vlan1},dl_src=`);
  }
  if (f.dlType === ETH.MPLS || f.dlType === ETH.MPLSM) {
    for (let i = 1; i < MAX_MPLS && !((f.mpls[i - 1] ?? 0) & 0x100); i++) text += `,mpls_lse${i}=${f.mpls[i] ?? 0}`;
  }
  // IGMP, and ICMP in the other IP version, have no OXM fields: OVS prints the generic L4 port slots.
  if ((f.dlType === ETH.IP || f.dlType === ETH.IPV6) && !(f.nwFrag & FRAG_LATER) && genericL4(f)) text += `,tp_src=${f.tpSrc},tp_dst=${f.tpDst}`;
  return text;
}
