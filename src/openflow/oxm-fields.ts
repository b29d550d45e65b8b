// The match field registry, declared as data: one entry per code point (OXM or NXM header), named as ovs-fields(7)
// names the field. A field with both an OXM and an NXM code point (eth_dst / NXM_OF_ETH_DST) has two entries: the
// OXM one under the field's name, the NXM one under its NXM name, so decoding then encoding is lossless.
import { NX_VENDOR_ID, ONF_EXPERIMENTER_ID } from './consts.js';

/** ofp_oxm_class */
export const OFPXMC = { NXM_0: 0x0000, NXM_1: 0x0001, ERICOXM: 0x1000, OPENFLOW_BASIC: 0x8000, PACKET_REGS: 0x8001, EXPERIMENTER: 0xffff } as const;

/** Experimenter ids of the experimenter-class (0xffff) fields Open vSwitch knows. */
export const OXM_EXPERIMENTER = { ONF: ONF_EXPERIMENTER_ID, NX: NX_VENDOR_ID, NSH: 0x005ad650 } as const;

/** oxm_ofb_match_fields (OpenFlow 1.3.5, plus 1.5's PACKET_TYPE that OVS uses). */
export const OFPXMT = {
  OFB_IN_PORT: 0,
  OFB_IN_PHY_PORT: 1,
  OFB_METADATA: 2,
  OFB_ETH_DST: 3,
  OFB_ETH_SRC: 4,
  OFB_ETH_TYPE: 5,
  OFB_VLAN_VID: 6,
  OFB_VLAN_PCP: 7,
  OFB_IP_DSCP: 8,
  OFB_IP_ECN: 9,
  OFB_IP_PROTO: 10,
  OFB_IPV4_SRC: 11,
  OFB_IPV4_DST: 12,
  OFB_TCP_SRC: 13,
  OFB_TCP_DST: 14,
  OFB_UDP_SRC: 15,
  OFB_UDP_DST: 16,
  OFB_SCTP_SRC: 17,
  OFB_SCTP_DST: 18,
  OFB_ICMPV4_TYPE: 19,
  OFB_ICMPV4_CODE: 20,
  OFB_ARP_OP: 21,
  OFB_ARP_SPA: 22,
  OFB_ARP_TPA: 23,
  OFB_ARP_SHA: 24,
  OFB_ARP_THA: 25,
  OFB_IPV6_SRC: 26,
  OFB_IPV6_DST: 27,
  OFB_IPV6_FLABEL: 28,
  OFB_ICMPV6_TYPE: 29,
  OFB_ICMPV6_CODE: 30,
  OFB_IPV6_ND_TARGET: 31,
  OFB_IPV6_ND_SLL: 32,
  OFB_IPV6_ND_TLL: 33,
  OFB_MPLS_LABEL: 34,
  OFB_MPLS_TC: 35,
  OFB_MPLS_BOS: 36,
  OFB_PBB_ISID: 37,
  OFB_TUNNEL_ID: 38,
  OFB_IPV6_EXTHDR: 39,
  OFB_PACKET_TYPE: 44,
} as const;

/** OFPVID_PRESENT: the bit of vlan_vid saying a VLAN tag is present. */
export const OFPVID_PRESENT = 0x1000;

/** How ovs-ofctl reads and prints a field's value (the "Format" row of ovs-fields(7)). */
export type FieldFormat = 'decimal' | 'hex' | 'mac' | 'ipv4' | 'ipv6' | 'port' | 'ct_state' | 'tcp_flags' | 'tun_flags' | 'frag' | 'packet_type';
export type FieldKind = 'uint' | 'mac' | 'ipv4' | 'ipv6';

/** What a match must also contain (earlier in the OXM list) before it may match a field. */
export interface Prereq {
  /** The ovs-fields(7) name of the prerequisite, e.g. 'IPv4', 'TCP', 'ND solicit'. */
  readonly name: string;
  /** eth_type must be one of these. */
  readonly ethTypes?: readonly number[];
  /** ip_proto must be this. */
  readonly ipProto?: number;
  /** icmpv6_type must be one of these. */
  readonly icmpv6Types?: readonly number[];
  /** vlan_vid must say a tag is present (OFPVID_PRESENT set and matched). */
  readonly vlan?: boolean;
  /** This other field (registry name) must be matched. */
  readonly field?: string;
}

