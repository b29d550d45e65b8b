// A match as Open vSwitch reads one (lib/nx-match.c nx_pull_raw, oxm_pull_match): each OXM TLV is taken in order and
// checked against the match built so far, so the first fault found is the one OVS names. The checks, in OVS's order:
// the TLV's length (OFPBMC_BAD_LEN), value bits outside the mask (BAD_WILDCARDS), a field OVS does not know or a
// length other than the field's (BAD_FIELD), a mask on a field that takes none other than all-zeros / all-ones
// (BAD_MASK), the value (BAD_VALUE: mf_is_value_valid), the prerequisites against the fields before it
// (BAD_PREREQ: mf_are_match_prereqs_ok), and a field already matched, counting OVS's shared flow slots (ip_src and
// arp_spa, the dscp and tos views of one byte, reg0 inside xreg0 inside xxreg0) (DUP_FIELD: mf_is_all_wild).
import { OFPBMC, OFPET, OFPP } from './consts.js';
import { CodecError } from './errors.js';
import { FIELDS, OFPXMC, fieldByHeader, type FieldInfo } from './oxm-fields.js';
import type { Reader } from './reader.js';
import type { OxmField } from './types.js';

const matchError = (msg: string, code: number, offset?: number): CodecError => new CodecError(msg, OFPET.BAD_MATCH, code, offset);

/** OVS's prerequisite classes (enum mf_prereqs). */
const enum P {
  NONE,
  ETHERNET,
  ARP,
  IPV4,
  IPV6,
  VLAN_VID,
  MPLS,
  IP_ANY,
  NSH,
  CT_VALID,
  TCP,
  UDP,
  SCTP,
  ICMPV4,
  ICMPV6,
  ND,
  ND_SOLICIT,
  ND_ADVERT,
}

/** How a field's value is checked (mf_is_value_valid). */
const enum V {
  ANY,
  /** Only the low `nBits` bits may be set. */
  BITS,
  /** A 32-bit port OVS can map (ofputil_port_from_ofp11). */
  PORT,
  /** nw_tos (NXM_OF_IP_TOS): the ECN bits must be 0. */
  TOS,
  /** arp_op: 8 bits in OVS's flow. */
  ARP_OP,
  NSH_TTL,
  NSH_MDTYPE,
}

/** Where a field lives in OVS's struct flow, for duplicate detection. */
const enum S {
  /** A flow member of its own: one flag bit (`flag`). */
  FLAG,
  /** vlans[0].tci: vlan_tci (all 16 bits), vlan_vid (VID + CFI), vlan_pcp (PCP; sets CFI too). */
  VLAN_TCI,
  VLAN_VID,
  VLAN_PCP,
  /** nw_tos: the DSCP bits (nw_tos, ip_dscp) and the ECN bits (nw_ecn). */
  DSCP,
  ECN,
  /** regs[]: reg (1 word), xreg (2), xxreg (4). */
  REG,
}

/** Flow values the prerequisites read (everything else only needs "is it matched"). */
const enum F {
  NONE,
  PACKET_TYPE,
  ETH_TYPE,
  NW_PROTO,
  TP_SRC,
  TP_DST,
  NW_FRAG,
  CT_STATE,
}

interface Rule {
  /** False for the fields OVS 3.1 does not implement (in_phy_port, pbb_isid, ipv6_exthdr): OFPBMC_BAD_FIELD. */
  readonly known: boolean;
  readonly prereq: P;
  readonly value: V;
  readonly slot: S;
  /** For S.FLAG: which of the 32-bit flag words and which bit. For S.REG: the first register. */
  readonly word: number;
  readonly bit: number;
  readonly sets: F;
}

