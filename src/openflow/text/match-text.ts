// The match part of ovs-ofctl's flow syntax for OpenFlow 1.3: `ip,nw_dst=10.0.0.0/8,tp_dst=80` to OXM fields in
// the order Open vSwitch puts them on the wire, and OXM fields back to the text `ovs-ofctl dump-flows` prints.
// Like Open vSwitch, parsing goes through a flow-like state (one L3 address slot for nw_src/arp_spa, one L4 slot
// for tp_src/tcp_src/udp_src/icmp_type, one VLAN TCI, one TOS byte, 16 registers) that is turned into OXM at the
// end, so `udp,tp_src=68` becomes udp_src and `xreg0=...` becomes reg0 and reg1, as ovs-ofctl sends them.
import type { Match, OxmField } from '../types.js';
import { checkPrerequisites } from '../match.js';
import { hasOvsPrereq, tunMetadataIndex } from '../match-check.js';
import { FIELDS, OFPVID_PRESENT, fieldByName, type FieldInfo, type Prereq } from '../oxm-fields.js';
import {
  bigIntToBytes,
  bytesToBigInt,
  exactCopy,
  formatFieldValue,
  formatFlagsField,
  formatFrag,
  formatHex,
  formatIpMasked,
  formatMac,
  parseFieldValue,
  parseUint,
} from './field-value.js';
import { formatPort } from './port-text.js';

export const OFP_DEFAULT_PRIORITY = 0x8000;

const ETH = { IP: 0x0800, IPV6: 0x86dd, ARP: 0x0806, RARP: 0x8035, MPLS: 0x8847, MPLSM: 0x8848 } as const;
const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, SCTP: 132, ICMPV6: 58 } as const;

/** Protocol shorthands: the eth_type and ip_proto each implies. */
export const PROTOCOL_SHORTHANDS: ReadonlyMap<string, readonly [number, number?]> = new Map<string, readonly [number, number?]>([
  ['ip', [ETH.IP]],
  ['ipv6', [ETH.IPV6]],
  ['arp', [ETH.ARP]],
  ['rarp', [ETH.RARP]],
  ['mpls', [ETH.MPLS]],
  ['mplsm', [ETH.MPLSM]],
  ['icmp', [ETH.IP, IPPROTO.ICMP]],
  ['icmp6', [ETH.IPV6, IPPROTO.ICMPV6]],
  ['tcp', [ETH.IP, IPPROTO.TCP]],
  ['tcp6', [ETH.IPV6, IPPROTO.TCP]],
  ['udp', [ETH.IP, IPPROTO.UDP]],
  ['udp6', [ETH.IPV6, IPPROTO.UDP]],
  ['sctp', [ETH.IP, IPPROTO.SCTP]],
  ['sctp6', [ETH.IPV6, IPPROTO.SCTP]],
]);

// Fields sharing one slot of Open vSwitch's flow struct; which OXM field a slot becomes depends on eth_type/ip_proto.
const SLOT_OF: ReadonlyMap<string, Slot> = new Map<string, Slot>([
  ['ip_src', 'l3src'],
  ['arp_spa', 'l3src'],
  ['ip_dst', 'l3dst'],
  ['arp_tpa', 'l3dst'],
  ['nw_proto', 'proto'],
  ['arp_op', 'proto'],
  ['tcp_src', 'l4src'],
  ['udp_src', 'l4src'],
  ['sctp_src', 'l4src'],
  ['icmp_type', 'l4src'],
  ['icmpv6_type', 'l4src'],
  ['tcp_dst', 'l4dst'],
  ['udp_dst', 'l4dst'],
  ['sctp_dst', 'l4dst'],
  ['icmp_code', 'l4dst'],
  ['icmpv6_code', 'l4dst'],
  ['arp_sha', 'sha'],
  ['nd_sll', 'sha'],
  ['arp_tha', 'tha'],
  ['nd_tll', 'tha'],
]);
type Slot = 'l3src' | 'l3dst' | 'proto' | 'l4src' | 'l4dst' | 'sha' | 'tha';

interface Setting {
  /** The key as written and the whole token, for error messages. */
  readonly key: string;
  readonly token: string;
  readonly value: bigint;
  readonly mask?: bigint;
}

/** One `key[=value]` of flow text. */
export interface MatchToken {
  readonly key: string;
  readonly value: string | undefined;
  readonly token: string;
}

const info = (name: string): FieldInfo => fieldByName(name)!;
const sameSetting = (a: Setting, b: Setting): boolean => a.value === b.value && a.mask === b.mask;