export interface FieldInfo {
  /** Registry name: the ovs-fields(7) name for the primary code point, the NXM name for a secondary NXM one. */
  readonly name: string;
  /** The ovs-fields(7) name of the field this code point encodes (same for eth_dst and NXM_OF_ETH_DST). */
  readonly ovsName: string;
  readonly oxmClass: number;
  readonly oxmField: number;
  /** Only for class 0xffff. */
  readonly experimenter?: number;
  /** Value length in bytes (the mask, when present, is as long). */
  readonly length: number;
  /** Low bits of the value that may be nonzero. */
  readonly nBits: number;
  readonly maskable: boolean;
  readonly kind: FieldKind;
  readonly format: FieldFormat;
  readonly prereq?: Prereq;
  readonly nxmName?: string;
  readonly oxmName?: string;
  readonly aliases: readonly string[];
  /** The 32-bit header without the mask bit; the length byte counts the experimenter id, if any. */
  readonly header: number;
  /** The 32-bit header of the masked form. */
  readonly maskedHeader: number;
  /** Position in Open vSwitch's wire order (nx_put_raw), used to sort parsed matches as OVS sends them. */
  readonly rank: number;
}

// Prerequisites (ovs-fields(7) "Prerequisites", OpenFlow 1.3 table 12).
const ETH_IP = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const ETH_RARP = 0x8035;
const P_VLAN: Prereq = { name: 'VLAN VID', vlan: true };
const P_ARP: Prereq = { name: 'ARP', ethTypes: [ETH_ARP, ETH_RARP] };
const P_IPV4: Prereq = { name: 'IPv4', ethTypes: [ETH_IP] };
const P_IPV6: Prereq = { name: 'IPv6', ethTypes: [ETH_IPV6] };
const P_IP: Prereq = { name: 'IPv4/IPv6', ethTypes: [ETH_IP, ETH_IPV6] };
const P_MPLS: Prereq = { name: 'MPLS', ethTypes: [0x8847, 0x8848] };
const P_PBB: Prereq = { name: 'PBB', ethTypes: [0x88e7] };
const P_TCP: Prereq = { name: 'TCP', ethTypes: [ETH_IP, ETH_IPV6], ipProto: 6 };
const P_UDP: Prereq = { name: 'UDP', ethTypes: [ETH_IP, ETH_IPV6], ipProto: 17 };
const P_SCTP: Prereq = { name: 'SCTP', ethTypes: [ETH_IP, ETH_IPV6], ipProto: 132 };
const P_ICMPV4: Prereq = { name: 'ICMPv4', ethTypes: [ETH_IP], ipProto: 1 };
const P_ICMPV6: Prereq = { name: 'ICMPv6', ethTypes: [ETH_IPV6], ipProto: 58 };
const P_ND: Prereq = { name: 'ND', ethTypes: [ETH_IPV6], ipProto: 58, icmpv6Types: [135, 136] };
const P_ND_SOLICIT: Prereq = { name: 'ND solicit', ethTypes: [ETH_IPV6], ipProto: 58, icmpv6Types: [135] };
const P_ND_ADVERT: Prereq = { name: 'ND advert', ethTypes: [ETH_IPV6], ipProto: 58, icmpv6Types: [136] };
const P_IN_PORT: Prereq = { name: 'in_port', field: 'in_port' };

const KIND: Record<FieldFormat, FieldKind> = {
  decimal: 'uint',
  hex: 'uint',
  port: 'uint',
  ct_state: 'uint',
  tcp_flags: 'uint',
  tun_flags: 'uint',
  frag: 'uint',
  packet_type: 'uint',
  mac: 'mac',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
};

interface Def {
  /** Bytes of the value. */
  len: number;
  /** Meaningful low bits, when fewer than len * 8. */
  bits?: number;
  mask?: boolean;
  fmt: FieldFormat;
  prereq?: Prereq;
  aliases?: readonly string[];
  oxm?: string;
  /** Secondary NXM code point: [name, class, field, value bytes if not len]. */
  nxm?: readonly [string, number, number, number?];
  /** Only NXM name (the primary code point is itself NXM). */
  nxmName?: string;
  exp?: number;
}

