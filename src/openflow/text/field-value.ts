// Field values as ovs-ofctl reads and prints them (lib/meta-flow.c mf_parse / mf_format): numbers, Ethernet,
// IPv4/IPv6 with CIDR or bitwise masks, OpenFlow ports, and the flag syntaxes of ct_state, tcp_flags and tun_flags.
import type { FieldInfo } from '../oxm-fields.js';
import { OFPP } from '../consts.js';
import { formatPort, formatPort16, parsePort } from './port-text.js';

export interface FieldValue {
  readonly value: Uint8Array;
  readonly mask?: Uint8Array;
}

const CT_STATE_FLAGS: readonly string[] = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'];
const TCP_FLAGS: readonly string[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns'];
/** packet_tcp_flag_to_string names the three reserved bits by their value in brackets. */
const TCP_FLAGS_PRINTED: readonly string[] = [...TCP_FLAGS, '[200]', '[400]', '[800]'];
const TUN_FLAGS: readonly string[] = ['oam'];
const FLAG_NAMES: Partial<Record<FieldInfo['format'], readonly string[]>> = { ct_state: CT_STATE_FLAGS, tcp_flags: TCP_FLAGS, tun_flags: TUN_FLAGS };

/** Bits of ct_state and tun_flags Open vSwitch keeps (its flow struct is narrower than the wire field). */
const CT_STATE_MASK = 0xffn;
const TUN_FLAGS_PUBLIC_MASK = 0x1n;
const TCP_FLAGS_MASK = 0x0fffn;

const FRAG_KEYWORDS: ReadonlyMap<string, readonly [number, number | undefined]> = new Map([
  ['no', [0, undefined]],
  ['first', [1, undefined]],
  ['later', [3, undefined]],
  ['yes', [1, 1]],
  ['not_later', [0, 2]],
]);

// ---- parsed flows' arrays ----

/**
 * Parsed flows are kept for as long as they are installed, and each is a few hundred bytes of small objects: an
 * array that was pushed to keeps its growth slack (16 slots or more) for that long. The arrays a parsed flow is made
 * of (its match, instructions, action lists) are handed out as exact-length copies instead, which also keeps a
 * flow's objects closer together for the encoder walking thousands of them.
 */
export const exactCopy = <T>(a: T[]): T[] => a.slice();

// ---- bytes <-> bigint ----

/**
 * Parsed values and masks are small (2-16 bytes) and a flow holds several; each as a Uint8Array of its own would
 * also carry an ArrayBuffer object and a backing store of its own (~150 bytes more per value on the heap). They are
 * carved instead out of shared zeroed slabs, like Buffer's pool: a view per value, never reused or rewritten, so
 * encoding many distinct flows touches fewer cache lines. Consumers already get views (decoded payloads are views).
 */
const SLAB_BYTES = 8192;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabPos = 0;

/** `n` zero bytes for a parsed value or mask: a view into the current slab (a fresh array when large). */
export function newBytes(n: number): Uint8Array {
  if (n > 64) return new Uint8Array(n);
  if (slabPos + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabPos = 0;
  }
  const v = new Uint8Array(slab, slabPos, n);
  slabPos += n;
  return v;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = 0; i < b.length; i++) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

export function bigIntToBytes(n: bigint, len: number): Uint8Array {
  const out = newBytes(len);
  for (let i = len - 1; i >= 0 && n > 0n; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

const isAllOnes = (b: Uint8Array): boolean => b.every((x) => x === 0xff);
const isAllZeros = (b: Uint8Array): boolean => b.every((x) => x === 0);

// ---- parsing ----

const bad = (text: string, info: FieldInfo, why?: string): Error => new Error(`bad value '${text}' for '${info.name}'${why ? `: ${why}` : ''}`);

/**
 * An unsigned integer as OVS's str_to_* and parse_int_string read one (strtoull with base 0): 0x-hex, octal when it
 * starts with 0 (`010` is 8, `08` is an error), decimal otherwise; no sign. Ports and table ids are decimal only
 * (parseDecimal).
 */
export function parseUint(text: string): bigint | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return BigInt(text);
  if (/^0[0-7]*$/.test(text)) return BigInt(`0o${text}`);
  if (/^[1-9][0-9]*$/.test(text)) return BigInt(text);
  return undefined;
}

/** A decimal number (str_to_uint(s, 10): port numbers, table ids), leading zeros allowed; no sign. */
export function parseDecimal(text: string): bigint | undefined {
  return /^[0-9]+$/.test(text) ? BigInt(text) : undefined;
}

function parseNumber(info: FieldInfo, text: string, bits: number, whole: string): bigint {
  const n = parseUint(text);
  if (n === undefined) throw bad(whole, info);
  if (n >> BigInt(bits) !== 0n) throw bad(whole, info, `does not fit in ${bits} bits`);
  return n;
}

export function parseMac(text: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i.test(text)) return undefined;
  const parts = text.split(':');
  const out = newBytes(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(parts[i]!, 16);
  return out;
}

export function parseIpv4(text: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  for (let i = 1; i <= 4; i++) {
    if (Number(m[i]) > 255) return undefined;
  }
  const out = newBytes(4);
  for (let i = 0; i < 4; i++) out[i] = Number(m[i + 1]);
  return out;
}

export function parseIpv6(text: string): Uint8Array | undefined {
  let s = text;
  let v4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (s.indexOf('.', lastColon) >= 0) {
    v4 = parseIpv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const want = v4 ? 6 : 8;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const parts = part.split(':');
    return parts.every((p) => /^[0-9a-f]{1,4}$/i.test(p)) ? parts.map((p) => parseInt(p, 16)) : undefined;
  };
  let all: number[] | undefined;
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return undefined;
    const head = groups(s.slice(0, dbl));
    const rest = groups(s.slice(dbl + 2));
    if (!head || !rest || head.length + rest.length >= want) return undefined;
    all = [...head, ...new Array<number>(want - head.length - rest.length).fill(0), ...rest];
  } else {
    all = groups(s);
    if (!all || all.length !== want) return undefined;
  }
  const out = newBytes(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** A CIDR prefix length as a mask of `len` bytes. */
export function prefixMask(bits: number, len: number): Uint8Array {
  const out = newBytes(len);
  for (let i = 0; i < len; i++) {
    const b = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = (0xff00 >> b) & 0xff;
  }
  return out;
}

function parseFlags(info: FieldInfo, text: string, names: readonly string[]): { value: bigint; mask?: bigint } | undefined {
  const bit = (name: string): bigint => {
    const i = names.indexOf(name.toLowerCase());
    if (i < 0) throw bad(text, info, `unknown flag '${name}'`);
    return 1n << BigInt(i);
  };
  if (/^[+-]/.test(text)) {
    let value = 0n;
    let mask = 0n;
    for (const m of text.matchAll(/([+-])([^+-]*)/g)) {
      const b = bit(m[2]!);
      if (mask & b) throw bad(text, info, `flag '${m[2]}' given twice`);
      mask |= b;
      if (m[1] === '+') value |= b;
    }
    return { value, mask };
  }
  if (/^[a-z]+(\|[a-z]+)*$/i.test(text)) {
    let value = 0n;
    for (const name of text.split('|')) value |= bit(name);
    return { value };
  }
  return undefined;
}

/** ovs-ofctl's normal form: Open vSwitch keeps fewer bits of some fields than the wire carries. */
function canonicalMask(info: FieldInfo, mask: bigint | undefined): bigint | undefined {
  const full = (1n << BigInt(8 * info.length)) - 1n;
  let m = mask;
  if (info.format === 'ct_state') m = (m ?? full) & CT_STATE_MASK;
  else if (info.format === 'tun_flags') m = (m ?? full) & TUN_FLAGS_PUBLIC_MASK;
  else if (info.format === 'frag' && m !== undefined && (m & 3n) === 3n) m = undefined;
  return m === full ? undefined : m;
}

function numeric(info: FieldInfo, text: string): { value: bigint; mask?: bigint } {
  const slash = text.indexOf('/');
  const vText = slash < 0 ? text : text.slice(0, slash);
  if (info.format === 'port' && slash < 0) {
    const p = parsePort(vText);
    if (p === undefined) throw bad(text, info, 'not a port number or name');
    // NXM_OF_IN_PORT is an OpenFlow 1.0 (16-bit) port.
    if (info.length === 2) {
      if (p > 0xffff && p < OFPP.MAX) throw bad(text, info, 'not an OpenFlow 1.0 port');
      return { value: BigInt(p >= OFPP.MAX ? p - 0xffff0000 : p) };
    }
    return { value: BigInt(p) };
  }
  if (info.format === 'frag' && slash < 0) {
    const kw = FRAG_KEYWORDS.get(vText);
    if (kw) return { value: BigInt(kw[0]), ...(kw[1] !== undefined && { mask: BigInt(kw[1]) }) };
  }
  if (info.format === 'packet_type' && slash < 0) {
    const m = /^\((\w+),(\w+)\)$/.exec(vText.replace(/\s+/g, ''));
    if (m) return { value: (parseNumber(info, m[1]!, 16, text) << 16n) | parseNumber(info, m[2]!, 16, text) };
  }
  const names = FLAG_NAMES[info.format];
  if (names && slash < 0) {
    const flags = parseFlags(info, text, names);
    if (flags) return flags;
  }
  const value = parseNumber(info, vText, info.nBits, text);
  if (slash < 0) return { value };
  return { value, mask: parseNumber(info, text.slice(slash + 1), 8 * info.length, text) };
}

function address(info: FieldInfo, text: string, parse: (s: string) => Uint8Array | undefined, what: string): FieldValue {
  const slash = text.indexOf('/');
  const value = parse(slash < 0 ? text : text.slice(0, slash));
  if (!value) throw bad(text, info, `invalid ${what} address`);
  if (slash < 0) return { value };
  const mText = text.slice(slash + 1);
  if (info.kind !== 'mac' && /^\d+$/.test(mText)) {
    const bits = Number(mText);
    if (bits > 8 * info.length) throw bad(text, info, `prefix length must be 0..${8 * info.length}`);
    return { value, mask: prefixMask(bits, info.length) };
  }
  const mask = parse(mText);
  if (!mask) throw bad(text, info, `invalid ${what} mask`);
  return { value, mask };
}

/**
 * Parses a value as ovs-ofctl does for `field=TEXT` (and `set_field:TEXT->field`): decimal or 0x numbers,
 * xx:xx:xx:xx:xx:xx, a.b.c.d, IPv6, `/prefix` or `/mask`, port names, ct_state / tcp_flags / tun_flags flag
 * syntax (`+trk-new`, `syn|ack`), ip_frag keywords. Like ovs-ofctl it returns the normal form: an all-ones mask
 * is dropped and value bits outside the mask are cleared. Throws an Error naming the offending text.
 */
export function parseFieldValue(info: FieldInfo, text: string): FieldValue {
  let value: Uint8Array;
  let mask: Uint8Array | undefined;
  if (info.kind === 'uint') {
    const n = numeric(info, text);
    if (n.mask !== undefined && !info.maskable) throw new Error(`field '${info.name}' does not support masking: '${text}'`);
    const m = canonicalMask(info, n.mask);
    value = bigIntToBytes(m === undefined ? n.value : n.value & m, info.length);
    mask = m === undefined ? undefined : bigIntToBytes(m, info.length);
  } else {
    const parse = info.kind === 'mac' ? parseMac : info.kind === 'ipv4' ? parseIpv4 : parseIpv6;
    ({ value, mask } = address(info, text, parse, info.kind === 'mac' ? 'Ethernet' : info.kind === 'ipv4' ? 'IPv4' : 'IPv6'));
    if (mask && !info.maskable) throw new Error(`field '${info.name}' does not support masking: '${text}'`);
    if (mask && isAllOnes(mask)) mask = undefined;
    if (mask) value = value.map((b, i) => b & mask![i]!);
  }
  return mask ? { value, mask } : { value };
}

// ---- formatting ----

/** Open vSwitch's ds_put_hex: 0x and the value without leading zeros; a zero value is "0". */
export function formatHex(b: Uint8Array): string {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return '0';
  let s = '0x' + b[i]!.toString(16);
  for (i++; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

export const formatMac = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
export const formatIpv4 = (b: Uint8Array): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

/** inet_ntop's IPv6 text: the longest run (2+) of zero groups becomes "::", IPv4-mapped/compatible in dotted form. */
export function formatIpv6(b: Uint8Array): string {
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  const v4 = best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff));
  const end = v4 ? 6 : 8;
  let s = '';
  for (let i = 0; i < end; i++) {
    if (i === best) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += g[i]!.toString(16);
  }
  if (v4) s += (s.endsWith(':') ? '' : ':') + formatIpv4(b.subarray(12));
  return s;
}

/** The prefix length of a CIDR mask, or -1 when the mask is not contiguous. */
export function cidrLength(mask: Uint8Array): number {
  let bits = 0;
  let i = 0;
  while (i < mask.length && mask[i] === 0xff) {
    bits += 8;
    i++;
  }
  if (i < mask.length) {
    const m = mask[i]!;
    const ones = [0x00, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe].indexOf(m);
    if (ones < 0) return -1;
    bits += ones;
    for (i++; i < mask.length; i++) if (mask[i] !== 0) return -1;
  }
  return bits;
}

/** ip_format_masked / ipv6_format_masked: the address, then /prefix for CIDR masks or /mask otherwise. */
export function formatIpMasked(value: Uint8Array, mask: Uint8Array | undefined): string {
  const fmt = value.length === 4 ? formatIpv4 : formatIpv6;
  if (!mask || isAllOnes(mask)) return fmt(value);
  const cidr = cidrLength(mask);
  return `${fmt(value)}/${cidr >= 0 ? cidr : fmt(mask)}`;
}

/** format_flags / format_flags_masked: `a|b` when every known bit is matched, `+a-b` otherwise. */
export function formatFlags(names: readonly string[], value: number, mask: number, allMask: number, sep = '|'): string {
  const name = (bit: number): string => names[Math.log2(bit)] ?? `0x${bit.toString(16)}`;
  if (mask === allMask) {
    if (value === 0) return '0';
    const parts: string[] = [];
    for (let bit = 1; bit <= value; bit *= 2) if (value & bit) parts.push(name(bit));
    return parts.join(sep);
  }
  if (mask === 0) return '0/0';
  let s = '';
  for (let bit = 1; bit <= mask; bit *= 2) if (mask & bit) s += (value & bit ? '+' : '-') + (names[Math.log2(bit)] ?? '[Unknown]');
  return s;
}

/** A flags field (ct_state, tcp_flags, tun_flags) the way ovs-ofctl prints it in a match. */
export function formatFlagsField(info: FieldInfo, value: Uint8Array, mask: Uint8Array | undefined): string {
  const v = Number(bytesToBigInt(value));
  const full = 2 ** (8 * info.length) - 1;
  const m = mask ? Number(bytesToBigInt(mask)) : full;
  if (info.format === 'ct_state') return formatFlags(CT_STATE_FLAGS, v, m & Number(CT_STATE_MASK), Number(CT_STATE_MASK));
  if (info.format === 'tcp_flags') return formatFlags(TCP_FLAGS_PRINTED, v, m & Number(TCP_FLAGS_MASK), Number(TCP_FLAGS_MASK));
  // Open vSwitch compares tun_flags masks with its private flag mask, so they always print as +oam / -oam.
  return formatFlags(TUN_FLAGS, v, m & Number(TUN_FLAGS_PUBLIC_MASK), 0xf);
}

/** The ip_frag value in ovs-ofctl's words (`nw_frag=later`). */
export function formatFrag(value: number, mask: number): string {
  switch (mask & 3) {
    case 3:
      return value & 1 ? (value & 2 ? 'later' : 'first') : value & 2 ? '<error>' : 'no';
    case 1:
      return value & 1 ? 'yes' : 'no';
    case 2:
      return value & 2 ? 'later' : 'not_later';
    default:
      return `0x${value.toString(16)}/0x${mask.toString(16)}`;
  }
}

/**
 * Formats a value (and mask) exactly as ovs-ofctl prints a field value outside a match, e.g. in
 * `set_field:VALUE->field` (lib/meta-flow.c mf_format). An all-ones mask prints as no mask.
 */
export function formatFieldValue(info: FieldInfo, value: Uint8Array, mask?: Uint8Array): string {
  if (mask) {
    if (isAllZeros(mask)) return 'ANY';
    if (isAllOnes(mask)) mask = undefined;
  }
  switch (info.format) {
    case 'mac':
      return mask ? `${formatMac(value)}/${formatMac(mask)}` : formatMac(value);
    case 'ipv4':
    case 'ipv6':
      return formatIpMasked(value, mask);
    case 'ct_state':
    case 'tcp_flags':
    case 'tun_flags':
      return formatFlagsField(info, value, mask);
    case 'frag':
      return formatFrag(value[0]!, mask ? mask[0]! : 0xff);
    case 'packet_type': {
      const n = Number(bytesToBigInt(value));
      if (!mask) return `(${n >>> 16},0x${(n & 0xffff).toString(16)})`;
      break;
    }
    case 'port': {
      const p = Number(bytesToBigInt(value));
      if (!mask) return info.length === 2 ? formatPort16(p) : formatPort(p);
      break;
    }
    case 'hex':
      return mask ? `${formatHex(value)}/${formatHex(mask)}` : formatHex(value);
    case 'decimal':
      break;
  }
  const dec = bytesToBigInt(value).toString();
  return mask ? `${dec}/${formatHex(mask)}` : dec;
}