const PREREQS: Readonly<Record<string, P>> = {
  eth_src: P.ETHERNET,
  eth_dst: P.ETHERNET,
  eth_type: P.ETHERNET,
  vlan_tci: P.ETHERNET,
  vlan_vid: P.ETHERNET,
  vlan_pcp: P.VLAN_VID,
  mpls_label: P.MPLS,
  mpls_tc: P.MPLS,
  mpls_bos: P.MPLS,
  mpls_ttl: P.MPLS,
  ip_src: P.IPV4,
  ip_dst: P.IPV4,
  ipv6_src: P.IPV6,
  ipv6_dst: P.IPV6,
  ipv6_label: P.IPV6,
  nw_proto: P.IP_ANY,
  nw_tos: P.IP_ANY,
  ip_dscp: P.IP_ANY,
  nw_ecn: P.IP_ANY,
  nw_ttl: P.IP_ANY,
  ip_frag: P.IP_ANY,
  arp_op: P.ARP,
  arp_spa: P.ARP,
  arp_tpa: P.ARP,
  arp_sha: P.ARP,
  arp_tha: P.ARP,
  tcp_src: P.TCP,
  tcp_dst: P.TCP,
  tcp_flags: P.TCP,
  udp_src: P.UDP,
  udp_dst: P.UDP,
  sctp_src: P.SCTP,
  sctp_dst: P.SCTP,
  icmp_type: P.ICMPV4,
  icmp_code: P.ICMPV4,
  icmpv6_type: P.ICMPV6,
  icmpv6_code: P.ICMPV6,
  nd_target: P.ND,
  nd_reserved: P.ND,
  nd_options_type: P.ND,
  nd_sll: P.ND_SOLICIT,
  nd_tll: P.ND_ADVERT,
  ct_nw_src: P.CT_VALID,
  ct_nw_dst: P.CT_VALID,
  ct_ipv6_src: P.CT_VALID,
  ct_ipv6_dst: P.CT_VALID,
  ct_nw_proto: P.CT_VALID,
  ct_tp_src: P.CT_VALID,
  ct_tp_dst: P.CT_VALID,
};

/** Fields whose flow member another field shares (struct flow): the member's name. */
const SHARED_MEMBER: Readonly<Record<string, string>> = {
  arp_op: 'nw_proto',
  arp_spa: 'ip_src',
  arp_tpa: 'ip_dst',
  nd_sll: 'arp_sha',
  nd_tll: 'arp_tha',
  udp_src: 'tcp_src',
  sctp_src: 'tcp_src',
  icmp_type: 'tcp_src',
  icmpv6_type: 'tcp_src',
  udp_dst: 'tcp_dst',
  sctp_dst: 'tcp_dst',
  icmp_code: 'tcp_dst',
  icmpv6_code: 'tcp_dst',
};

/** The fields mf_is_value_valid checks by their width. */
const BITS_CHECKED = new Set(['ip_dscp', 'nw_ecn', 'ip_frag', 'tcp_flags', 'vlan_vid', 'vlan_pcp', 'ipv6_label', 'mpls_label', 'mpls_tc', 'mpls_bos', 'tun_flags', 'ct_state', 'nsh_spi']);
const NOT_IN_OVS = new Set(['in_phy_port', 'pbb_isid', 'ipv6_exthdr']);

const SETS: Readonly<Record<string, F>> = {
  packet_type: F.PACKET_TYPE,
  eth_type: F.ETH_TYPE,
  nw_proto: F.NW_PROTO,
  arp_op: F.NW_PROTO,
  tcp_src: F.TP_SRC,
  udp_src: F.TP_SRC,
  sctp_src: F.TP_SRC,
  icmp_type: F.TP_SRC,
  icmpv6_type: F.TP_SRC,
  tcp_dst: F.TP_DST,
  udp_dst: F.TP_DST,
  sctp_dst: F.TP_DST,
  icmp_code: F.TP_DST,
  icmpv6_code: F.TP_DST,
  ip_frag: F.NW_FRAG,
  ct_state: F.CT_STATE,
};

