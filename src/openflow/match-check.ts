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

/**
 * The match built so far, as OVS's checks need it: one Int32Array, indexed by K. Which flow members are matched (one
 * bit each in FLAGS0..2, REGS, TUN_METADATA0..1, and the VLAN TCI and TOS masks), the few flow values the
 * prerequisites read, and OK: the prerequisite classes those values satisfy, kept up to date as they change, so that
 * a field's prerequisite is one bit test.
 */
const enum K {
  FLAGS0,
  FLAGS1,
  FLAGS2,
  /** One bit per 32-bit register word (reg0..15 inside xreg / xxreg). */
  REGS,
  TUN_METADATA0,
  TUN_METADATA1,
  TCI_MASK,
  TCI,
  TOS_MASK,
  PACKET_TYPE,
  ETH_TYPE,
  NW_PROTO,
  TP_SRC,
  TP_DST,
  NW_FRAG,
  CT_STATE,
  CT_STATE_MASK,
  /** Bit `p` set when prerequisite class p holds; all bits when reading loosely. */
  OK,
  /** 0 when checking prerequisites (oxm_pull_match), -1 when not (oxm_pull_match_loose). */
  LOOSE,
  LENGTH,
}

/** Rule.sets of a field whose value no prerequisite reads. */
const NO_VALUE = -1;

/** What the decoder needs of one code point, in one fixed-shape object (see oxm.ts on classes). */
interface Rule {
  readonly name: string;
  /** Value length in bytes. */
  readonly length: number;
  /** False for the fields OVS 3.1 does not implement (in_phy_port, pbb_isid, ipv6_exthdr): OFPBMC_BAD_FIELD. */
  readonly known: boolean;
  /** Unmasked, such a field needs no value check and records only its flag: value ANY, slot FLAG, sets nothing. */
  readonly plain: boolean;
  /** 1 << prereq, 0 for P.NONE. */
  readonly need: number;
  readonly value: V;
  readonly slot: S;
  /** For S.FLAG: which of the 32-bit flag words (K.FLAGS0..2) and which bit. For S.REG: the first register. */
  readonly word: number;
  readonly bit: number;
  /** The K index of the value this field sets, or NO_VALUE. */
  readonly sets: number;
  readonly maskable: boolean;
  readonly nBits: number;
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

const SETS: Readonly<Record<string, K>> = {
  packet_type: K.PACKET_TYPE,
  eth_type: K.ETH_TYPE,
  nw_proto: K.NW_PROTO,
  arp_op: K.NW_PROTO,
  tcp_src: K.TP_SRC,
  udp_src: K.TP_SRC,
  sctp_src: K.TP_SRC,
  icmp_type: K.TP_SRC,
  icmpv6_type: K.TP_SRC,
  tcp_dst: K.TP_DST,
  udp_dst: K.TP_DST,
  sctp_dst: K.TP_DST,
  icmp_code: K.TP_DST,
  icmpv6_code: K.TP_DST,
  ip_frag: K.NW_FRAG,
  ct_state: K.CT_STATE,
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
      word = K.FLAGS0 + (n >> 5);
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
    const prereq = PREREQS[o] ?? (o.startsWith('nsh_') ? P.NSH : P.NONE);
    const sets = SETS[o] ?? NO_VALUE;
    rules.push({
      name: info.name,
      length: info.length,
      known: !NOT_IN_OVS.has(o),
      plain: value === V.ANY && slot === S.FLAG && sets === NO_VALUE,
      need: prereq === P.NONE ? 0 : 1 << prereq,
      value,
      slot,
      word,
      bit,
      sets,
      maskable: info.maskable,
      nBits: info.nBits,
    });
  }
  if (members.size > 96) throw new Error('match-check: more flow members than flag bits');
  return rules;
}

/** Indexed by FieldInfo.rank. */
const RULES: readonly Rule[] = buildRules();
const PACKET_TYPE_RULE = RULES[FIELDS.findIndex((f) => f.name === 'packet_type')]!;
if (PACKET_TYPE_RULE.word !== K.FLAGS0) throw new Error('match-check: packet_type must have a flag in the first word');
const PACKET_TYPE_BIT = PACKET_TYPE_RULE.bit;