class MatchState {
  ethType?: Setting;
  readonly slots = new Map<Slot, Setting>();
  readonly fields = new Map<string, Setting>();
  vlanTci = 0;
  vlanMask = 0;
  vlanToken?: string;
  tos = 0;
  tosMask = 0;
  tosToken?: string;
  readonly regs: [bigint, bigint][] = Array.from({ length: 16 }, () => [0n, 0n]);
  regToken?: string;

  private put<K>(map: Map<K, Setting>, key: K, s: Setting): void {
    const old = map.get(key);
    if (old && !sameSetting(old, s)) throw new Error(`conflicting values for '${s.key}': '${old.token}' and '${s.token}'`);
    map.set(key, s);
  }

  setEthType(s: Setting): void {
    if (this.ethType && !sameSetting(this.ethType, s)) throw new Error(`conflicting eth_type: '${this.ethType.token}' and '${s.token}'`);
    this.ethType = s;
  }

  setSlot(slot: Slot, s: Setting): void {
    this.put(this.slots, slot, s);
  }

  setField(name: string, s: Setting): void {
    this.put(this.fields, name, s);
  }

  setReg(i: number, value: bigint, mask: bigint, token: string): void {
    const [v, m] = this.regs[i]!;
    if ((m & mask & (v ^ value)) !== 0n) throw new Error(`conflicting values for 'reg${i}' in '${token}'`);
    this.regs[i] = [(v & ~mask) | value, m | mask];
    this.regToken = token;
  }
}

function parseValue(fi: FieldInfo, key: string, text: string): { value: bigint; mask?: bigint } {
  try {
    const v = parseFieldValue(fi, text);
    return { value: bytesToBigInt(v.value), ...(v.mask && { mask: bytesToBigInt(v.mask) }) };
  } catch (e) {
    throw new Error((e as Error).message.replace(`'${fi.name}'`, `'${key}'`));
  }
}

function smallNumber(key: string, text: string, max: number): number {
  const n = parseUint(text);
  if (n === undefined || n > BigInt(max)) throw new Error(`bad value '${text}' for '${key}'`);
  return Number(n);
}

/**
 * A field by a name ovs-ofctl takes in a match (mf_from_name): its ovs-fields(7) name or an alias. The NXM_* / OXM_*
 * names are for field references (`NXM_NX_REG0[0..15]`) and are unknown keywords in a match.
 */
function matchFieldByName(key: string): FieldInfo | undefined {
  const fi = fieldByName(key);
  if (!fi) return undefined;
  const k = key.toLowerCase();
  return fi.ovsName === k || fi.name === k || fi.aliases.includes(k) ? fi : undefined;
}