const OF = OFPXMC.OPENFLOW_BASIC;
const NX0 = OFPXMC.NXM_0;
const NX1 = OFPXMC.NXM_1;
const EXP = OFPXMC.EXPERIMENTER;

// [name, class, field, definition], in Open vSwitch's OXM emission order (lib/nx-match.c nx_put_raw) so `rank`
// falls out of the position. Fields OVS does not implement sit where the OpenFlow spec would put them.
const DEFS: readonly (readonly [string, number, number, Def])[] = [
  ['packet_type', OF, 44, { len: 4, fmt: 'packet_type', oxm: 'OXM_OF_PACKET_TYPE' }],
  ['dp_hash', NX1, 35, { len: 4, mask: true, fmt: 'hex', nxmName: 'NXM_NX_DP_HASH' }],
  ['recirc_id', NX1, 36, { len: 4, fmt: 'decimal', nxmName: 'NXM_NX_RECIRC_ID' }],
  ['conj_id', NX1, 37, { len: 4, fmt: 'decimal', nxmName: 'NXM_NX_CONJ_ID' }],
  ['in_port', OF, 0, { len: 4, fmt: 'port', oxm: 'OXM_OF_IN_PORT', aliases: ['in_port_oxm'], nxm: ['NXM_OF_IN_PORT', NX0, 0, 2] }],
  ['in_phy_port', OF, 1, { len: 4, fmt: 'port', oxm: 'OXM_OF_IN_PHY_PORT', prereq: P_IN_PORT }],
  ['actset_output', EXP, 43, { len: 4, fmt: 'port', oxm: 'ONFOXM_ET_ACTSET_OUTPUT', exp: OXM_EXPERIMENTER.ONF }],
  ['eth_src', OF, 4, { len: 6, mask: true, fmt: 'mac', aliases: ['dl_src'], oxm: 'OXM_OF_ETH_SRC', nxm: ['NXM_OF_ETH_SRC', NX0, 2] }],
  ['eth_dst', OF, 3, { len: 6, mask: true, fmt: 'mac', aliases: ['dl_dst'], oxm: 'OXM_OF_ETH_DST', nxm: ['NXM_OF_ETH_DST', NX0, 1] }],
  ['eth_type', OF, 5, { len: 2, fmt: 'hex', aliases: ['dl_type'], oxm: 'OXM_OF_ETH_TYPE', nxm: ['NXM_OF_ETH_TYPE', NX0, 3] }],
  ['vlan_tci', NX0, 4, { len: 2, mask: true, fmt: 'hex', nxmName: 'NXM_OF_VLAN_TCI' }],
  ['vlan_vid', OF, 6, { len: 2, bits: 13, mask: true, fmt: 'decimal', oxm: 'OXM_OF_VLAN_VID' }],
  ['vlan_pcp', OF, 7, { len: 1, bits: 3, fmt: 'decimal', prereq: P_VLAN, oxm: 'OXM_OF_VLAN_PCP' }],
  ['mpls_tc', OF, 35, { len: 1, bits: 3, fmt: 'decimal', prereq: P_MPLS, oxm: 'OXM_OF_MPLS_TC' }],
  ['mpls_bos', OF, 36, { len: 1, bits: 1, fmt: 'decimal', prereq: P_MPLS, oxm: 'OXM_OF_MPLS_BOS' }],
  ['mpls_ttl', NX1, 30, { len: 1, fmt: 'decimal', prereq: P_MPLS, nxmName: 'NXM_NX_MPLS_TTL' }],
  ['mpls_label', OF, 34, { len: 4, bits: 20, fmt: 'decimal', prereq: P_MPLS, oxm: 'OXM_OF_MPLS_LABEL' }],
  ['pbb_isid', OF, 37, { len: 3, mask: true, fmt: 'hex', prereq: P_PBB, oxm: 'OXM_OF_PBB_ISID' }],
  ['ip_src', OF, 11, { len: 4, mask: true, fmt: 'ipv4', prereq: P_IPV4, aliases: ['nw_src', 'ipv4_src'], oxm: 'OXM_OF_IPV4_SRC', nxm: ['NXM_OF_IP_SRC', NX0, 7] }],
  ['ip_dst', OF, 12, { len: 4, mask: true, fmt: 'ipv4', prereq: P_IPV4, aliases: ['nw_dst', 'ipv4_dst'], oxm: 'OXM_OF_IPV4_DST', nxm: ['NXM_OF_IP_DST', NX0, 8] }],
  ['ipv6_src', OF, 26, { len: 16, mask: true, fmt: 'ipv6', prereq: P_IPV6, oxm: 'OXM_OF_IPV6_SRC', nxm: ['NXM_NX_IPV6_SRC', NX1, 19] }],
  ['ipv6_dst', OF, 27, { len: 16, mask: true, fmt: 'ipv6', prereq: P_IPV6, oxm: 'OXM_OF_IPV6_DST', nxm: ['NXM_NX_IPV6_DST', NX1, 20] }],
  ['ip_frag', NX1, 26, { len: 1, bits: 2, mask: true, fmt: 'frag', prereq: P_IP, aliases: ['nw_frag'], nxmName: 'NXM_NX_IP_FRAG' }],
  ['nw_tos', NX0, 5, { len: 1, fmt: 'decimal', prereq: P_IP, nxmName: 'NXM_OF_IP_TOS' }],
  ['ip_dscp', OF, 8, { len: 1, bits: 6, fmt: 'decimal', prereq: P_IP, oxm: 'OXM_OF_IP_DSCP' }],
  ['nw_ecn', OF, 9, { len: 1, bits: 2, fmt: 'decimal', prereq: P_IP, aliases: ['ip_ecn'], oxm: 'OXM_OF_IP_ECN', nxm: ['NXM_NX_IP_ECN', NX1, 28] }],
  ['nw_ttl', NX1, 29, { len: 1, fmt: 'decimal', prereq: P_IP, nxmName: 'NXM_NX_IP_TTL' }],
  ['ipv6_label', OF, 28, { len: 4, bits: 20, mask: true, fmt: 'hex', prereq: P_IPV6, oxm: 'OXM_OF_IPV6_FLABEL', nxm: ['NXM_NX_IPV6_LABEL', NX1, 27] }],
  ['ipv6_exthdr', OF, 39, { len: 2, bits: 9, mask: true, fmt: 'hex', prereq: P_IPV6, oxm: 'OXM_OF_IPV6_EXTHDR' }],
  ['nw_proto', OF, 10, { len: 1, fmt: 'decimal', prereq: P_IP, aliases: ['ip_proto'], oxm: 'OXM_OF_IP_PROTO', nxm: ['NXM_OF_IP_PROTO', NX0, 6] }],
  ['tcp_src', OF, 13, { len: 2, mask: true, fmt: 'decimal', prereq: P_TCP, aliases: ['tp_src'], oxm: 'OXM_OF_TCP_SRC', nxm: ['NXM_OF_TCP_SRC', NX0, 9] }],
  ['tcp_dst', OF, 14, { len: 2, mask: true, fmt: 'decimal', prereq: P_TCP, aliases: ['tp_dst'], oxm: 'OXM_OF_TCP_DST', nxm: ['NXM_OF_TCP_DST', NX0, 10] }],
  ['tcp_flags', EXP, 42, { len: 2, bits: 12, mask: true, fmt: 'tcp_flags', prereq: P_TCP, exp: OXM_EXPERIMENTER.ONF, oxm: 'ONFOXM_ET_TCP_FLAGS', nxm: ['NXM_NX_TCP_FLAGS', NX1, 34] }],
  ['udp_src', OF, 15, { len: 2, mask: true, fmt: 'decimal', prereq: P_UDP, oxm: 'OXM_OF_UDP_SRC', nxm: ['NXM_OF_UDP_SRC', NX0, 11] }],
  ['udp_dst', OF, 16, { len: 2, mask: true, fmt: 'decimal', prereq: P_UDP, oxm: 'OXM_OF_UDP_DST', nxm: ['NXM_OF_UDP_DST', NX0, 12] }],
  ['sctp_src', OF, 17, { len: 2, mask: true, fmt: 'decimal', prereq: P_SCTP, oxm: 'OXM_OF_SCTP_SRC' }],
  ['sctp_dst', OF, 18, { len: 2, mask: true, fmt: 'decimal', prereq: P_SCTP, oxm: 'OXM_OF_SCTP_DST' }],
  ['icmp_type', OF, 19, { len: 1, fmt: 'decimal', prereq: P_ICMPV4, aliases: ['icmpv4_type'], oxm: 'OXM_OF_ICMPV4_TYPE', nxm: ['NXM_OF_ICMP_TYPE', NX0, 13] }],
  ['icmp_code', OF, 20, { len: 1, fmt: 'decimal', prereq: P_ICMPV4, aliases: ['icmpv4_code'], oxm: 'OXM_OF_ICMPV4_CODE', nxm: ['NXM_OF_ICMP_CODE', NX0, 14] }],
  ['icmpv6_type', OF, 29, { len: 1, fmt: 'decimal', prereq: P_ICMPV6, oxm: 'OXM_OF_ICMPV6_TYPE', nxm: ['NXM_NX_ICMPV6_TYPE', NX1, 21] }],
  ['icmpv6_code', OF, 30, { len: 1, fmt: 'decimal', prereq: P_ICMPV6, oxm: 'OXM_OF_ICMPV6_CODE', nxm: ['NXM_NX_ICMPV6_CODE', NX1, 22] }],
  ['nd_reserved', OFPXMC.ERICOXM, 1, { len: 4, fmt: 'decimal', prereq: P_ND, oxm: 'ERICOXM_OF_ICMPV6_ND_RESERVED' }],
  ['nd_target', OF, 31, { len: 16, mask: true, fmt: 'ipv6', prereq: P_ND, oxm: 'OXM_OF_IPV6_ND_TARGET', nxm: ['NXM_NX_ND_TARGET', NX1, 23] }],
  ['nd_options_type', OFPXMC.ERICOXM, 2, { len: 1, fmt: 'decimal', prereq: P_ND, oxm: 'ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE' }],
  ['nd_sll', OF, 32, { len: 6, mask: true, fmt: 'mac', prereq: P_ND_SOLICIT, oxm: 'OXM_OF_IPV6_ND_SLL', nxm: ['NXM_NX_ND_SLL', NX1, 24] }],
  ['nd_tll', OF, 33, { len: 6, mask: true, fmt: 'mac', prereq: P_ND_ADVERT, oxm: 'OXM_OF_IPV6_ND_TLL', nxm: ['NXM_NX_ND_TLL', NX1, 25] }],
  ['arp_op', OF, 21, { len: 2, fmt: 'decimal', prereq: P_ARP, oxm: 'OXM_OF_ARP_OP', nxm: ['NXM_OF_ARP_OP', NX0, 15] }],
  ['arp_spa', OF, 22, { len: 4, mask: true, fmt: 'ipv4', prereq: P_ARP, oxm: 'OXM_OF_ARP_SPA', nxm: ['NXM_OF_ARP_SPA', NX0, 16] }],
  ['arp_tpa', OF, 23, { len: 4, mask: true, fmt: 'ipv4', prereq: P_ARP, oxm: 'OXM_OF_ARP_TPA', nxm: ['NXM_OF_ARP_TPA', NX0, 17] }],
  ['arp_sha', OF, 24, { len: 6, mask: true, fmt: 'mac', prereq: P_ARP, oxm: 'OXM_OF_ARP_SHA', nxm: ['NXM_NX_ARP_SHA', NX1, 17] }],
  ['arp_tha', OF, 25, { len: 6, mask: true, fmt: 'mac', prereq: P_ARP, oxm: 'OXM_OF_ARP_THA', nxm: ['NXM_NX_ARP_THA', NX1, 18] }],
  ['tun_id', OF, 38, { len: 8, mask: true, fmt: 'hex', aliases: ['tunnel_id'], oxm: 'OXM_OF_TUNNEL_ID', nxm: ['NXM_NX_TUN_ID', NX1, 16] }],
  ['tun_flags', NX1, 104, { len: 2, bits: 1, mask: true, fmt: 'tun_flags', nxmName: 'NXM_NX_TUN_FLAGS' }],
  ['tun_src', NX1, 31, { len: 4, mask: true, fmt: 'ipv4', nxmName: 'NXM_NX_TUN_IPV4_SRC' }],
  ['tun_dst', NX1, 32, { len: 4, mask: true, fmt: 'ipv4', nxmName: 'NXM_NX_TUN_IPV4_DST' }],
  ['tun_ipv6_src', NX1, 109, { len: 16, mask: true, fmt: 'ipv6', nxmName: 'NXM_NX_TUN_IPV6_SRC' }],
  ['tun_ipv6_dst', NX1, 110, { len: 16, mask: true, fmt: 'ipv6', nxmName: 'NXM_NX_TUN_IPV6_DST' }],
  ['tun_gbp_id', NX1, 38, { len: 2, mask: true, fmt: 'decimal', nxmName: 'NXM_NX_TUN_GBP_ID' }],
  ['tun_gbp_flags', NX1, 39, { len: 1, mask: true, fmt: 'hex', nxmName: 'NXM_NX_TUN_GBP_FLAGS' }],
  ['tun_erspan_idx', EXP, 11, { len: 4, bits: 20, mask: true, fmt: 'hex', exp: OXM_EXPERIMENTER.NX, oxm: 'NXOXM_ET_ERSPAN_IDX' }],
  ['tun_erspan_ver', EXP, 12, { len: 1, bits: 4, mask: true, fmt: 'decimal', exp: OXM_EXPERIMENTER.NX, oxm: 'NXOXM_ET_ERSPAN_VER' }],
  ['tun_erspan_dir', EXP, 13, { len: 1, bits: 1, mask: true, fmt: 'decimal', exp: OXM_EXPERIMENTER.NX, oxm: 'NXOXM_ET_ERSPAN_DIR' }],
  ['tun_erspan_hwid', EXP, 14, { len: 1, bits: 6, mask: true, fmt: 'hex', exp: OXM_EXPERIMENTER.NX, oxm: 'NXOXM_ET_ERSPAN_HWID' }],
  ['tun_gtpu_flags', EXP, 15, { len: 1, mask: true, fmt: 'hex', exp: OXM_EXPERIMENTER.NX, oxm: 'NXOXM_ET_GTPU_FLAGS' }],
  ['tun_gtpu_msgtype', EXP, 16, { len: 1, mask: true, fmt: 'decimal', exp: OXM_EXPERIMENTER.NX, oxm: 'NXOXM_ET_GTPU_MSGTYPE' }],
  ['nsh_flags', EXP, 1, { len: 1, mask: true, fmt: 'decimal', exp: OXM_EXPERIMENTER.NSH, oxm: 'NXOXM_NSH_FLAGS' }],
  ['nsh_ttl', EXP, 10, { len: 1, fmt: 'decimal', exp: OXM_EXPERIMENTER.NSH, oxm: 'NXOXM_NSH_TTL' }],
  ['nsh_mdtype', EXP, 2, { len: 1, fmt: 'decimal', exp: OXM_EXPERIMENTER.NSH, oxm: 'NXOXM_NSH_MDTYPE' }],
  ['nsh_np', EXP, 3, { len: 1, fmt: 'decimal', exp: OXM_EXPERIMENTER.NSH, oxm: 'NXOXM_NSH_NP' }],
  ['nsh_spi', EXP, 4, { len: 4, bits: 24, fmt: 'hex', exp: OXM_EXPERIMENTER.NSH, aliases: ['nsp'], oxm: 'NXOXM_NSH_SPI' }],
  ['nsh_si', EXP, 5, { len: 1, fmt: 'decimal', exp: OXM_EXPERIMENTER.NSH, aliases: ['nsi'], oxm: 'NXOXM_NSH_SI' }],
  ...[1, 2, 3, 4].map(
    (i) => [`nsh_c${i}`, EXP, 5 + i, { len: 4, mask: true, fmt: 'hex', exp: OXM_EXPERIMENTER.NSH, aliases: [`nshc${i}`], oxm: `NXOXM_NSH_C${i}` }] as const,
  ),
  ...Array.from({ length: 16 }, (_, i) => [`reg${i}`, NX1, i, { len: 4, mask: true, fmt: 'hex', nxmName: `NXM_NX_REG${i}` }] as const),
  ...Array.from({ length: 8 }, (_, i) => [`xreg${i}`, OFPXMC.PACKET_REGS, i, { len: 8, mask: true, fmt: 'hex', oxm: `OXM_OF_PKT_REG${i}` }] as const),
  ...Array.from({ length: 4 }, (_, i) => [`xxreg${i}`, NX1, 111 + i, { len: 16, mask: true, fmt: 'hex', nxmName: `NXM_NX_XXREG${i}` }] as const),
  ['pkt_mark', NX1, 33, { len: 4, mask: true, fmt: 'hex', nxmName: 'NXM_NX_PKT_MARK' }],
  ['ct_state', NX1, 105, { len: 4, bits: 8, mask: true, fmt: 'ct_state', nxmName: 'NXM_NX_CT_STATE' }],
  ['ct_zone', NX1, 106, { len: 2, fmt: 'hex', nxmName: 'NXM_NX_CT_ZONE' }],
  ['ct_mark', NX1, 107, { len: 4, mask: true, fmt: 'hex', nxmName: 'NXM_NX_CT_MARK' }],
  ['ct_label', NX1, 108, { len: 16, mask: true, fmt: 'hex', nxmName: 'NXM_NX_CT_LABEL' }],
  ['ct_nw_src', NX1, 120, { len: 4, mask: true, fmt: 'ipv4', nxmName: 'NXM_NX_CT_NW_SRC' }],
  ['ct_ipv6_src', NX1, 122, { len: 16, mask: true, fmt: 'ipv6', nxmName: 'NXM_NX_CT_IPV6_SRC' }],
  ['ct_nw_dst', NX1, 121, { len: 4, mask: true, fmt: 'ipv4', nxmName: 'NXM_NX_CT_NW_DST' }],
  ['ct_ipv6_dst', NX1, 123, { len: 16, mask: true, fmt: 'ipv6', nxmName: 'NXM_NX_CT_IPV6_DST' }],
  ['ct_nw_proto', NX1, 119, { len: 1, fmt: 'decimal', nxmName: 'NXM_NX_CT_NW_PROTO' }],
  ['ct_tp_src', NX1, 124, { len: 2, mask: true, fmt: 'decimal', nxmName: 'NXM_NX_CT_TP_SRC' }],
  ['ct_tp_dst', NX1, 125, { len: 2, mask: true, fmt: 'decimal', nxmName: 'NXM_NX_CT_TP_DST' }],
  ['metadata', OF, 2, { len: 8, mask: true, fmt: 'hex', oxm: 'OXM_OF_METADATA' }],
];