function buildRules(): Rule[] {
  const members = new Map<string, number>();
  const rules: Rule[] = [];
  for (const info of FIELDS) {
    const o = info.ovsName;
    let slot = S.FLAG;
    let word = 0;
    let bit = 0;
    const reg = /^(x{0,2})reg(\d+)$/.exec(o);
    if (reg) {
      slot = S.REG;
      word = Number(reg[2]) << reg[1]!.length;
    } else if (o === 'vlan_tci') slot = S.VLAN_TCI;
    else if (o === 'vlan_vid') slot = S.VLAN_VID;
    else if (o === 'vlan_pcp') slot = S.VLAN_PCP;
    else if (o === 'nw_tos' || o === 'ip_dscp') slot = S.DSCP;
    else if (o === 'nw_ecn') slot = S.ECN;
    else {
      const member = SHARED_MEMBER[o] ?? o;
      let n = members.get(member);
      if (n === undefined) members.set(member, (n = members.size));
      word = n >> 5;
      bit = 1 << (n & 31);
    }
    const value =
      info.name === 'in_port' || o === 'actset_output' ? V.PORT
      : o === 'nw_tos' ? V.TOS
      : o === 'arp_op' ? V.ARP_OP
      : o === 'nsh_ttl' ? V.NSH_TTL
      : o === 'nsh_mdtype' ? V.NSH_MDTYPE
      : BITS_CHECKED.has(o) ? V.BITS
      : V.ANY;
    rules.push({ known: !NOT_IN_OVS.has(o), prereq: PREREQS[o] ?? (o.startsWith('nsh_') ? P.NSH : P.NONE), value, slot, word, bit, sets: SETS[o] ?? F.NONE });
  }
  if (members.size > 96) throw new Error('match-check: more flow members than flag bits');
  return rules;
}

/** Indexed by FieldInfo.rank. */
const RULES: readonly Rule[] = buildRules();
const PACKET_TYPE_RULE = RULES[FIELDS.findIndex((f) => f.name === 'packet_type')]!;
if (PACKET_TYPE_RULE.word !== 0) throw new Error('match-check: packet_type must have a flag in the first word');
const PACKET_TYPE_BIT = PACKET_TYPE_RULE.bit;

const ETH_IP = 0x0800;
const ETH_IPV6 = 0x86dd;
const VLAN_CFI = 0x1000;
/** ct_state bits: a tracked, valid connection (CS_NEW | EST | REL | RPL | SNAT | DNAT), +trk, +inv. */
const CS_VALID = 0xcf;
const CS_TRACKED = 0x20;
const CS_INVALID = 0x10;
const FRAG_LATER = 2;

/** Whether OVS gives the field prerequisites (then matching it pins packet_type to Ethernet). */
export function hasOvsPrereq(info: FieldInfo): boolean {
  return RULES[info.rank]!.prereq !== P.NONE;
}

/** The number a value of up to 4 bytes holds (big-endian). */
function uint(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) n = n * 256 + b[i]!;
  return n;
}

function allBytes(b: Uint8Array, v: number): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== v) return false;
  return true;
}

/** The mask's 32-bit word `i` (of a 4-, 8- or 16-byte register field), 0xffffffff when unmasked. */
function word32(mask: Uint8Array | undefined, i: number): number {
  if (mask === undefined) return -1;
  const p = 4 * i;
  return (mask[p]! << 24) | (mask[p + 1]! << 16) | (mask[p + 2]! << 8) | mask[p + 3]!;
}

/**
 * The match OVS has built so far from the fields before: which flow members are matched, and the few flow values
 * the prerequisites read. One per match decoded.
 */
export class MatchChecker {
  private flags0 = 0;
  private flags1 = 0;
  private flags2 = 0;
  private tciMask = 0;
  private tosMask = 0;
  private regMasks: number[] | undefined = undefined;
  private tunMetadata0 = 0;
  private tunMetadata1 = 0;
  private packetType = 0;
  private ethType = 0;
  private nwProto = 0;
  private tpSrc = 0;
  private tpDst = 0;
  private nwFrag = 0;
  private tci = 0;
  private ctState = 0;
  private ctStateMask = 0;

  /** strict: oxm_pull_match (prerequisites checked, unknown fields refused); else oxm_pull_match_loose. */
  constructor(readonly strict: boolean) {}

  /** The dl_type OVS's prerequisites see (get_dl_type): from packet_type when it names an ethertype. */
  private dlType(): number {
    const pt = this.packetType;
    if (pt === 0) return this.ethType;
    return pt >>> 16 === 1 ? pt & 0xffff : 0x5ff;
  }