/** Applies one `key=value` (or protocol shorthand) to the state. Returns false for a key it does not know. */
function apply(st: MatchState, t: MatchToken): boolean {
  const { key, value: text, token } = t;
  const proto = PROTOCOL_SHORTHANDS.get(key);
  if (proto && text === undefined) {
    st.setEthType({ key, token, value: BigInt(proto[0]) });
    if (proto[1] !== undefined) st.setSlot('proto', { key, token, value: BigInt(proto[1]) });
    return true;
  }
  const vlanKey = key === 'dl_vlan' || key === 'dl_vlan_pcp';
  const fi = vlanKey ? undefined : matchFieldByName(key);
  if (!fi && !vlanKey) return false;
  if (text === undefined || text === '') throw new Error(`field '${key}' needs a value`);
  if (key === 'dl_vlan') {
    const vid = smallNumber(key, text, 0xffff);
    if (vid === 0xffff) [st.vlanTci, st.vlanMask] = [0, 0xffff];
    else if (vid > 0xfff) throw new Error(`bad value '${text}' for 'dl_vlan'`);
    else [st.vlanTci, st.vlanMask] = [(st.vlanTci & ~0x1fff) | OFPVID_PRESENT | vid, st.vlanMask | 0x1fff];
    st.vlanToken = token;
    return true;
  }
  const primary = fi ? fieldByName(fi.ovsName)! : info('vlan_pcp');
  const { value, mask } = fi ? parseValue(fi, key, text) : { value: BigInt(smallNumber(key, text, 7)), mask: undefined };
  if (mask === 0n) return true; // a zero mask matches everything: ovs-ofctl drops the field.
  const s: Setting = { key, token, value, ...(mask !== undefined && { mask }) };
  const name = primary.name;
  const v = Number(value & 0xffffn);
  const slot = SLOT_OF.get(name);
  if (slot) {
    st.setSlot(slot, s);
    return true;
  }
  const full = (1n << BigInt(8 * primary.length)) - 1n;
  switch (name) {
    case 'eth_type':
      st.setEthType(s);
      return true;
    case 'vlan_pcp':
      [st.vlanTci, st.vlanMask] = [(st.vlanTci & ~0xe000) | (v << 13) | OFPVID_PRESENT, st.vlanMask | 0xf000];
      st.vlanToken = token;
      return true;
    case 'vlan_vid': {
      const m = Number(mask ?? 0x1fffn) & 0x1fff;
      [st.vlanTci, st.vlanMask] = [(st.vlanTci & ~0x1fff) | (v & m), (st.vlanMask & ~0x1fff) | m];
      st.vlanToken = token;
      return true;
    }
    case 'vlan_tci': {
      const m = Number(mask ?? 0xffffn);
      [st.vlanTci, st.vlanMask] = [v & m, m];
      st.vlanToken = token;
      return true;
    }
    case 'nw_tos':
      if (v & 3) throw new Error(`bad value '${text}' for '${key}': the low 2 bits (ECN) must be 0`);
      [st.tos, st.tosMask] = [(st.tos & 3) | v, st.tosMask | 0xfc];
      st.tosToken = token;
      return true;
    case 'ip_dscp':
      [st.tos, st.tosMask] = [(st.tos & 3) | (v << 2), st.tosMask | 0xfc];
      st.tosToken = token;
      return true;
    case 'nw_ecn':
      [st.tos, st.tosMask] = [(st.tos & 0xfc) | v, st.tosMask | 3];
      st.tosToken = token;
      return true;
  }
  const reg = /^(x{0,2})reg(\d+)$/.exec(name);
  if (reg) {
    // reg<i> is 32 bits, xreg<i> is reg<2i>..reg<2i+1>, xxreg<i> is reg<4i>..reg<4i+3>, most significant first.
    const n = 1 << reg[1]!.length;
    const m = mask ?? full;
    for (let j = 0; j < n; j++) {
      const shift = BigInt(32 * (n - 1 - j));
      st.setReg(Number(reg[2]) * n + j, (value >> shift) & 0xffffffffn, (m >> shift) & 0xffffffffn, token);
    }
    return true;
  }
  st.setField(name, s);
  return true;
}

function toOxm(target: FieldInfo, s: Setting): OxmField {
  if (s.value >> BigInt(target.nBits) !== 0n) throw new Error(`bad value '${s.token}' for '${target.name}'`);
  if (s.mask !== undefined && !target.maskable) throw new Error(`field '${target.name}' does not support masking: '${s.token}'`);
  const value = bigIntToBytes(s.value, target.length);
  return s.mask === undefined ? { field: target.name, value } : { field: target.name, value, mask: bigIntToBytes(s.mask, target.length) };
}

const exact = (name: string, value: number | bigint): OxmField => {
  const fi = info(name);
  return { field: fi.name, value: bigIntToBytes(BigInt(value), fi.length) };
};

interface Resolved {
  readonly ethType?: number;
  readonly ipProto?: number;
  readonly icmpv6Type?: number;
  readonly vlan: boolean;
}

function prereqMet(p: Prereq, r: Resolved, has: (name: string) => boolean): boolean {
  if (p.ethTypes && (r.ethType === undefined || !p.ethTypes.includes(r.ethType))) return false;
  if (p.ipProto !== undefined && r.ipProto !== p.ipProto) return false;
  if (p.icmpv6Types && (r.icmpv6Type === undefined || !p.icmpv6Types.includes(r.icmpv6Type))) return false;
  if (p.vlan && !r.vlan) return false;
  return p.field === undefined || has(p.field);
}