/** The rules of the three classes nearly every field is in, by field number: one load from the header. */
const rulesOfClass = (cls: number): (Rule | undefined)[] => {
  const out = new Array<Rule | undefined>(128).fill(undefined);
  for (const f of FIELDS) if (f.oxmClass === cls && f.experimenter === undefined) out[f.oxmField] = RULES[f.rank];
  return out;
};
const BASIC_RULES = rulesOfClass(OFPXMC.OPENFLOW_BASIC);
const NXM0_RULES = rulesOfClass(OFPXMC.NXM_0);
const NXM1_RULES = rulesOfClass(OFPXMC.NXM_1);

/** The rule of the code point a header (and experimenter id, for class 0xffff) names, as fieldByHeader finds it. */
function ruleOf(header: number, experimenter: number | undefined): Rule | undefined {
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  if (cls === OFPXMC.OPENFLOW_BASIC) return BASIC_RULES[field];
  if (cls === OFPXMC.NXM_1) return NXM1_RULES[field];
  if (cls === OFPXMC.NXM_0) return NXM0_RULES[field];
  const info = fieldByHeader(header, experimenter);
  return info === undefined ? undefined : RULES[info.rank];
}

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
  return RULES[info.rank]!.need !== 0;
}

/** The match being decoded (see K). Decoding is synchronous and a match holds no match: one is enough. */
const state = new Int32Array(K.LENGTH);

const bit = (p: P): number => 1 << p;

/** The prerequisite classes the flow values in `state` satisfy (mf_are_prereqs_ok, for every class at once). */
function satisfied(): number {
  const pt = state[K.PACKET_TYPE]!;
  // get_dl_type: the ethertype packet_type names, if it names one.
  const dl = pt === 0 ? state[K.ETH_TYPE]! : pt >>> 16 === 1 ? pt & 0xffff : 0x5ff;
  const proto = state[K.NW_PROTO]!;
  const laterFragment = (state[K.NW_FRAG]! & FRAG_LATER) !== 0;
  let ok = bit(P.NONE) | (pt === 0 ? bit(P.ETHERNET) : 0);
  switch (dl) {
    case 0x0806:
    case 0x8035:
      ok |= bit(P.ARP);
      break;
    case 0x8847:
    case 0x8848:
      ok |= bit(P.MPLS);
      break;
    case 0x894f:
      ok |= bit(P.NSH);
      break;
    case ETH_IP:
      ok |= bit(P.IPV4) | bit(P.IP_ANY) | (proto === 1 ? bit(P.ICMPV4) : 0);
      break;
    case ETH_IPV6:
      ok |= bit(P.IPV6) | bit(P.IP_ANY);
      if (proto === 58) {
        ok |= bit(P.ICMPV6);
        const type = state[K.TP_SRC]!;
        if (state[K.TP_DST] === 0 && (type === 135 || type === 136)) ok |= bit(P.ND) | bit(type === 135 ? P.ND_SOLICIT : P.ND_ADVERT);
      }
      break;
  }
  if ((dl === ETH_IP || dl === ETH_IPV6) && !laterFragment) ok |= proto === 6 ? bit(P.TCP) : proto === 17 ? bit(P.UDP) : proto === 132 ? bit(P.SCTP) : 0;
  if ((state[K.TCI]! & VLAN_CFI) !== 0) ok |= bit(P.VLAN_VID);
  const ct = state[K.CT_STATE]!;
  if ((ct & CS_VALID) !== 0 || ((ct & CS_TRACKED) !== 0 && (state[K.CT_STATE_MASK]! & CS_INVALID) !== 0 && (ct & CS_INVALID) === 0)) ok |= bit(P.CT_VALID);
  return ok | state[K.LOOSE]!;
}

if (K.CT_STATE_MASK !== 16 || K.OK !== 17 || K.LOOSE !== 18 || K.LENGTH !== 19) throw new Error('match-check: beginMatch clears words 0..16');

/** A match with nothing in it. */
const EMPTY_STATE = new Int32Array(K.LENGTH);

/** What `satisfied` gives for a match with nothing in it (state is all zeros here). */
const EMPTY_OK = satisfied();

/**
 * Starts a match: nothing matched yet. strict: oxm_pull_match (prerequisites checked, unknown fields refused); else
 * oxm_pull_match_loose.
 */