const makeHeader = (cls: number, field: number, hasMask: boolean, bodyLen: number): number =>
  ((cls << 16) | (field << 9) | (hasMask ? 0x100 : 0) | bodyLen) >>> 0;

function buildRegistry(): FieldInfo[] {
  const out: FieldInfo[] = [];
  const add = (name: string, ovsName: string, cls: number, field: number, d: Def, aliases: readonly string[], oxmName?: string, nxmName?: string) => {
    const expLen = d.exp === undefined ? 0 : 4;
    // Every entry has every property (undefined when absent), so all entries share one hidden class: the encoder
    // and decoder read these for every field, and optional properties would make those reads megamorphic.
    out.push({
      name,
      ovsName,
      oxmClass: cls,
      oxmField: field,
      experimenter: d.exp,
      length: d.len,
      nBits: d.bits ?? d.len * 8,
      maskable: d.mask ?? false,
      kind: KIND[d.fmt],
      format: d.fmt,
      prereq: d.prereq,
      nxmName,
      oxmName,
      aliases,
      header: makeHeader(cls, field, false, d.len + expLen),
      maskedHeader: makeHeader(cls, field, true, 2 * d.len + expLen),
      rank: out.length,
    });
  };
  for (const [name, cls, field, d] of DEFS) {
    const nxmName = d.nxmName ?? d.nxm?.[0];
    add(name, name, cls, field, d, [...(d.aliases ?? []), ...(d.oxm ? [d.oxm] : []), ...(d.nxmName ? [d.nxmName] : [])], d.oxm, nxmName);
    if (d.nxm) add(d.nxm[0], name, d.nxm[1], d.nxm[2], { ...d, len: d.nxm[3] ?? d.len, bits: d.nxm[3] ? undefined : d.bits, exp: undefined }, [], undefined, d.nxm[0]);
  }
  return out;
}