/** Turns the parsed state into OXM fields, in Open vSwitch's wire order. */
function build(st: MatchState): Match {
  const out: OxmField[] = [];
  const ethType = st.ethType ? Number(st.ethType.value) : undefined;
  if (st.ethType) out.push(toOxm(info('eth_type'), st.ethType));
  const isIp = ethType === ETH.IP;
  const isIp6 = ethType === ETH.IPV6;
  const isArp = ethType === ETH.ARP || ethType === ETH.RARP;
  const needs = (s: Setting, what: string): Error => new Error(`'${s.token}' needs ${what}`);

  const proto = st.slots.get('proto');
  let ipProto: number | undefined;
  if (proto) {
    if (isIp || isIp6) {
      out.push(toOxm(info('nw_proto'), proto));
      ipProto = Number(proto.value);
    } else if (isArp) out.push(toOxm(info('arp_op'), proto));
    else throw needs(proto, 'ip, ipv6, arp or rarp');
  }
  for (const [slot, v4, arp] of [
    ['l3src', 'ip_src', 'arp_spa'],
    ['l3dst', 'ip_dst', 'arp_tpa'],
  ] as const) {
    const s = st.slots.get(slot);
    if (!s) continue;
    if (isIp) out.push(toOxm(info(v4), s));
    else if (isArp) out.push(toOxm(info(arp), s));
    else throw needs(s, 'ip, arp or rarp');
  }
  let icmpv6Type: number | undefined;
  for (const [slot, names] of [
    ['l4src', { 6: 'tcp_src', 17: 'udp_src', 132: 'sctp_src', 1: 'icmp_type', 58: 'icmpv6_type' }],
    ['l4dst', { 6: 'tcp_dst', 17: 'udp_dst', 132: 'sctp_dst', 1: 'icmp_code', 58: 'icmpv6_code' }],
  ] as const) {
    const s = st.slots.get(slot);
    if (!s) continue;
    const name: string | undefined = ipProto === undefined ? undefined : (names as Record<number, string>)[ipProto];
    if (!name || (ipProto === IPPROTO.ICMP && !isIp) || (ipProto === IPPROTO.ICMPV6 && !isIp6)) throw needs(s, 'tcp, udp, sctp, icmp or icmp6');
    out.push(toOxm(info(name), s));
    if (name === 'icmpv6_type') icmpv6Type = Number(s.value);
  }
  for (const [slot, arp, nd, ndType] of [
    ['sha', 'arp_sha', 'nd_sll', 135],
    ['tha', 'arp_tha', 'nd_tll', 136],
  ] as const) {
    const s = st.slots.get(slot);
    if (!s) continue;
    if (isArp) out.push(toOxm(info(arp), s));
    else if (isIp6 && ipProto === IPPROTO.ICMPV6 && icmpv6Type === ndType) out.push(toOxm(info(nd), s));
    else throw needs(s, `arp, rarp or icmp6 with icmp_type=${ndType}`);
  }

  if (st.vlanMask) {
    const vid = st.vlanTci & 0x1fff;
    const vidMask = st.vlanMask & 0x1fff;
    if (vidMask === 0x1fff) out.push(exact('vlan_vid', vid));
    else if (vidMask) out.push({ ...exact('vlan_vid', vid), mask: bigIntToBytes(BigInt(vidMask), 2) });
    if (vid && st.vlanMask & 0xe000) out.push(exact('vlan_pcp', (st.vlanTci >> 13) & 7));
  }
  const vlan = out.some((f) => f.field === 'vlan_vid' && (f.value[0]! & (f.mask ? f.mask[0]! : 0xff) & 0x10) !== 0);

  if (st.tosMask) {
    if (!isIp && !isIp6) throw new Error(`'${st.tosToken}' needs ip or ipv6`);
    if (st.tosMask & 0xfc) out.push(exact('ip_dscp', st.tos >> 2));
    if (st.tosMask & 3) out.push(exact('nw_ecn', st.tos & 3));
  }
  st.regs.forEach(([v, m], i) => {
    if (m) out.push(m === 0xffffffffn ? exact(`reg${i}`, v) : { ...exact(`reg${i}`, v), mask: bigIntToBytes(m, 4) });
  });

  const r: Resolved = { ...(ethType !== undefined && { ethType }), ...(ipProto !== undefined && { ipProto }), ...(icmpv6Type !== undefined && { icmpv6Type }), vlan };
  for (const [name, s] of st.fields) {
    const fi = info(name);
    if (fi.prereq && !prereqMet(fi.prereq, r, (n) => st.fields.has(n))) throw needs(s, fi.prereq.name);
    out.push(toOxm(fi, s));
  }
  out.sort((a, b) => info(a.field).rank - info(b.field).rank);
  checkPrerequisites(out);
  return exactCopy(out);
}

/** Parses match tokens; tokens it does not know are returned for the caller (flow keywords, actions). */
export function parseMatchTokens(tokens: readonly MatchToken[]): { match: Match; rest: MatchToken[] } {
  const st = new MatchState();
  const rest: MatchToken[] = [];
  for (const t of tokens) if (!apply(st, t)) rest.push(t);
  return { match: build(st), rest };
}