export function beginMatch(strict: boolean): void {
  // Written out: a loop over the 19 words measured as a sixth of a seed-shape match's decode.
  const s = state;
  s[0] = s[1] = s[2] = s[3] = s[4] = s[5] = s[6] = s[7] = s[8] = s[9] = s[10] = s[11] = s[12] = s[13] = s[14] = s[15] = s[16] = 0;
  s[K.OK] = strict ? EMPTY_OK : -1;
  s[K.LOOSE] = strict ? 0 : -1;
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

const prereqError = (r: Rule, at: number): CodecError => matchError(`match: '${RULE_OVS_NAME.get(r)}' without its prerequisites`, OFPBMC.BAD_PREREQ, at);
const dupError = (r: Rule, at: number, what: string): CodecError => matchError(`match: '${RULE_OVS_NAME.get(r)}' ${what}`, OFPBMC.DUP_FIELD, at);
/** For error messages only: the ovs-fields(7) name of a rule's field. */
const RULE_OVS_NAME = new Map<Rule, string>(FIELDS.map((f) => [RULES[f.rank]!, f.ovsName]));

/**
 * A field with a flag slot, no value check and no value to record, unmasked (Rule.plain): the usual case, nx_pull_raw's
 * checks reduced to two bit tests.
 */
function addPlain(r: Rule, at: number): void {
  const need = r.need;
  if ((state[K.OK]! & need) !== need) throw prereqError(r, at);
  const w = r.word;
  const flags = state[w]!;
  if ((flags & r.bit) !== 0) throw dupError(r, at, 'is matched twice');
  state[w] = flags | r.bit;
  // match_add_ethernet_prereq: any field with prerequisites pins packet_type to Ethernet.
  if (need !== 0) state[K.FLAGS0] = state[K.FLAGS0]! | PACKET_TYPE_BIT;
}

function isSet(r: Rule): boolean {
  switch (r.slot) {
    case S.FLAG:
      return (state[r.word]! & r.bit) !== 0;
    case S.VLAN_TCI:
      return state[K.TCI_MASK] !== 0;
    case S.VLAN_VID:
      return (state[K.TCI_MASK]! & 0x1fff) !== 0;
    case S.VLAN_PCP:
      return (state[K.TCI_MASK]! & 0xe000) !== 0;
    case S.DSCP:
      return (state[K.TOS_MASK]! & 0xfc) !== 0;
    case S.ECN:
      return (state[K.TOS_MASK]! & 0x03) !== 0;
    case S.REG:
      return false; // checked in addField, word by word
  }
}

/**
 * Adds one decoded field (after checkOxmValue) as nx_pull_raw does: prerequisites (strict only), then duplicates;
 * then records it. Throws CodecError(BAD_MATCH, BAD_PREREQ / DUP_FIELD).
 */
function addField(r: Rule, value: Uint8Array, mask: Uint8Array | undefined, at: number): void {
  if ((state[K.OK]! & r.need) !== r.need) throw prereqError(r, at);
  if (r.slot === S.REG) {
    // One bit per 32-bit register: set when its part of the mask is nonzero.
    const words = r.length >> 2;
    if ((state[K.REGS]! >>> r.word) & ((1 << words) - 1)) throw dupError(r, at, 'overlaps a register matched before');
    for (let i = 0; i < words; i++) if (word32(mask, i) !== 0) state[K.REGS] = state[K.REGS]! | (1 << (r.word + i));
  } else {
    if (isSet(r)) throw dupError(r, at, 'is matched twice');
    record(r, value, mask);
  }
  if (r.need !== 0) state[K.FLAGS0] = state[K.FLAGS0]! | PACKET_TYPE_BIT;
}

/** A tun_metadata field: matched once at most, whatever its mask (tun_metadata_set_match marks it present). */
function addTunMetadata(index: number, at: number): void {
  const bit = 1 << (index & 31);
  const k = index < 32 ? K.TUN_METADATA0 : K.TUN_METADATA1;
  if (state[k]! & bit) throw matchError(`match: 'tun_metadata${index}' is matched twice`, OFPBMC.DUP_FIELD, at);
  state[k] = state[k]! | bit;
}

function record(r: Rule, value: Uint8Array, mask: Uint8Array | undefined): void {
  // mf_set with an all-zero mask is mf_set_wild: the field stays unmatched.
  if (mask !== undefined && allBytes(mask, 0)) return;
  const slot = r.slot;
  if (slot === S.FLAG) {
    state[r.word] = state[r.word]! | r.bit;
    if (r.sets === NO_VALUE) return;
  }
  // Only the few fields below need their value (all of at most 4 bytes).
  const v = uint(value);
  const m = mask === undefined ? -1 : uint(mask);
  switch (slot) {
    case S.VLAN_TCI:
      state[K.TCI_MASK] = m & 0xffff;
      state[K.TCI] = v & m;
      break;
    case S.VLAN_VID:
      state[K.TCI_MASK] = state[K.TCI_MASK]! | (m & 0x1fff);
      state[K.TCI] = (state[K.TCI]! & ~0x1fff) | (v & m & 0x1fff);
      break;
    case S.VLAN_PCP:
      state[K.TCI_MASK] = state[K.TCI_MASK]! | 0xf000;
      state[K.TCI] = (state[K.TCI]! & 0x0fff) | ((v & 7) << 13) | VLAN_CFI;
      break;
    case S.DSCP:
      state[K.TOS_MASK] = state[K.TOS_MASK]! | 0xfc;
      return;
    case S.ECN:
      state[K.TOS_MASK] = state[K.TOS_MASK]! | 0x03;
      return;
  }
  if (r.sets !== NO_VALUE) setValue(r.sets, v, m);
  else state[K.OK] = satisfied();
}

/** Records a value prerequisites read (state index `k`) under mask `m`, and what it satisfies now. */
function setValue(k: number, v: number, m: number): void {
  // packet_type takes no mask but all-ones (and nw_proto's OVS slot is 8 bits wide, arp_op's wire value 16).
  state[k] = v & m & (k === K.NW_PROTO ? 0xff : -1);
  if (k === K.CT_STATE) state[K.CT_STATE_MASK] = m;
  state[K.OK] = satisfied();
}

/** The word (K.FLAGS0..2) and bit of a flag-slot field, by its ovs-fields(7) name. */
function flagOf(ovsName: string): readonly [number, number] {
  const info = FIELDS.find((f) => f.ovsName === ovsName)!;
  const r = RULES[info.rank]!;
  return [r.word, r.bit];
}
const [CT_NW_SRC_W, CT_NW_SRC_B] = flagOf('ct_nw_src');
const [CT_NW_DST_W, CT_NW_DST_B] = flagOf('ct_nw_dst');
const [CT_IPV6_SRC_W, CT_IPV6_SRC_B] = flagOf('ct_ipv6_src');
const [CT_IPV6_DST_W, CT_IPV6_DST_B] = flagOf('ct_ipv6_dst');

/** The flow values of the match decoded last (strictly), as the checks of a FLOW_MOD's actions against it read them. */
export interface MatchedFlow {
  packetType: number;
  dlType: number;
  nwProto: number;
  tci0: number;
  tci1: number;
  nwFrag: number;
  tpSrc: number;
  tpDst: number;
  ctState: number;
  ctStateMask: number;
  /** Whether the match sets bits of ct_nw_src/dst (4) or ct_ipv6_src/dst (6). */
  ctTuple4: boolean;
  ctTuple6: boolean;
  ethType: number;
}

/**
 * What the match just decoded put in OVS's struct flow (values under their masks), read from the state the checks
 * kept rather than from the decoded fields again: call it right after decodeMatch (strict) with the number of fields
 * it gave, before anything decodes another. decodeMatch begins no match for an empty one: then the flow is all zeros.
 */
export function matchedFlow(fields: number): MatchedFlow {
  const s = fields === 0 ? EMPTY_STATE : state;
  const dl = s[K.ETH_TYPE]!;
  return {
    packetType: s[K.PACKET_TYPE]! >>> 0,
    dlType: dl,
    nwProto: s[K.NW_PROTO]!,
    tci0: s[K.TCI]! & 0xffff,
    tci1: 0,
    nwFrag: s[K.NW_FRAG]!,
    tpSrc: s[K.TP_SRC]!,
    tpDst: s[K.TP_DST]!,
    ctState: s[K.CT_STATE]!,
    ctStateMask: s[K.CT_STATE_MASK]! >>> 0,
    ctTuple4: ((s[CT_NW_SRC_W]! & CT_NW_SRC_B) | (s[CT_NW_DST_W]! & CT_NW_DST_B)) !== 0,
    ctTuple6: ((s[CT_IPV6_SRC_W]! & CT_IPV6_SRC_B) | (s[CT_IPV6_DST_W]! & CT_IPV6_DST_B)) !== 0,
    ethType: dl,
  };
}

/** The index of a tun_metadata field (NXM_1 fields 40..103) from its header, else -1. */
export function tunMetadataIndex(header: number): number {
  if (header >>> 16 !== OFPXMC.NXM_1) return -1;
  const field = (header >>> 9) & 0x7f;
  return field >= 40 && field < 104 ? field - 40 : -1;
}

/** mf_is_mask_valid + mf_is_value_valid for a field OVS knows; throws BAD_MASK / BAD_VALUE. */
function checkOxmValue(r: Rule, value: Uint8Array, mask: Uint8Array | undefined, at: number): void {
  if (mask !== undefined && !r.maskable && !allBytes(mask, 0) && !allBytes(mask, 0xff)) throw matchError(`OXM: '${r.name}' takes no mask but all-zeros or all-ones`, OFPBMC.BAD_MASK, at);
  let ok = true;
  switch (r.value) {
    case V.ANY:
      return;
    case V.BITS: {
      let excess = value.length * 8 - r.nBits;
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
  if (!ok) throw matchError(`OXM: '${r.name}' cannot take the value 0x${Buffer.from(value).toString('hex')}`, OFPBMC.BAD_VALUE, at);
}

/**
 * One OXM TLV of a match, read as nx_pull_match_entry reads it, within `end` (the end of the match's TLVs, not of the
 * message), and adds it to the match begun by beginMatch. A field OVS does not know is OFPBMC_BAD_FIELD; read loosely
 * (oxm_pull_match_loose, packet-in) it is kept raw instead.
 */
export function decodeMatchOxm(r: Reader, end: number): OxmField {
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
  const rule = ruleOf(header, experimenter);
  if (rule !== undefined && rule.length === width && rule.known) {
    const value = r.bytes(width);
    if (!hasMask) {
      if (rule.plain) addPlain(rule, start);
      else {
        if (rule.value !== V.ANY) checkOxmValue(rule, value, undefined, start);
        if (rule.slot !== S.FLAG) addField(rule, value, undefined, start);
        else {
          // A flag slot, unmasked: addField's checks and record as addPlain does them, then the value if it has one.
          addPlain(rule, start);
          if (rule.sets !== NO_VALUE) setValue(rule.sets, uint(value), -1);
        }
      }
      return { field: rule.name, value };
    }
    const mask = r.bytes(width);
    r.pos = p + payload;
    checkOxmValue(rule, value, mask, start);
    addField(rule, value, mask, start);
    return { field: rule.name, value, mask };
  }
  const tunMetadata = tunMetadataIndex(header);
  if (tunMetadata >= 0 && !(hasMask && payload % 2 !== 0)) {
    // tun_metadata0..63 (NXM_NX_TUN_METADATA): any length; OVS knows them, the registry does not, so they stay raw.
    addTunMetadata(tunMetadata, start);
    const value = r.bytes(width);
    return hasMask ? { field: 'unknown', value, header, mask: r.bytes(width) } : { field: 'unknown', value, header };
  }
  const sameLength = rule !== undefined && rule.length === width;
  if (state[K.LOOSE] === 0) throw matchError(`OXM: field 0x${header.toString(16).padStart(8, '0')}${sameLength ? ` (${rule.name}, which Open vSwitch does not implement)` : rule ? ` (${rule.name} with a ${width}-byte value)` : ''} is unknown`, OFPBMC.BAD_FIELD, start);
  if (hasMask && payload % 2 !== 0) throw matchError(`OXM: masked field 0x${header.toString(16)} with odd length`, OFPBMC.BAD_LEN, start);
  const value = r.bytes(width);
  // A registry field OVS does not implement: kept under its name.
  if (sameLength) return hasMask ? { field: rule.name, value, mask: r.bytes(width) } : { field: rule.name, value };
  if (experimenter === undefined) return hasMask ? { field: 'unknown', value, header, mask: r.bytes(width) } : { field: 'unknown', value, header };
  return hasMask ? { field: 'unknown', value, header, experimenter, mask: r.bytes(width) } : { field: 'unknown', value, header, experimenter };
}