/** Every known code point, in Open vSwitch's wire order. */
export const FIELDS: readonly FieldInfo[] = buildRegistry();

const byName = new Map<string, FieldInfo>();
const byClassField = new Map<number, FieldInfo>();
/** The three classes nearly every field is in, as arrays indexed by field number (faster than the Map). */
const basicFields: (FieldInfo | undefined)[] = new Array<FieldInfo | undefined>(128).fill(undefined);
const nxm0Fields: (FieldInfo | undefined)[] = new Array<FieldInfo | undefined>(128).fill(undefined);
const nxm1Fields: (FieldInfo | undefined)[] = new Array<FieldInfo | undefined>(128).fill(undefined);
const byExperimenterField = new Map<number, FieldInfo>();
for (const f of FIELDS) {
  byName.set(f.name, f);
  byName.set(f.name.toLowerCase(), f);
  if (f.experimenter === undefined) {
    byClassField.set(f.header >>> 9, f);
    if (f.oxmClass === OFPXMC.OPENFLOW_BASIC) basicFields[f.oxmField] = f;
    else if (f.oxmClass === OFPXMC.NXM_0) nxm0Fields[f.oxmField] = f;
    else if (f.oxmClass === OFPXMC.NXM_1) nxm1Fields[f.oxmField] = f;
  } else byExperimenterField.set(f.experimenter * 128 + f.oxmField, f);
}
for (const f of FIELDS) {
  for (const a of f.aliases) {
    if (!byName.has(a)) byName.set(a, f);
    if (!byName.has(a.toLowerCase())) byName.set(a.toLowerCase(), f);
  }
}