/** Splits `a=b,c d=(e,f)` into tokens (comma or white space between them; `=` or `:` after the key). */
export function splitMatchTokens(text: string): MatchToken[] {
  const out: MatchToken[] = [];
  const re = /[^\s,=:()]+(?:[=:](?:\([^()]*\)|[^\s,])*)?/g;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(text)) !== null) {
    const gap = text.slice(last, m.index);
    if (/[^\s,]/.test(gap)) throw new Error(`syntax error near '${gap.trim()}'`);
    last = m.index + m[0].length;
    const tok = m[0];
    const sep = tok.search(/[=:]/);
    out.push(sep < 0 ? { key: tok, value: undefined, token: tok } : { key: tok.slice(0, sep), value: tok.slice(sep + 1), token: tok });
  }
  const tail = text.slice(last);
  if (/[^\s,]/.test(tail)) throw new Error(`syntax error near '${tail.trim()}'`);
  return out;
}

/** Parses a match in ovs-ofctl syntax (`ip,nw_dst=10.0.0.1,tp_dst=80` is an error: tp_dst needs tcp/udp/sctp). */
export function parseMatch(text: string): Match {
  const { match, rest } = parseMatchTokens(splitMatchTokens(text));
  if (rest.length) throw new Error(`unknown field '${rest[0]!.key}'`);
  return match;
}

// ---- formatting ----

interface View {
  readonly info: FieldInfo;
  readonly value: Uint8Array;
  readonly mask?: Uint8Array;
}

const num = (b: Uint8Array): number => Number(bytesToBigInt(b));
const maskNum = (v: View): number => (v.mask ? num(v.mask) : 2 ** (8 * v.info.length) - 1);
/** C's "%#x" */
const hexC = (n: number | bigint): string => (n === 0 || n === 0n ? '0' : `0x${n.toString(16)}`);

/** format_uint32_masked / format_be64_masked: %#x, and /%#x unless exact. */
const hexMasked = (v: View): string => `${hexC(bytesToBigInt(v.value))}${v.mask ? `/${hexC(bytesToBigInt(v.mask))}` : ''}`;
/** format_be16_masked: decimal when exact, 0x%x/0x%x otherwise. */
const be16Masked = (v: View): string => (v.mask ? `0x${num(v.value).toString(16)}/0x${num(v.mask).toString(16)}` : String(num(v.value)));
const macMasked = (v: View): string => formatMac(v.value) + (v.mask ? `/${formatMac(v.mask)}` : '');
const ipMasked = (v: View): string => formatIpMasked(v.value, v.mask);