  private prereqOk(p: P): boolean {
    if (p === P.NONE) return true;
    const dl = this.dlType();
    const ip = dl === ETH_IP || dl === ETH_IPV6;
    switch (p) {
      case P.ETHERNET:
        return this.packetType === 0;
      case P.ARP:
        return dl === 0x0806 || dl === 0x8035;
      case P.IPV4:
        return dl === ETH_IP;
      case P.IPV6:
        return dl === ETH_IPV6;
      case P.VLAN_VID:
        return (this.tci & VLAN_CFI) !== 0;
      case P.MPLS:
        return dl === 0x8847 || dl === 0x8848;
      case P.IP_ANY:
        return ip;
      case P.NSH:
        return dl === 0x894f;
      case P.CT_VALID:
        return (this.ctState & CS_VALID) !== 0 || ((this.ctState & CS_TRACKED) !== 0 && (this.ctStateMask & CS_INVALID) !== 0 && (this.ctState & CS_INVALID) === 0);
      case P.TCP:
        return ip && this.nwProto === 6 && (this.nwFrag & FRAG_LATER) === 0;
      case P.UDP:
        return ip && this.nwProto === 17 && (this.nwFrag & FRAG_LATER) === 0;
      case P.SCTP:
        return ip && this.nwProto === 132 && (this.nwFrag & FRAG_LATER) === 0;
      case P.ICMPV4:
        return dl === ETH_IP && this.nwProto === 1;
      case P.ICMPV6:
        return dl === ETH_IPV6 && this.nwProto === 58;
      case P.ND:
      case P.ND_SOLICIT:
      case P.ND_ADVERT: {
        if (dl !== ETH_IPV6 || this.nwProto !== 58 || this.tpDst !== 0) return false;
        const t = this.tpSrc;
        return p === P.ND ? t === 135 || t === 136 : t === (p === P.ND_SOLICIT ? 135 : 136);
      }
    }
    return true;
  }

  private isSet(r: Rule): boolean {
    switch (r.slot) {
      case S.FLAG:
        return ((r.word === 0 ? this.flags0 : r.word === 1 ? this.flags1 : this.flags2) & r.bit) !== 0;
      case S.VLAN_TCI:
        return this.tciMask !== 0;
      case S.VLAN_VID:
        return (this.tciMask & 0x1fff) !== 0;
      case S.VLAN_PCP:
        return (this.tciMask & 0xe000) !== 0;
      case S.DSCP:
        return (this.tosMask & 0xfc) !== 0;
      case S.ECN:
        return (this.tosMask & 0x03) !== 0;
      case S.REG:
        return false; // checked in add(), word by word
    }
  }