const byRegistryName = new Map<string, FieldInfo>(FIELDS.map((f) => [f.name, f]));

/**
 * A field by its exact registry name (what decoded OxmFields carry), else by any name fieldByName knows. It runs for
 * every field encoded; measured, the Map keyed by the (interned) name beats a small direct-mapped cache before it.
 */
export function fieldInfo(name: string): FieldInfo | undefined {
  return byRegistryName.get(name) ?? fieldByName(name);
}

/** A field by ovs-fields(7) name, alias (dl_dst, nw_src, tp_dst, ...) or NXM_* / OXM_* name (case-insensitive). */
export function fieldByName(nameOrAlias: string): FieldInfo | undefined {
  return byName.get(nameOrAlias) ?? byName.get(nameOrAlias.toLowerCase());
}

/**
 * The field a 32-bit OXM/NXM header names. Only class and field count: the mask bit and the length byte are
 * ignored (callers check the length against `info.length`). Class 0xffff needs the experimenter id.
 */
export function fieldByHeader(header32: number, experimenter?: number): FieldInfo | undefined {
  const classField = header32 >>> 9;
  const cls = classField >>> 7;
  if (cls === OFPXMC.OPENFLOW_BASIC) return basicFields[classField & 0x7f];
  if (cls === OFPXMC.NXM_1) return nxm1Fields[classField & 0x7f];
  if (cls === OFPXMC.NXM_0) return nxm0Fields[classField & 0x7f];
  if (cls === OFPXMC.EXPERIMENTER) {
    return experimenter === undefined ? undefined : byExperimenterField.get(experimenter * 128 + (classField & 0x7f));
  }
  return byClassField.get(classField);
}

export function oxmHeader(info: FieldInfo, hasMask: boolean): number {
  return hasMask ? info.maskedHeader : info.header;
}

/** The code point Nicira actions (move, load, output:reg) use for a field: its NXM one if it has one. */
export function nxmCodePoint(info: FieldInfo): FieldInfo {
  if (info.oxmClass === OFPXMC.NXM_0 || info.oxmClass === OFPXMC.NXM_1 || info.nxmName === undefined) return info;
  return byName.get(info.nxmName) ?? info;
}