/** How match_format prints each field, in its order (lib/match.c). */
const PRINTERS: readonly (readonly [string, string, (v: View) => string])[] = [
  ['pkt_mark', 'pkt_mark', hexMasked],
  ['recirc_id', 'recirc_id', hexMasked],
  ['dp_hash', 'dp_hash', hexMasked],
  ['conj_id', 'conj_id', (v) => String(num(v.value))],
  ['actset_output', 'actset_output', (v) => formatPort(num(v.value))],
  ['ct_state', 'ct_state', (v) => formatFlagsField(v.info, v.value, v.mask)],
  ['ct_zone', 'ct_zone', be16Masked],
  ['ct_mark', 'ct_mark', hexMasked],
  ['ct_label', 'ct_label', (v) => formatHex(v.value) + (v.mask ? `/${formatHex(v.mask)}` : '')],
  ['ct_nw_src', 'ct_nw_src', ipMasked],
  ['ct_ipv6_src', 'ct_ipv6_src', ipMasked],
  ['ct_nw_dst', 'ct_nw_dst', ipMasked],
  ['ct_ipv6_dst', 'ct_ipv6_dst', ipMasked],
  ['ct_nw_proto', 'ct_nw_proto', (v) => String(num(v.value))],
  ['ct_tp_src', 'ct_tp_src', be16Masked],
  ['ct_tp_dst', 'ct_tp_dst', be16Masked],
  ['packet_type', 'packet_type', (v) => `(${putU16(num(v.value) >>> 16)},${putU16(num(v.value) & 0xffff)})`],
  ['<shorthand>', '', () => ''],
  ['<regs>', '', () => ''],
  ['tun_id', 'tun_id', hexMasked],
  ['tun_src', 'tun_src', ipMasked],
  ['tun_dst', 'tun_dst', ipMasked],
  ['tun_ipv6_src', 'tun_ipv6_src', ipMasked],
  ['tun_ipv6_dst', 'tun_ipv6_dst', ipMasked],
  ['tun_gbp_id', 'tun_gbp_id', be16Masked],
  ['tun_gbp_flags', 'tun_gbp_flags', (v) => hexC(num(v.value))],
  // OVS 3.1 prints the ERSPAN and GTP-U fields by value alone (no mask), and only a nonzero one; the index only
  // under ERSPAN version 1, the direction and hardware id only under version 2.
  ['tun_erspan_ver', 'tun_erspan_ver', (v) => String(num(v.value))],
  ['tun_erspan_idx', 'tun_erspan_idx', (v) => hexC(num(v.value))],
  ['tun_erspan_dir', 'tun_erspan_dir', (v) => String(num(v.value))],
  ['tun_erspan_hwid', 'tun_erspan_hwid', (v) => hexC(num(v.value))],
  ['tun_gtpu_flags', 'gtpu_flags', (v) => hexC(num(v.value))],
  ['tun_gtpu_msgtype', 'gtpu_msgtype', (v) => String(num(v.value))],
  ['tun_flags', 'tun_flags', (v) => formatFlagsField(v.info, v.value, v.mask)],
  ['<tun_metadata>', '', () => ''],
  ['metadata', 'metadata', hexMasked],
  ['in_port', 'in_port', (v) => formatPort(num(v.value))],
  ['<vlan>', '', () => ''],
  ['eth_src', 'dl_src', macMasked],
  ['eth_dst', 'dl_dst', macMasked],
  ['<dl_type>', '', () => ''],
  ['ipv6_src', 'ipv6_src', ipMasked],
  ['ipv6_dst', 'ipv6_dst', ipMasked],
  ['ipv6_label', 'ipv6_label', (v) => `0x${num(v.value).toString(16).padStart(5, '0')}${v.mask ? `/0x${num(v.mask).toString(16).padStart(5, '0')}` : ''}`],
  ['arp_spa', 'arp_spa', ipMasked],
  ['arp_tpa', 'arp_tpa', ipMasked],
  ['ip_src', 'nw_src', ipMasked],
  ['ip_dst', 'nw_dst', ipMasked],
  ['<nw_proto>', '', () => ''],
  ['arp_sha', 'arp_sha', macMasked],
  ['arp_tha', 'arp_tha', macMasked],
  ['ip_dscp', 'nw_tos', (v) => String(num(v.value) << 2)],
  ['nw_tos', 'nw_tos', (v) => String(num(v.value) & 0xfc)],
  ['nw_ecn', 'nw_ecn', (v) => String(num(v.value) & 3)],
  ['nw_ttl', 'nw_ttl', (v) => String(num(v.value))],
  ['mpls_label', 'mpls_label', (v) => String(num(v.value))],
  ['mpls_tc', 'mpls_tc', (v) => String(num(v.value))],
  ['mpls_ttl', 'mpls_ttl', (v) => String(num(v.value))],
  ['mpls_bos', 'mpls_bos', (v) => String(num(v.value))],
  ['ip_frag', 'nw_frag', (v) => formatFrag(num(v.value), maskNum(v))],
  ['icmp_type', 'icmp_type', be16Masked],
  ['icmp_code', 'icmp_code', be16Masked],
  ['icmpv6_type', 'icmp_type', be16Masked],
  ['icmpv6_code', 'icmp_code', be16Masked],
  ['nd_target', 'nd_target', ipMasked],
  ['nd_sll', 'nd_sll', macMasked],
  ['nd_tll', 'nd_tll', macMasked],
  ['tcp_src', 'tp_src', be16Masked],
  ['udp_src', 'tp_src', be16Masked],
  ['sctp_src', 'tp_src', be16Masked],
  ['tcp_dst', 'tp_dst', be16Masked],
  ['udp_dst', 'tp_dst', be16Masked],
  ['sctp_dst', 'tp_dst', be16Masked],
  ['tcp_flags', 'tcp_flags', (v) => formatFlagsField(v.info, v.value, v.mask)],
];
const PRINTED = new Set(PRINTERS.map((p) => p[0]));

/** put_u16_masked (format_packet_type_masked): decimal up to 9, hex above. */
const putU16 = (n: number): string => (n > 9 ? `0x${n.toString(16)}` : String(n));

/** Fields match_format prints by value alone, when nonzero (and, for ERSPAN, under one version only). */
const VALUE_ONLY: readonly (readonly [string, number?])[] = [['tun_erspan_ver'], ['tun_erspan_idx', 1], ['tun_erspan_dir', 2], ['tun_erspan_hwid', 2], ['tun_gtpu_flags'], ['tun_gtpu_msgtype']];