  /**
   * Adds one decoded field (after checkOxmValue) as nx_pull_raw does: prerequisites (strict only), then duplicates;
   * then records it. Throws CodecError(BAD_MATCH, BAD_PREREQ / DUP_FIELD).
   */
  add(info: FieldInfo, value: Uint8Array, mask: Uint8Array | undefined, at: number): void {
    const r = RULES[info.rank]!;
    if (this.strict && !this.prereqOk(r.prereq)) throw matchError(`match: '${info.ovsName}' without its prerequisites`, OFPBMC.BAD_PREREQ, at);
    if (r.slot === S.REG) {
      const words = info.length >> 2;
      const regs = (this.regMasks ??= [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      for (let i = 0; i < words; i++) if (regs[r.word + i] !== 0) throw matchError(`match: '${info.ovsName}' overlaps a register matched before`, OFPBMC.DUP_FIELD, at);
      for (let i = 0; i < words; i++) regs[r.word + i] = word32(mask, i);
    } else {
      if (this.isSet(r)) throw matchError(`match: '${info.ovsName}' is matched twice`, OFPBMC.DUP_FIELD, at);
      this.record(r, info, value, mask);
    }
    // match_add_ethernet_prereq: any field with prerequisites pins packet_type to Ethernet.
    if (r.prereq !== P.NONE) this.flags0 |= PACKET_TYPE_BIT;
  }

  /** A tun_metadata field: matched once at most, whatever its mask (tun_metadata_set_match marks it present). */
  addTunMetadata(index: number, at: number): void {
    const bit = 1 << (index & 31);
    const set = index < 32 ? this.tunMetadata0 : this.tunMetadata1;
    if (set & bit) throw matchError(`match: 'tun_metadata${index}' is matched twice`, OFPBMC.DUP_FIELD, at);
    if (index < 32) this.tunMetadata0 |= bit;
    else this.tunMetadata1 |= bit;
  }

  private record(r: Rule, info: FieldInfo, value: Uint8Array, mask: Uint8Array | undefined): void {
    // mf_set with an all-zero mask is mf_set_wild: the field stays unmatched.
    const wild = mask !== undefined && allBytes(mask, 0);
    if (wild) return;
    const small = info.length <= 4;
    const v = small ? uint(value) : 0;
    const m = small ? (mask === undefined ? 0xffffffff : uint(mask)) : 0;
    switch (r.slot) {
      case S.FLAG:
        if (r.word === 0) this.flags0 |= r.bit;
        else if (r.word === 1) this.flags1 |= r.bit;
        else this.flags2 |= r.bit;
        break;
      case S.VLAN_TCI:
        this.tciMask = m & 0xffff;
        this.tci = v & m;
        break;
      case S.VLAN_VID:
        this.tciMask |= m & 0x1fff;
        this.tci = (this.tci & ~0x1fff) | (v & m & 0x1fff);
        break;
      case S.VLAN_PCP:
        this.tciMask |= 0xf000;
        this.tci = (this.tci & 0x0fff) | ((v & 7) << 13) | VLAN_CFI;
        break;
      case S.DSCP:
        this.tosMask |= 0xfc;
        break;
      case S.ECN:
        this.tosMask |= 0x03;
        break;
    }
    switch (r.sets) {
      case F.PACKET_TYPE:
        this.packetType = v;
        break;
      case F.ETH_TYPE:
        this.ethType = v & m;
        break;
      case F.NW_PROTO:
        this.nwProto = v & m & 0xff;
        break;
      case F.TP_SRC:
        this.tpSrc = v & m;
        break;
      case F.TP_DST:
        this.tpDst = v & m;
        break;
      case F.NW_FRAG:
        this.nwFrag = v & m;
        break;
      case F.CT_STATE:
        this.ctState = v & m;
        this.ctStateMask = m;
        break;
    }
  }
}


/** The index of a tun_metadata field (NXM_1 fields 40..103) from its header, else -1. */
export function tunMetadataIndex(header: number): number {
  if (header >>> 16 !== OFPXMC.NXM_1) return -1;
  const field = (header >>> 9) & 0x7f;
  return field >= 40 && field < 104 ? field - 40 : -1;
}

/** mf_is_mask_valid + mf_is_value_valid for a field OVS knows; throws BAD_MASK / BAD_VALUE. */
function checkOxmValue(info: FieldInfo, value: Uint8Array, mask: Uint8Array | undefined, at: number): void {
  if (mask !== undefined && !info.maskable && !allBytes(mask, 0) && !allBytes(mask, 0xff)) throw matchError(`OXM: '${info.name}' takes no mask but all-zeros or all-ones`, OFPBMC.BAD_MASK, at);
  const r = RULES[info.rank]!;
  let ok = true;
  switch (r.value) {
    case V.ANY:
      return;
    case V.BITS: {
      let excess = value.length * 8 - info.nBits;
      for (let i = 0; excess > 0 && ok; i++, excess -= 8) ok = (value[i]! & (excess >= 8 ? 0xff : (0xff00 >> excess) & 0xff)) === 0;
      break;
    }
    case V.PORT: {
      const p = uint(value);
      ok = p < 0xff00 || p >= OFPP.MAX;
      break;
    }
    case V.TOS:
      ok = (value[0]! & 3) === 0;
      break;
    case V.ARP_OP:
      ok = value[0] === 0;
      break;
    case V.NSH_TTL:
      ok = value[0]! <= 63;
      break;
    case V.NSH_MDTYPE:
      ok = value[0] === 1 || value[0] === 2;
      break;
  }
  if (!ok) throw matchError(`OXM: '${info.name}' cannot take the value 0x${Buffer.from(value).toString('hex')}`, OFPBMC.BAD_VALUE, at);
}

/**
 * One OXM TLV of a match, read as nx_pull_match_entry reads it, within `end` (the end of the match's TLVs, not of the
 * message), and adds it to `checker`. A field OVS does not know is OFPBMC_BAD_FIELD; with a loose checker
 * (oxm_pull_match_loose, packet-in) it is kept raw instead.
 */
export function decodeMatchOxm(r: Reader, end: number, checker: MatchChecker): OxmField {
  const start = r.pos;
  const b = r.buf;
  if (start + 4 > end) throw matchError(`OXM: a partial header (${end - start} bytes) at offset ${start}`, OFPBMC.BAD_LEN, start);
  const header = ((b[start]! << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0;
  let experimenter: number | undefined;
  let p = start + 4;
  if (header >>> 16 === OFPXMC.EXPERIMENTER) {
    if (start + 8 > end) throw matchError(`OXM: a partial experimenter header at offset ${start}`, OFPBMC.BAD_LEN, start);
    experimenter = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    p += 4;
  }
  const length = header & 0xff;
  const payload = length - (experimenter === undefined ? 0 : 4);
  if (payload < 0) throw matchError(`OXM: experimenter field 0x${header.toString(16)} with length ${length}`, OFPBMC.BAD_LEN, start);
  if (p + payload > end) throw matchError(`OXM 0x${header.toString(16).padStart(8, '0')}: ${payload} bytes of value, only ${end - p} left in the match`, OFPBMC.BAD_LEN, start);
  const hasMask = (header & 0x100) !== 0;
  const width = hasMask ? payload >> 1 : payload;
  if (hasMask) {
    for (let i = 0; i < width; i++) {
      if (b[p + i]! & ~b[p + width + i]!) throw matchError(`OXM 0x${header.toString(16)}: value has bits outside its mask`, OFPBMC.BAD_WILDCARDS, start);
    }
  }
  r.pos = p;
  const info = fieldByHeader(header, experimenter);
  const tunMetadata = tunMetadataIndex(header);
  if (tunMetadata >= 0 && !(hasMask && payload % 2 !== 0)) {
    // tun_metadata0..63 (NXM_NX_TUN_METADATA): any length; OVS knows them, the registry does not, so they stay raw.
    checker.addTunMetadata(tunMetadata, start);
    const value = r.bytes(width);
    return hasMask ? { field: 'unknown', value, header, mask: r.bytes(width) } : { field: 'unknown', value, header };
  }
  if (info === undefined || info.length !== width || !RULES[info.rank]!.known) {
    if (checker.strict) throw matchError(`OXM: field 0x${header.toString(16).padStart(8, '0')}${info && info.length === width ? ` (${info.name}, which Open vSwitch does not implement)` : info ? ` (${info.name} with a ${width}-byte value)` : ''} is unknown`, OFPBMC.BAD_FIELD, start);
    if (hasMask && payload % 2 !== 0) throw matchError(`OXM: masked field 0x${header.toString(16)} with odd length`, OFPBMC.BAD_LEN, start);
    if (info !== undefined && info.length === width) {
      // A registry field OVS does not implement: kept under its name.
      const value = r.bytes(width);
      return hasMask ? { field: info.name, value, mask: r.bytes(width) } : { field: info.name, value };
    }
    const value = r.bytes(width);
    if (experimenter === undefined) return hasMask ? { field: 'unknown', value, header, mask: r.bytes(width) } : { field: 'unknown', value, header };
    return hasMask ? { field: 'unknown', value, header, experimenter, mask: r.bytes(width) } : { field: 'unknown', value, header, experimenter };
  }
  const value = r.bytes(width);
  const mask = hasMask ? r.bytes(width) : undefined;
  r.pos = p + payload;
  checkOxmValue(info, value, mask, start);
  checker.add(info, value, mask, start);
  return mask === undefined ? { field: info.name, value } : { field: info.name, value, mask };
}