/** Whether a (decoded, hence valid) field pins OVS's packet_type to Ethernet: one with prerequisites. */
function pinsEthernet(f: OxmField): boolean {
  const fi = fieldByName(f.field);
  return fi !== undefined && hasOvsPrereq(fi);
}

function shorthand(ethType: number | undefined, ipProto: number | undefined): [string | undefined, boolean] {
  if (ethType === ETH.IP || ethType === ETH.IPV6) {
    const v6 = ethType === ETH.IPV6;
    const named = { [IPPROTO.TCP]: 'tcp', [IPPROTO.UDP]: 'udp', [IPPROTO.SCTP]: 'sctp', [v6 ? IPPROTO.ICMPV6 : IPPROTO.ICMP]: 'icmp' }[ipProto ?? -1];
    if (named) return [named + (v6 ? '6' : ''), true];
    return [v6 ? 'ipv6' : 'ip', false];
  }
  const name = { [ETH.ARP]: 'arp', [ETH.RARP]: 'rarp', [ETH.MPLS]: 'mpls', [ETH.MPLSM]: 'mplsm' }[ethType ?? -1];
  return [name, false];
}

/** The VLAN part of match_format, from the 802.1Q TCI that vlan_vid / vlan_pcp / vlan_tci describe. */
function formatVlan(views: Map<string, View>): string | undefined {
  let tci = 0;
  let mask = 0;
  const tciView = views.get('vlan_tci');
  if (tciView) [tci, mask] = [num(tciView.value), maskNum(tciView)];
  const vid = views.get('vlan_vid');
  if (vid) [tci, mask] = [tci | (num(vid.value) & 0x1fff), mask | (maskNum(vid) & 0x1fff)];
  const pcp = views.get('vlan_pcp');
  if (pcp) [tci, mask] = [tci | (num(pcp.value) << 13) | OFPVID_PRESENT, mask | 0xf000];
  if (!mask) return undefined;
  const vidMask = mask & 0x0fff;
  const pcpMask = mask & 0xe000;
  if (mask & tci & OFPVID_PRESENT && (!vidMask || vidMask === 0xfff) && (!pcpMask || pcpMask === 0xe000) && (vidMask || pcpMask)) {
    return [vidMask ? `dl_vlan=${tci & 0xfff}` : '', pcpMask ? `dl_vlan_pcp=${tci >> 13}` : ''].filter(Boolean).join(',');
  }
  const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
  return mask === 0xffff ? `vlan_tci=${hex4(tci)}` : `vlan_tci=${hex4(tci)}/${hex4(mask)}`;
}

/** Registers as match_format prints them: reg0..reg15, with xreg / xxreg split into their 32-bit halves. */
function registers(views: Map<string, View>): string[] {
  const regs: [bigint, bigint][] = Array.from({ length: 16 }, () => [0n, 0n]);
  for (const [name, v] of views) {
    const m = /^(x{0,2})reg(\d+)$/.exec(name);
    if (!m) continue;
    const n = 1 << m[1]!.length;
    const value = bytesToBigInt(v.value);
    const mask = v.mask ? bytesToBigInt(v.mask) : (1n << BigInt(32 * n)) - 1n;
    for (let j = 0; j < n; j++) {
      const i = Number(m[2]) * n + j;
      const shift = BigInt(32 * (n - 1 - j));
      if (i < 16) regs[i] = [regs[i]![0] | ((value >> shift) & 0xffffffffn), regs[i]![1] | ((mask >> shift) & 0xffffffffn)];
    }
  }
  const out: string[] = [];
  regs.forEach(([v, m], i) => {
    if (m) out.push(`reg${i}=${hexC(v)}${m === 0xffffffffn ? '' : `/${hexC(m)}`}`);
  });
  return out;
}

/**
 * A match as `ovs-ofctl -O OpenFlow13 dump-flows` prints it (lib/match.c match_format): `priority=N,` first unless
 * it is 32768, protocol shorthands (`tcp` for eth_type=0x0800 + ip_proto=6), OVS's field order and names. Fields
 * Open vSwitch does not implement (pbb_isid, ipv6_exthdr, in_phy_port, unknown ones) are appended at the end.
 */
export function formatMatch(match: Match, priority: number = OFP_DEFAULT_PRIORITY): string {
  const views = new Map<string, View>();
  const extra: string[] = [];
  const tunMetadata: string[] = [];
  for (const f of match) {
    const fi = f.field === 'unknown' ? undefined : fieldByName(f.field);
    if (!fi && f.header !== undefined && tunMetadataIndex(f.header) >= 0) {
      const m = f.mask && !f.mask.every((b) => b === 0xff) ? `/${formatHex(f.mask)}` : '';
      tunMetadata[tunMetadataIndex(f.header)] = `tun_metadata${tunMetadataIndex(f.header)}=${formatHex(f.value)}${m}`;
      continue;
    }
    if (!fi) {
      const hdr = (f.header ?? 0).toString(16).padStart(8, '0');
      extra.push(`oxm_0x${hdr}${f.experimenter !== undefined ? `_0x${f.experimenter.toString(16)}` : ''}=${formatHex(f.value)}${f.mask ? `/${formatHex(f.mask)}` : ''}`);
      continue;
    }
    const allOnes = f.mask?.every((b) => b === 0xff);
    // An all-zero mask leaves the field unmatched (OVS's mf_set_wild): match_format has nothing to print.
    if (f.mask && !allOnes && f.mask.every((b) => b === 0)) continue;
    views.set(fi.ovsName, { info: fieldByName(fi.ovsName)!, value: f.value, ...(f.mask && !allOnes && { mask: f.mask }) });
  }
  const ethView = views.get('eth_type');
  const ethType = ethView && num(ethView.value);
  const protoView = views.get('nw_proto');
  const ipProto = protoView && num(protoView.value);
  const [proto, skipProto] = shorthand(ethType, ipProto);
  const erspanVer = views.get('tun_erspan_ver');
  const ver = erspanVer ? num(erspanVer.value) : 0;
  for (const [name, onlyVer] of VALUE_ONLY) {
    const v = views.get(name);
    if (v && (num(v.value) === 0 || (onlyVer !== undefined && ver !== onlyVer))) views.delete(name);
  }
  // packet_type: printed when it is not Ethernet, or (as "eth") in a match on recirc_id; any field with
  // prerequisites sets it to Ethernet (match_add_ethernet_prereq).
  // ct_tp_src / ct_tp_dst print only beside ct_nw_proto; tun_flags only when its mask has the public (oam) bit.
  if (!views.has('ct_nw_proto')) {
    views.delete('ct_tp_src');
    views.delete('ct_tp_dst');
  }
  const tunFlags = views.get('tun_flags');
  if (tunFlags && !(maskNum(tunFlags) & 1)) views.delete('tun_flags');
  const pt = views.get('packet_type');
  if (pt && num(pt.value) === 0) views.delete('packet_type');
  const eth = views.has('recirc_id') && !views.has('packet_type') && (pt !== undefined || match.some((f) => f.field !== 'unknown' && pinsEthernet(f)));

  const parts: string[] = [];
  if (priority !== OFP_DEFAULT_PRIORITY) parts.push(`priority=${priority}`);
  for (const [name, label, print] of PRINTERS) {
    switch (name) {
      case '<shorthand>':
        if (eth) parts.push('eth');
        if (proto) parts.push(proto);
        continue;
      case '<regs>':
        parts.push(...registers(views));
        continue;
      case '<tun_metadata>':
        for (const t of tunMetadata) if (t !== undefined) parts.push(t);
        continue;
      case '<vlan>': {
        const vlan = formatVlan(views);
        if (vlan) parts.push(vlan);
        continue;
      }
      case '<dl_type>':
        if (!proto && ethType !== undefined) parts.push(`dl_type=0x${ethType.toString(16).padStart(4, '0')}`);
        continue;
      case '<nw_proto>':
        if (protoView && !skipProto) parts.push(`nw_proto=${ipProto}`);
        else if (views.has('arp_op')) parts.push(`arp_op=${num(views.get('arp_op')!.value)}`);
        continue;
    }
    const v = views.get(name);
    if (v) parts.push(`${label}=${print(v)}`);
  }
  for (const [name, v] of views) {
    if (!PRINTED.has(name) && !/^(x{0,2})reg\d+$/.test(name) && !['eth_type', 'nw_proto', 'arp_op', 'vlan_vid', 'vlan_pcp', 'vlan_tci'].includes(name)) {
      parts.push(`${name}=${formatFieldValue(v.info, v.value, v.mask)}`);
    }
  }
  return [...parts, ...extra].join(',');
}

/** Every field name the match syntax knows (registry names and aliases, shorthands, dl_vlan, dl_vlan_pcp). */
export const MATCH_KEYWORDS: ReadonlySet<string> = new Set([...FIELDS.flatMap((f) => [f.name, ...f.aliases]), ...PROTOCOL_SHORTHANDS.keys(), 'dl_vlan', 'dl_vlan_pcp']);
