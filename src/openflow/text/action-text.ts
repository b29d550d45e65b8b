// ovs-ofctl action and instruction syntax: parse what `ovs-ofctl -O OpenFlow13 add-flow` accepts into the same
// Action values OVS would put on the wire, and print decoded actions exactly as `ovs-ofctl -O OpenFlow13
// dump-flows` does. Keyword parsers and action formatters are registries keyed by keyword / Action['type'].

import { NX_VENDOR_ID, OFPP, OFPR } from '../consts.js';
import { NX_CT_F, NX_CT_RECIRC_NONE, NX_NAT_F, NX_NAT_RANGE, NX_HASH_FIELDS, NX_MP_ALG, NX_ACTION_SAMPLE, NXAST } from '../action-consts.js';
import { OFPXMC, fieldByName, nxmCodePoint, parseFieldValue, formatFieldValue } from '../oxm-fields.js';
import type { FieldInfo } from '../oxm-fields.js';
import { exactCopy, newBytes } from './field-value.js';
import type { Action, ActionType, Instruction, OxmField } from '../types.js';
import { formatLearn, parseLearn } from './learn-text.js';
import { ActionSyntaxError, formatSubfield, parseSubfield, type Subfield, fieldRefFor, hex0x, parseUint, parseBigUint } from './action-text-util.js';

export { ActionSyntaxError } from './action-text-util.js';

type ActionOf<T extends ActionType> = Extract<Action, { readonly type: T }>;

/** Flow context some keywords need (OVS reads it from the flow's match). */
export interface ActionParseContext {
  /** The match's ip_proto: mod_tp_src/mod_tp_dst set tcp_*, udp_* or sctp_* accordingly. */
  readonly ipProto?: number;
  /** The match requires a VLAN header; otherwise mod_vlan_vid/mod_vlan_pcp push one first, as OVS does. */
  readonly hasVlan?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting "a,b(c,d),e:f" into key/value pairs the way ofputil_parse_key_value does.

interface KeyValue {
  readonly key: string;
  /** The text after ':' or '=' or inside '(...)'; undefined for a bare keyword. */
  readonly value: string | undefined;
  readonly paren: boolean;
  /** The whole token, for error messages. */
  readonly token: string;
}

const isDelim = (c: string): boolean => c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';

export function splitKeyValues(text: string): KeyValue[] {
  const out: KeyValue[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isDelim(text[i]!)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isDelim(text[i]!) && text[i] !== ':' && text[i] !== '=' && text[i] !== '(') i++;
    const key = text.slice(start, i);
    if (i >= n || isDelim(text[i]!)) {
      out.push({ key, value: undefined, paren: false, token: key });
      continue;
    }
    const sep = text[i]!;
    i++;
    const vstart = i;
    let depth = sep === '(' ? 1 : 0;
    while (i < n) {
      const c = text[i]!;
      if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) throw new ActionSyntaxError(`unbalanced ')' in "${text.slice(start)}"`, text.slice(start));
        depth--;
        if (depth === 0 && sep === '(') break;
      } else if (depth === 0 && isDelim(c)) break;
      i++;
    }
    if (depth !== 0) throw new ActionSyntaxError(`missing ')' in "${text.slice(start)}"`, text.slice(start));
    if (sep === '(' && text.startsWith(')->', i)) {
      // "key(x)->dst" (check_pkt_larger): the value runs on to the next delimiter, as ofputil_parse_key_value does.
      while (i < n && !isDelim(text[i]!)) i++;
      out.push({ key, value: text.slice(vstart, i), paren: true, token: text.slice(start, i) });
      continue;
    }
    const value = text.slice(vstart, i);
    if (sep === '(') i++; // the closing paren
    out.push({ key, value, paren: sep === '(', token: text.slice(start, i) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Ports

const NAMED_PORTS: ReadonlyArray<readonly [string, number]> = [
  ['IN_PORT', OFPP.IN_PORT],
  ['TABLE', OFPP.TABLE],
  ['NORMAL', OFPP.NORMAL],
  ['FLOOD', OFPP.FLOOD],
  ['ALL', OFPP.ALL],
  ['CONTROLLER', OFPP.CONTROLLER],
  ['LOCAL', OFPP.LOCAL],
  ['ANY', OFPP.ANY],
];
const PORT_BY_NAME = new Map<string, number>(NAMED_PORTS.map(([k, v]) => [k, v]));
const NAME_BY_PORT = new Map<number, string>(NAMED_PORTS.map(([k, v]) => [v, k]));
PORT_BY_NAME.set('NONE', OFPP.ANY);

/** OF1.0's OFPP_MAX: 16-bit ports from here up are reserved. */
const OFP10_PORT_MAX = 0xff00;
/** What OVS adds to an OF1.0 reserved port to get the OF1.1+ one (OFPP11_OFFSET). */
const OFPP11_OFFSET = 0xffff0000;

/**
 * A port as ofputil_port_from_string reads it, in OF1.1+ (32-bit) numbering: a reserved name, a number below
 * 0x10000, or 0xffffff00 and up. OF1.0's reserved numbers 0xff00..0xffff mean their OF1.1+ counterparts
 * (`output:65534` is LOCAL, 0xfffffffe on the wire); numbers between the two ranges are rejected.
 */
function parsePort32(text: string, token: string): number {
  const named = PORT_BY_NAME.get(text.toUpperCase());
  if (named !== undefined) return named;
  // str_to_uint(s, 10): decimal only (ovs-ofctl calls `output:0xfffe` an unknown port).
  if (!/^\d+$/.test(text.trim())) throw new ActionSyntaxError(`${token}: unknown port "${text}"`, token);
  const p = parseUint(text, 0xffffffff, token, 'port');
  if (p >= OFP10_PORT_MAX && p <= 0xffff) return (p + OFPP11_OFFSET) >>> 0;
  if (p > 0xffff && p < OFPP.MAX) throw new ActionSyntaxError(`${token}: port ${p} is outside 0..0xffff and 0xffffff00..0xffffffff`, token);
  return p;
}

/** A Nicira 16-bit port (resubmit in_port, sample sampling_port): OVS's 16-bit form of what parsePort32 reads. */
function parsePort16(text: string, token: string): number {
  const p = parsePort32(text, token);
  return p >= OFPP.MAX ? p - OFPP11_OFFSET : p;
}

/** Reserved ports an output action may name (ofpact_check_output_port); any other port must be below OFPP_MAX. */
const OUTPUT_RESERVED = new Set<number>([OFPP.IN_PORT, OFPP.TABLE, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL]);

/** Reserved ports enqueue may name (ofpact_check_enqueue). */
const ENQUEUE_RESERVED = new Set<number>([OFPP.IN_PORT, OFPP.LOCAL]);

function parseOutputPort(text: string, token: string, reserved: ReadonlySet<number> = OUTPUT_RESERVED): number {
  const port = parsePort32(text, token);
  if (port >= OFPP.MAX && !reserved.has(port)) throw new ActionSyntaxError(`${token}: cannot output to port ${formatPort32(port)} (OFPBAC_BAD_OUT_PORT)`, token);
  return port;
}

export function formatPort32(port: number): string {
  return NAME_BY_PORT.get(port) ?? String(port);
}

function formatPort16(port: number): string {
  return port >= 0xfff8 ? (NAME_BY_PORT.get(port + 0xffff0000) ?? String(port)) : String(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parsers

type KeywordParser = (kv: KeyValue, ctx: ParseState) => Action[];

interface ParseState {
  readonly ctx: ActionParseContext;
  readonly depth: number;
  /** Whether the packet has a VLAN header at this point of the action list (pop_vlan/push_vlan change it). */
  readonly vlan: { present: boolean };
  /** The action this list is nested in, where that restricts it (ofpacts_verify_nested): ct's exec or write_actions. */
  readonly outer?: 'ct' | 'write_actions';
}

const nested = (st: ParseState, outer?: 'ct' | 'write_actions'): ParseState => ({ ctx: st.ctx, depth: st.depth + 1, vlan: { present: st.vlan.present }, ...(outer && { outer }) });

const MAX_TEXT_NESTING = 16;

const requireValue = (kv: KeyValue): string => {
  if (kv.value === undefined || kv.value === '') throw new ActionSyntaxError(`${kv.key}: missing argument`, kv.token);
  return kv.value;
};

const noValue = (kv: KeyValue): void => {
  if (kv.value !== undefined) throw new ActionSyntaxError(`${kv.key} takes no argument`, kv.token);
};

const simple =
  (make: () => Action): KeywordParser =>
  (kv) => {
    noValue(kv);
    return [make()];
  };

const ethertypeKeyword =
  (type: 'push_vlan' | 'push_mpls' | 'pop_mpls' | 'push_pbb'): KeywordParser =>
  (kv) => [{ type, ethertype: parseUint(requireValue(kv), 0xffff, kv.token, 'ethertype') }];

function lookupField(name: string, token: string): FieldInfo {
  const info = fieldByName(name);
  if (!info) throw new ActionSyntaxError(`${name}: unknown field`, token);
  return info;
}

/** set_field and the mod_* shorthands: one OFPAT_SET_FIELD, or reg_load(s) when only part of the field is set. */
function setField(given: FieldInfo, value: Uint8Array, mask: Uint8Array | undefined, token: string): Action[] {
  // OVS puts the field's OF1.3 code point (OXM when it has one) in set_field, whatever name the text used.
  const info = fieldByName(given.ovsName) ?? given;
  if (!mask || mask.every((b) => b === 0xff)) {
    return [{ type: 'set_field', field: { field: info.name, value } }];
  }
  const cp = nxmCodePoint(info);
  if (cp.oxmClass !== OFPXMC.NXM_0 && cp.oxmClass !== OFPXMC.NXM_1) {
    if (!info.maskable) throw new ActionSyntaxError(`${info.name} cannot be partially set`, token);
    return [{ type: 'nx_reg_load2', field: { field: info.name, value, mask } }];
  }
  // OVS's set_field_to_nxast: one NXAST_REG_LOAD per run of contiguous mask bits (at most 64 bits each).
  const dst = fieldRefFor(info);
  const width = info.length * 8;
  const bit = (b: Uint8Array, i: number): number => (b[b.length - 1 - (i >> 3)]! >> (i & 7)) & 1;
  const out: Action[] = [];
  for (let i = 0; i < width; ) {
    if (!bit(mask, i)) {
      i++;
      continue;
    }
    const ofs = i;
    let v = 0n;
    while (i < width && bit(mask, i) && i - ofs < 64) {
      if (bit(value, i)) v |= 1n << BigInt(i - ofs);
      i++;
    }
    out.push({ type: 'nx_reg_load', ofs, nBits: i - ofs, dst, value: v });
  }
  return out;
}

function parseSetFieldArg(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.lastIndexOf('->');
  if (arrow < 0) throw new ActionSyntaxError(`set_field: missing "->" in ${kv.token}`, kv.token);
  const info = lookupField(text.slice(arrow + 2), kv.token);
  let parsed: { value: Uint8Array; mask?: Uint8Array };
  try {
    parsed = parseFieldValue(info, text.slice(0, arrow));
  } catch (e) {
    throw new ActionSyntaxError(`${kv.token}: ${(e as Error).message}`, kv.token);
  }
  return setField(info, parsed.value, parsed.mask, kv.token);
}

/** mod_dl_src:X and friends: set_field on a fixed field, value in that field's own syntax. */
const modKeyword =
  (fieldName: string, transform?: (v: number) => number): KeywordParser =>
  (kv) => {
    const info = lookupField(fieldName, kv.token);
    const text = requireValue(kv);
    let value: Uint8Array;
    try {
      if (transform) {
        const n = transform(parseUint(text, 0xffffffff, kv.token, kv.key));
        value = newBytes(info.length);
        for (let i = info.length - 1, x = n; i >= 0; i--, x = Math.floor(x / 256)) value[i] = x & 0xff;
      } else {
        value = parseFieldValue(info, text).value;
      }
    } catch (e) {
      if (e instanceof ActionSyntaxError) throw e;
      throw new ActionSyntaxError(`${kv.token}: ${(e as Error).message}`, kv.token);
    }
    return setField(info, value, undefined, kv.token);
  };

/** OpenFlow 1.0 semantics of mod_vlan_*: push an 802.1Q header first when the packet has none. */
const withVlan =
  (inner: KeywordParser): KeywordParser =>
  (kv, st) => {
    const out = inner(kv, st);
    if (st.vlan.present) return out;
    return [{ type: 'push_vlan', ethertype: 0x8100 }, ...out];
  };

const L4_PREFIX: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

const modTp =
  (which: 'src' | 'dst'): KeywordParser =>
  (kv, st) => {
    const proto = st.ctx.ipProto;
    const prefix = proto === undefined ? undefined : L4_PREFIX[proto];
    if (!prefix) throw new ActionSyntaxError(`${kv.token}: needs a tcp, udp or sctp match`, kv.token);
    return modKeyword(`${prefix}_${which}`)(kv, st);
  };

function parseLoad(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.indexOf('->');
  if (arrow < 0) throw new ActionSyntaxError(`load: missing "->" in ${kv.token}`, kv.token);
  const sf = parseSubfield(text.slice(arrow + 2), kv.token);
  if (sf.nBits > 64) throw new ActionSyntaxError(`${kv.token}: load of more than 64 bits is not supported`, kv.token);
  const value = parseBigUint(text.slice(0, arrow), kv.token);
  if (sf.nBits < 64 && value >> BigInt(sf.nBits) !== 0n) {
    throw new ActionSyntaxError(`${kv.token}: value does not fit in ${sf.nBits} bits`, kv.token);
  }
  return [{ type: 'nx_reg_load', ofs: sf.ofs, nBits: sf.nBits, dst: sf.ref, value }];
}

function parseMove(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.indexOf('->');
  if (arrow < 0) throw new ActionSyntaxError(`move: missing "->" in ${kv.token}`, kv.token);
  const src = parseSubfield(text.slice(0, arrow), kv.token);
  const dst = parseSubfield(text.slice(arrow + 2), kv.token);
  if (src.nBits !== dst.nBits) {
    throw new ActionSyntaxError(`${kv.token}: source is ${src.nBits} bits but destination is ${dst.nBits}`, kv.token);
  }
  return [{ type: 'nx_reg_move', nBits: src.nBits, srcOfs: src.ofs, dstOfs: dst.ofs, src: src.ref, dst: dst.ref }];
}

/** check_pkt_larger(LEN)->DST[BIT]: the tokenizer hands over "LEN)->DST[BIT]". */
function parseCheckPktLarger(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.indexOf(')->');
  if (!kv.paren || arrow < 0) throw new ActionSyntaxError(`${kv.token}: expected check_pkt_larger(length)->field[bit]`, kv.token);
  const sf = parseSubfield(text.slice(arrow + 3), kv.token);
  if (sf.nBits !== 1) throw new ActionSyntaxError(`${kv.token}: Only 1-bit destination field is allowed`, kv.token);
  const pktLen = parseUint(text.slice(0, arrow), 0xffff, kv.token, 'length');
  return [{ type: 'nx_check_pkt_larger', pktLen, ofs: sf.ofs, dst: sf.ref }];
}

function parseOutput(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  if (kv.paren) throw new ActionSyntaxError(`${kv.token}: output(...) is not supported`, kv.token);
  if (!PORT_BY_NAME.has(text.toUpperCase()) && !/^\d+$/.test(text)) {
    const sf = parseSubfield(text, kv.token);
    if (sf.ref.header >>> 16 === 0xffff) return [{ type: 'nx_output_reg2', ofs: sf.ofs, nBits: sf.nBits, src: sf.ref, maxLen: 0xffff }];
    return [{ type: 'nx_output_reg', ofs: sf.ofs, nBits: sf.nBits, src: sf.ref, maxLen: 0xffff }];
  }
  return [outputTo(parseOutputPort(text, kv.token))];
}

const outputTo = (port: number): Action => ({ type: 'output', port, maxLen: port === OFPP.CONTROLLER ? 0xffff : 0 });

const REASONS: ReadonlyArray<readonly [string, number]> = [
  ['no_match', OFPR.NO_MATCH],
  ['action', OFPR.ACTION],
  ['invalid_ttl', OFPR.INVALID_TTL],
  ['action_set', 3],
  ['group', 4],
  ['packet_out', 5],
];

/** controller, controller:N, controller(key=value,...): the cheapest encoding OVS would choose. */
function parseController(kv: KeyValue): Action[] {
  let maxLen = 0xffff;
  let controllerId = 0;
  let reason: number = OFPR.ACTION;
  let userdata: Uint8Array | undefined;
  let pause = false;
  let meterId = 0;
  if (kv.value !== undefined && !kv.paren) {
    maxLen = parseUint(kv.value, 0xffff, kv.token, 'max_len');
  } else if (kv.value !== undefined) {
    for (const p of splitKeyValues(kv.value)) {
      const v = p.value ?? '';
      switch (p.key) {
        case 'max_len':
          maxLen = parseUint(v, 0xffff, kv.token, 'max_len');
          break;
        case 'id':
          controllerId = parseUint(v, 0xffff, kv.token, 'id');
          break;
        case 'reason': {
          const r = REASONS.find(([name]) => name === v);
          if (!r) throw new ActionSyntaxError(`${kv.token}: unknown reason "${v}"`, kv.token);
          reason = r[1];
          break;
        }
        case 'userdata':
          userdata = parseHexBytes(v, kv.token);
          break;
        case 'pause':
          pause = true;
          break;
        case 'meter_id':
          meterId = parseUint(v, 0xffffffff, kv.token, 'meter_id');
          break;
        default:
          throw new ActionSyntaxError(`${kv.token}: unknown controller argument "${p.key}"`, kv.token);
      }
    }
  }
  if (!userdata && !pause && meterId === 0) {
    if (reason === OFPR.ACTION && controllerId === 0) return [{ type: 'output', port: OFPP.CONTROLLER, maxLen }];
    return [{ type: 'nx_controller', maxLen, controllerId, reason }];
  }
  const a: { -readonly [K in keyof ActionOf<'nx_controller2'>]: ActionOf<'nx_controller2'>[K] } = { type: 'nx_controller2' };
  if (maxLen !== 0xffff) a.maxLen = maxLen;
  if (controllerId !== 0) a.controllerId = controllerId;
  if (reason !== OFPR.ACTION) a.reason = reason;
  if (userdata) a.userdata = userdata;
  if (pause) a.pause = true;
  if (meterId !== 0) a.meterId = meterId;
  return [a];
}

function parseHexBytes(text: string, token: string): Uint8Array {
  const digits = text.replace(/\./g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new ActionSyntaxError(`${token}: bad hex bytes "${text}"`, token);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function parseResubmit(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  if (!kv.paren) return [{ type: 'nx_resubmit', inPort: parsePort16(text, kv.token), table: 0xff }];
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length > 3) throw new ActionSyntaxError(`${kv.token}: too many arguments`, kv.token);
  const inPort = parts[0] ? parsePort16(parts[0], kv.token) : OFPP.IN_PORT - 0xffff0000;
  const table = parts[1] ? parseUint(parts[1], 0xfe, kv.token, 'table') : 0xff;
  if (!parts[0] && !parts[1]) throw new ActionSyntaxError(`${kv.token}: needs an in_port or a table`, kv.token);
  if (parts[2] !== undefined && parts[2] !== 'ct') throw new ActionSyntaxError(`${kv.token}: unknown argument "${parts[2]}"`, kv.token);
  if (parts[2] === 'ct') return [{ type: 'nx_resubmit', inPort, table, ct: true }];
  return [{ type: 'nx_resubmit', inPort, table }];
}

const ipv4ToNumber = (text: string, token: string): number => {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new ActionSyntaxError(`${token}: bad IPv4 address "${text}"`, token);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
};

function ipv6ToBytes(text: string, token: string): Uint8Array {
  const info = fieldByName('ipv6_src');
  if (!info) throw new ActionSyntaxError(`${token}: IPv6 not available`, token);
  try {
    return parseFieldValue(info, text).value;
  } catch {
    throw new ActionSyntaxError(`${token}: bad IPv6 address "${text}"`, token);
  }
}

/** nat, nat(src), nat(dst=A[-B][:P[-Q]],persistent,hash,random) */
function parseNat(kv: KeyValue): Action[] {
  const a: { -readonly [K in keyof ActionOf<'nx_nat'>]: ActionOf<'nx_nat'>[K] } = { type: 'nx_nat', flags: 0, rangePresent: 0 };
  if (kv.value !== undefined) {
    if (!kv.paren) throw new ActionSyntaxError(`${kv.token}: nat takes its arguments in parentheses`, kv.token);
    for (const p of splitKeyValues(kv.value)) {
      if (p.key === 'src' || p.key === 'dst') {
        if (a.flags & (NX_NAT_F.SRC | NX_NAT_F.DST)) throw new ActionSyntaxError(`${kv.token}: both src and dst`, kv.token);
        a.flags |= p.key === 'src' ? NX_NAT_F.SRC : NX_NAT_F.DST;
        if (p.value) parseNatRange(p.value, a, kv.token);
      } else if (p.key === 'persistent') a.flags |= NX_NAT_F.PERSISTENT;
      else if (p.key === 'hash') a.flags |= NX_NAT_F.PROTO_HASH;
      else if (p.key === 'random') a.flags |= NX_NAT_F.PROTO_RANDOM;
      else throw new ActionSyntaxError(`${kv.token}: unknown nat argument "${p.key}"`, kv.token);
    }
  }
  return [a];
}

function parseNatRange(text: string, a: { rangePresent: number; ipv4Min?: number; ipv4Max?: number; ipv6Min?: Uint8Array; ipv6Max?: Uint8Array; protoMin?: number; protoMax?: number }, token: string): void {
  let rest = text;
  let ports: string | undefined;
  if (rest.startsWith('[')) {
    // [v6]-[v6]:p-q
    const m = /^\[([^\]]+)\](?:-\[([^\]]+)\])?(?::(.*))?$/.exec(rest);
    if (!m) throw new ActionSyntaxError(`${token}: bad nat range "${text}"`, token);
    const min = ipv6ToBytes(m[1]!, token);
    a.ipv6Min = min;
    a.rangePresent |= NX_NAT_RANGE.IPV6_MIN;
    if (m[2]) {
      a.ipv6Max = ipv6ToBytes(m[2], token);
      a.rangePresent |= NX_NAT_RANGE.IPV6_MAX;
    }
    ports = m[3];
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0) {
      ports = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
    const [lo, hi] = rest.split('-');
    const min = ipv4ToNumber(lo!, token);
    if (min) {
      a.ipv4Min = min;
      a.rangePresent |= NX_NAT_RANGE.IPV4_MIN;
    }
    if (hi !== undefined) {
      const max = ipv4ToNumber(hi, token);
      if (max < min) throw new ActionSyntaxError(`${token}: nat address range is backwards`, token);
      if (max) {
        a.ipv4Max = max;
        a.rangePresent |= NX_NAT_RANGE.IPV4_MAX;
      }
    }
  }
  if (ports !== undefined) {
    const [lo, hi] = ports.split('-');
    const min = parseUint(lo!, 0xffff, token, 'port');
    if (min) {
      a.protoMin = min;
      a.rangePresent |= NX_NAT_RANGE.PROTO_MIN;
    }
    if (hi !== undefined) {
      const max = parseUint(hi, 0xffff, token, 'port');
      if (max < min) throw new ActionSyntaxError(`${token}: nat port range is backwards`, token);
      if (max) {
        a.protoMax = max;
        a.rangePresent |= NX_NAT_RANGE.PROTO_MAX;
      }
    }
  }
}

const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((b, i) => b === y[i]);

const ALGS: ReadonlyArray<readonly [string, number]> = [
  ['ftp', 21],
  ['tftp', 69],
];

function parseCt(kv: KeyValue, st: ParseState): Action[] {
  let flags = 0;
  let zone: Subfield | undefined;
  let zoneImm = 0;
  let recircTable = NX_CT_RECIRC_NONE;
  let alg = 0;
  const nat: Action[] = [];
  const exec: Action[] = [];
  if (kv.value !== undefined) {
    if (!kv.paren) throw new ActionSyntaxError(`${kv.token}: ct takes its arguments in parentheses`, kv.token);
    for (const p of splitKeyValues(kv.value)) {
      switch (p.key) {
        case 'commit':
          flags |= NX_CT_F.COMMIT;
          break;
        case 'force':
          flags |= NX_CT_F.FORCE;
          break;
        case 'table':
          recircTable = parseUint(p.value ?? '', 0xfe, kv.token, 'table');
          break;
        case 'zone':
          if (p.value && /^\d|^0x/i.test(p.value)) zoneImm = parseUint(p.value, 0xffff, kv.token, 'zone');
          else zone = parseSubfield(p.value ?? '', kv.token);
          break;
        case 'alg': {
          const found = ALGS.find(([name]) => name === p.value);
          alg = found ? found[1] : parseUint(p.value ?? '', 0xffff, kv.token, 'alg');
          break;
        }
        case 'nat':
          nat.push(...parseNat(p));
          break;
        case 'exec':
          exec.push(...parseActionList(p.value ?? '', nested(st, 'ct')));
          break;
        default:
          throw new ActionSyntaxError(`${kv.token}: unknown ct argument "${p.key}"`, kv.token);
      }
    }
  }
  const actions = [...nat, ...exec];
  if (zone) {
    return [{ type: 'nx_ct', flags, zoneSrc: zone.ref, zoneOfs: zone.ofs, zoneNBits: zone.nBits, zoneImm: 0, recircTable, alg, actions }];
  }
  return [{ type: 'nx_ct', flags, zoneOfs: 0, zoneNBits: 0, zoneImm, recircTable, alg, actions }];
}

function parseConjunction(kv: KeyValue): Action[] {
  const m = /^\s*(\w+)\s*,\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(requireValue(kv));
  if (!m) throw new ActionSyntaxError(`${kv.token}: expected conjunction(id,k/n)`, kv.token);
  const id = parseUint(m[1]!, 0xffffffff, kv.token, 'id');
  const k = Number(m[2]);
  const n = Number(m[3]);
  if (n < 2 || n > 64 || k < 1 || k > n) throw new ActionSyntaxError(`${kv.token}: clause ${k}/${n} out of range (2 <= n <= 64, 1 <= k <= n)`, kv.token);
  // On the wire the clause is zero-based.
  return [{ type: 'nx_conjunction', clause: k - 1, nClauses: n, id }];
}

function parseNote(kv: KeyValue): Action[] {
  const bytes = parseHexBytes(kv.value ?? '', kv.token);
  // OVS stores the note padded with zeros to the action's 8-byte boundary; the pad reads back as note bytes.
  const padded = new Uint8Array(((10 + bytes.length + 7) & ~7) - 10);
  padded.set(bytes);
  return [{ type: 'nx_note', note: padded }];
}

function parseDecTtl(kv: KeyValue): Action[] {
  if (kv.value === undefined) return [{ type: 'dec_nw_ttl' }];
  const ids = kv.value.split(',').map((s) => parseUint(s.trim(), 0xffff, kv.token, 'controller id'));
  return [{ type: 'nx_dec_ttl', controllerIds: ids }];
}

const HASH_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['eth_src', NX_HASH_FIELDS.ETH_SRC],
  ['symmetric_l4', NX_HASH_FIELDS.SYMMETRIC_L4],
  ['symmetric_l3l4', NX_HASH_FIELDS.SYMMETRIC_L3L4],
  ['symmetric_l3l4+udp', NX_HASH_FIELDS.SYMMETRIC_L3L4_UDP],
  ['nw_src', NX_HASH_FIELDS.NW_SRC],
  ['nw_dst', NX_HASH_FIELDS.NW_DST],
  ['symmetric_l3', NX_HASH_FIELDS.SYMMETRIC_L3],
];
const MP_ALGS: ReadonlyArray<readonly [string, number]> = [
  ['modulo_n', NX_MP_ALG.MODULO_N],
  ['hash_threshold', NX_MP_ALG.HASH_THRESHOLD],
  ['hrw', NX_MP_ALG.HRW],
  ['iter_hash', NX_MP_ALG.ITER_HASH],
];

function parseMultipath(kv: KeyValue): Action[] {
  const parts = requireValue(kv).split(',').map((s) => s.trim());
  if (parts.length !== 6) throw new ActionSyntaxError(`${kv.token}: expected multipath(fields,basis,algorithm,n_links,arg,dst)`, kv.token);
  const fields = HASH_FIELDS.find(([n]) => n === parts[0]);
  if (!fields) throw new ActionSyntaxError(`${kv.token}: unknown hash fields "${parts[0]}"`, kv.token);
  const alg = MP_ALGS.find(([n]) => n === parts[2]);
  if (!alg) throw new ActionSyntaxError(`${kv.token}: unknown algorithm "${parts[2]}"`, kv.token);
  const nLinks = parseUint(parts[3]!, 0x10000, kv.token, 'n_links');
  if (nLinks < 1) throw new ActionSyntaxError(`${kv.token}: n_links must be at least 1`, kv.token);
  const dst = parseSubfield(parts[5]!, kv.token);
  if (dst.nBits < 16 && nLinks > 2 ** dst.nBits) throw new ActionSyntaxError(`${kv.token}: ${dst.nBits} bits cannot hold ${nLinks} links`, kv.token);
  return [
    {
      type: 'nx_multipath',
      fields: fields[1],
      basis: parseUint(parts[1]!, 0xffff, kv.token, 'basis'),
      algorithm: alg[1],
      maxLink: nLinks - 1,
      arg: parseUint(parts[4]!, 0xffffffff, kv.token, 'arg'),
      ofs: dst.ofs,
      nBits: dst.nBits,
      dst: dst.ref,
    },
  ];
}

function parseSample(kv: KeyValue): Action[] {
  let probability: number | undefined;
  let collectorSetId = 0;
  let obsDomainId = 0;
  let obsPointId = 0;
  let samplingPort = 0xffff;
  let direction: number = NX_ACTION_SAMPLE.DEFAULT;
  for (const p of splitKeyValues(requireValue(kv))) {
    const v = p.value ?? '';
    if (p.key === 'probability') probability = parseUint(v, 0xffff, kv.token, 'probability');
    else if (p.key === 'collector_set_id') collectorSetId = parseUint(v, 0xffffffff, kv.token, p.key);
    else if (p.key === 'obs_domain_id') obsDomainId = parseUint(v, 0xffffffff, kv.token, p.key);
    else if (p.key === 'obs_point_id') obsPointId = parseUint(v, 0xffffffff, kv.token, p.key);
    else if (p.key === 'sampling_port') samplingPort = parsePort16(v, kv.token);
    else if (p.key === 'ingress') direction = NX_ACTION_SAMPLE.INGRESS;
    else if (p.key === 'egress') direction = NX_ACTION_SAMPLE.EGRESS;
    else throw new ActionSyntaxError(`${kv.token}: unknown sample argument "${p.key}"`, kv.token);
  }
  if (!probability) throw new ActionSyntaxError(`${kv.token}: probability must be between 1 and 65535`, kv.token);
  const base = { type: 'nx_sample', probability, collectorSetId, obsDomainId, obsPointId } as const;
  if (direction !== NX_ACTION_SAMPLE.DEFAULT) return [{ ...base, version: 3, samplingPort, direction }];
  if (samplingPort !== 0xffff) return [{ ...base, version: 2, samplingPort }];
  return [{ ...base, version: 1 }];
}

function parseFinTimeout(kv: KeyValue): Action[] {
  let finIdleTimeout = 0;
  let finHardTimeout = 0;
  for (const p of splitKeyValues(requireValue(kv))) {
    if (p.key === 'idle_timeout') finIdleTimeout = parseUint(p.value ?? '', 0xffff, kv.token, p.key);
    else if (p.key === 'hard_timeout') finHardTimeout = parseUint(p.value ?? '', 0xffff, kv.token, p.key);
    else throw new ActionSyntaxError(`${kv.token}: unknown fin_timeout argument "${p.key}"`, kv.token);
  }
  return [{ type: 'nx_fin_timeout', finIdleTimeout, finHardTimeout }];
}

/** NXAST_POP_QUEUE, which we do not model: kept as a raw experimenter action (OVS's enqueue emits it). */
const POP_QUEUE_RAW = Uint8Array.of(0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, NXAST.POP_QUEUE, 0, 0, 0, 0, 0, 0);
const popQueue = (): Action => ({ type: 'experimenter', experimenter: NX_VENDOR_ID, subtype: NXAST.POP_QUEUE, raw: POP_QUEUE_RAW });

function parseEnqueue(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const sep = text.includes(':') ? ':' : ',';
  const [port, queue] = text.split(sep);
  if (port === undefined || queue === undefined) throw new ActionSyntaxError(`${kv.token}: expected enqueue:PORT:QUEUE`, kv.token);
  return [{ type: 'set_queue', queueId: parseUint(queue, 0xffffffff, kv.token, 'queue') }, { type: 'output', port: parseOutputPort(port, kv.token, ENQUEUE_RESERVED), maxLen: 0xffff }, popQueue()];
}

const keywordParsers = new Map<string, KeywordParser>([
  ['output', parseOutput],
  ['controller', parseController],
  ['drop', (kv) => (noValue(kv), [])],
  ['mod_dl_src', modKeyword('eth_src')],
  ['mod_dl_dst', modKeyword('eth_dst')],
  ['mod_nw_src', modKeyword('ip_src')],
  ['mod_nw_dst', modKeyword('ip_dst')],
  ['mod_nw_tos', modKeyword('ip_dscp', (v) => v >> 2)],
  ['mod_nw_ecn', modKeyword('nw_ecn')],
  ['mod_tp_src', modTp('src')],
  ['mod_tp_dst', modTp('dst')],
  ['mod_vlan_vid', withVlan(modKeyword('vlan_vid', (v) => (v & 0xfff) | 0x1000))],
  ['mod_vlan_pcp', withVlan(modKeyword('vlan_pcp'))],
  ['mod_nw_ttl', (kv) => [{ type: 'set_nw_ttl', ttl: parseUint(requireValue(kv), 0xff, kv.token, 'ttl') }]],
  ['set_tunnel', modKeyword('tun_id')],
  ['set_tunnel64', modKeyword('tun_id')],
  ['set_mpls_label', modKeyword('mpls_label')],
  ['set_mpls_tc', modKeyword('mpls_tc')],
  ['strip_vlan', simple(() => ({ type: 'pop_vlan' }))],
  ['pop_vlan', simple(() => ({ type: 'pop_vlan' }))],
  ['push_vlan', ethertypeKeyword('push_vlan')],
  ['push_mpls', ethertypeKeyword('push_mpls')],
  ['pop_mpls', ethertypeKeyword('pop_mpls')],
  ['push_pbb', ethertypeKeyword('push_pbb')],
  ['pop_pbb', simple(() => ({ type: 'pop_pbb' }))],
  ['set_mpls_ttl', (kv) => [{ type: 'set_mpls_ttl', ttl: parseUint(requireValue(kv), 0xff, kv.token, 'ttl') }]],
  ['dec_mpls_ttl', simple(() => ({ type: 'dec_mpls_ttl' }))],
  ['copy_ttl_in', simple(() => ({ type: 'copy_ttl_in' }))],
  ['copy_ttl_out', simple(() => ({ type: 'copy_ttl_out' }))],
  ['set_queue', (kv) => [{ type: 'set_queue', queueId: parseUint(requireValue(kv), 0xffffffff, kv.token, 'queue') }]],
  ['pop_queue', simple(popQueue)],
  ['enqueue', parseEnqueue],
  ['group', (kv) => [{ type: 'group', groupId: parseUint(requireValue(kv), 0xffffffff, kv.token, 'group') }]],
  ['set_field', parseSetFieldArg],
  ['load', parseLoad],
  ['move', parseMove],
  ['resubmit', parseResubmit],
  ['clone', (kv, st) => [{ type: 'nx_clone', actions: parseActionList(kv.value ?? '', nested(st)) }]],
  ['ct', parseCt],
  ['ct_clear', simple(() => ({ type: 'nx_ct_clear' }))],
  ['nat', parseNat],
  ['conjunction', parseConjunction],
  ['learn', (kv) => [parseLearn(kv.value ?? '', kv.token)]],
  ['note', parseNote],
  ['dec_ttl', parseDecTtl],
  ['multipath', parseMultipath],
  ['exit', simple(() => ({ type: 'nx_exit' }))],
  ['sample', parseSample],
  ['fin_timeout', parseFinTimeout],
  ['check_pkt_larger', parseCheckPktLarger],
]);

/** Instruction keywords in the order OVS requires them (and encodes them). */
const INSTRUCTION_RANK = new Map<string, number>([
  ['meter', 0],
  ['apply_actions', 1],
  ['clear_actions', 2],
  ['write_actions', 3],
  ['write_metadata', 4],
  ['goto_table', 5],
]);

/** Keywords that are instructions, not actions (handled by parseInstructions). */
const INSTRUCTION_KEYWORDS = new Set(['goto_table', 'write_metadata', 'meter', 'clear_actions', 'write_actions', 'apply_actions']);

function parseOneAction(kv: KeyValue, st: ParseState): Action[] {
  const actions = parseOneActionRaw(kv, st);
  for (const a of actions) {
    checkNesting(a, st, kv);
    if (a.type === 'pop_vlan') st.vlan.present = false;
    else if (a.type === 'push_vlan') st.vlan.present = true;
  }
  return actions;
}

/** The field an action writes, if it writes one (ofpact_get_mf_dst). */
function writtenField(a: Action): string | undefined {
  switch (a.type) {
    case 'set_field':
    case 'nx_reg_load2':
      return a.field.field;
    case 'nx_reg_load':
    case 'nx_reg_move':
    case 'onf_copy_field':
      return a.dst.field;
    default:
      return undefined;
  }
}

/** ct_mark and ct_label may only be written inside ct(exec(...)) (field_requires_ct). */
const requiresCt = (field: string | undefined): boolean => {
  const info = field === undefined ? undefined : fieldByName(field);
  return info !== undefined && (info.ovsName === 'ct_mark' || info.ovsName === 'ct_label');
};

/**
 * What ofpacts_verify_nested rejects: writing ct_mark / ct_label outside ct's exec, nat outside ct, and anything
 * but writes of ct_mark / ct_label inside ct's exec.
 */
function checkNesting(a: Action, st: ParseState, kv: KeyValue): void {
  const field = writtenField(a);
  if (requiresCt(field) && st.outer !== 'ct') throw new ActionSyntaxError(`${kv.token}: cannot set CT fields outside of ct action`, kv.token);
  if (a.type === 'nx_nat') {
    if (st.outer !== 'ct') throw new ActionSyntaxError(`${kv.token}: cannot have NAT action outside of "ct" action`, kv.token);
    return;
  }
  if (st.outer !== 'ct') return;
  if (field === undefined) throw new ActionSyntaxError(`${kv.token}: ct action doesn't support nested action ${kv.key}`, kv.token);
  if (!requiresCt(field)) throw new ActionSyntaxError(`${kv.token}: ct action doesn't support nested modification of ${field}`, kv.token);
}

const dropAccompanied = (token: string): ActionSyntaxError => new ActionSyntaxError(`"drop" must not be accompanied by any other action or instruction`, token);

function parseOneActionRaw(kv: KeyValue, st: ParseState): Action[] {
  const parser = keywordParsers.get(kv.key.toLowerCase());
  if (parser) return parser(kv, st);
  if (kv.value === undefined) {
    // A bare port: "2", "LOCAL", "IN_PORT", "CONTROLLER".
    const upper = kv.key.toUpperCase();
    if (upper === 'CONTROLLER') return parseController(kv);
    if (PORT_BY_NAME.has(upper) || /^\d+$/.test(kv.key)) return [outputTo(parseOutputPort(kv.key, kv.token))];
  }
  if (INSTRUCTION_KEYWORDS.has(kv.key)) throw new ActionSyntaxError(`${kv.token}: instruction not allowed here`, kv.token);
  throw new ActionSyntaxError(`unknown action ${kv.key}`, kv.token);
}

function parseActionList(text: string, st: ParseState): Action[] {
  if (st.depth > MAX_TEXT_NESTING) throw new ActionSyntaxError(`actions nested more than ${MAX_TEXT_NESTING} deep`, text.slice(0, 40));
  const out: Action[] = [];
  let drop: string | undefined;
  for (const kv of splitKeyValues(text)) {
    if (kv.key.toLowerCase() === 'drop') drop = kv.token;
    out.push(...parseOneAction(kv, st));
  }
  if (drop !== undefined && out.length > 0) throw dropAccompanied(drop);
  return exactCopy(out);
}

/** Parses an ovs-ofctl action list ("output:1,resubmit(,10)"). Instructions are rejected; see parseInstructions. */
export function parseActions(text: string, ctx: ActionParseContext = {}): Action[] {
  return parseActionList(text, { ctx, depth: 0, vlan: { present: ctx.hasVlan ?? false } });
}

/**
 * Parses the text after `actions=`: plain actions become one apply_actions; goto_table, write_metadata, meter,
 * clear_actions and write_actions(...) become their instructions. `drop` or nothing gives no instructions.
 * Instructions must be written, and come out, in the order OVS uses (meter, apply, clear, write, metadata, goto).
 */
export function parseInstructions(text: string, ctx: ActionParseContext = {}): Instruction[] {
  const st: ParseState = { ctx, depth: 0, vlan: { present: ctx.hasVlan ?? false } };
  const apply: Action[] = [];
  let meter: Instruction | undefined;
  let clear: Instruction | undefined;
  let write: Instruction | undefined;
  let metadata: Instruction | undefined;
  let gotoTable: Instruction | undefined;
  const once = (seen: Instruction | undefined, kv: KeyValue): void => {
    if (seen) throw new ActionSyntaxError(`${kv.key}: instruction given twice`, kv.token);
  };
  // Like OVS, instructions must be written in the order OpenFlow 1.1+ executes them.
  let last: { rank: number; name: string } = { rank: -1, name: '' };
  let drop: string | undefined;
  for (const kv of splitKeyValues(text)) {
    if (kv.key.toLowerCase() === 'drop') {
      noValue(kv);
      drop = kv.token;
      continue;
    }
    const rank = INSTRUCTION_RANK.get(kv.key) ?? INSTRUCTION_RANK.get('apply_actions')!;
    const name = INSTRUCTION_RANK.has(kv.key) ? kv.key : 'apply_actions';
    if (rank < last.rank) throw new ActionSyntaxError(`${kv.token}: invalid instruction ordering: ${name} must appear before ${last.name}`, kv.token);
    last = { rank, name };
    switch (kv.key) {
      case 'meter':
        once(meter, kv);
        meter = { type: 'meter', meterId: parseUint(requireValue(kv), 0xffffffff, kv.token, 'meter') };
        break;
      case 'clear_actions':
        once(clear, kv);
        noValue(kv);
        clear = { type: 'clear_actions' };
        break;
      case 'write_actions':
        once(write, kv);
        write = { type: 'write_actions', actions: parseActionList(kv.value ?? '', nested(st, 'write_actions')) };
        break;
      case 'write_metadata': {
        once(metadata, kv);
        const [v, m] = requireValue(kv).split('/');
        metadata = { type: 'write_metadata', metadata: parseBigUint(v!, kv.token), mask: m === undefined ? 0xffffffffffffffffn : parseBigUint(m, kv.token) };
        break;
      }
      case 'goto_table':
        once(gotoTable, kv);
        gotoTable = { type: 'goto_table', tableId: parseUint(requireValue(kv), 0xfe, kv.token, 'table') };
        break;
      case 'apply_actions':
        apply.push(...parseActionList(kv.value ?? '', st));
        break;
      default:
        apply.push(...parseOneAction(kv, st));
    }
  }
  const out: Instruction[] = [];
  if (meter) out.push(meter);
  if (apply.length) out.push({ type: 'apply_actions', actions: exactCopy(apply) });
  if (clear) out.push(clear);
  if (write) out.push(write);
  if (metadata) out.push(metadata);
  if (gotoTable) out.push(gotoTable);
  if (drop !== undefined && out.length > 0) throw dropAccompanied(drop);
  return exactCopy(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Formatters

type Formatter<A extends Action> = (a: A) => string;

function formatOxmField(f: OxmField): string {
  const info = f.field === 'unknown' ? undefined : fieldByName(f.field);
  if (!info) return `set_field:0x${hex(f.value)}${f.mask ? `/0x${hex(f.mask)}` : ''}->unknown_0x${(f.header ?? 0).toString(16)}`;
  return `set_field:${formatFieldValue(info, f.value, f.mask)}->${info.ovsName}`;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const dotted = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('.');

function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function formatIpv6(b: Uint8Array): string {
  const info = fieldByName('ipv6_src');
  return info ? formatFieldValue(info, b) : hex(b);
}

function formatNat(a: ActionOf<'nx_nat'>): string {
  let s = 'nat';
  if (!(a.flags & (NX_NAT_F.SRC | NX_NAT_F.DST))) return s;
  s += a.flags & NX_NAT_F.SRC ? '(src' : '(dst';
  const p = a.rangePresent;
  if (p & NX_NAT_RANGE.IPV4_MIN) {
    s += `=${formatIpv4(a.ipv4Min ?? 0)}`;
    if (a.ipv4Max && a.ipv4Max !== a.ipv4Min) s += `-${formatIpv4(a.ipv4Max)}`;
  } else if (p & NX_NAT_RANGE.IPV6_MIN && a.ipv6Min) {
    s += `=[${formatIpv6(a.ipv6Min)}]`;
    if (a.ipv6Max && a.ipv6Max.some((x) => x) && !sameBytes(a.ipv6Max, a.ipv6Min)) s += `-[${formatIpv6(a.ipv6Max)}]`;
  }
  if (p & (NX_NAT_RANGE.IPV4_MIN | NX_NAT_RANGE.IPV6_MIN) && a.protoMin) {
    s += `:${a.protoMin}`;
    if (a.protoMax && a.protoMax !== a.protoMin) s += `-${a.protoMax}`;
  }
  if (a.flags & NX_NAT_F.PERSISTENT) s += ',persistent';
  if (a.flags & NX_NAT_F.PROTO_HASH) s += ',hash';
  if (a.flags & NX_NAT_F.PROTO_RANDOM) s += ',random';
  return `${s})`;
}

function formatCt(a: ActionOf<'nx_ct'>): string {
  const parts: string[] = [];
  if (a.flags & NX_CT_F.COMMIT) parts.push('commit');
  if (a.flags & NX_CT_F.FORCE) parts.push('force');
  if (a.recircTable !== NX_CT_RECIRC_NONE) parts.push(`table=${a.recircTable}`);
  if (a.zoneSrc) parts.push(`zone=${formatSubfield(a.zoneSrc, a.zoneOfs, a.zoneNBits)}`);
  else if (a.zoneImm) parts.push(`zone=${a.zoneImm}`);
  let rest = a.actions;
  if (rest[0]?.type === 'nx_nat') {
    parts.push(formatNat(rest[0]));
    rest = rest.slice(1);
  }
  if (rest.length) parts.push(`exec(${formatActions(rest)})`);
  if (a.alg) parts.push(`alg=${ALGS.find(([, n]) => n === a.alg)?.[0] ?? a.alg}`);
  return `ct(${parts.join(',')})`;
}

function formatControllerFields(maxLen: number, controllerId: number, reason: number, userdata?: Uint8Array, pause?: boolean, meterId?: number): string {
  if (reason === OFPR.ACTION && controllerId === 0 && !userdata?.length && !pause && !meterId) return `CONTROLLER:${maxLen}`;
  const parts: string[] = [];
  if (reason !== OFPR.ACTION) parts.push(`reason=${REASONS.find(([, n]) => n === reason)?.[0] ?? reason}`);
  if (maxLen !== 0xffff) parts.push(`max_len=${maxLen}`);
  if (controllerId !== 0) parts.push(`id=${controllerId}`);
  if (userdata?.length) parts.push(`userdata=${dotted(userdata)}`);
  if (pause) parts.push('pause');
  if (meterId) parts.push(`meter_id=${meterId}`);
  return `controller(${parts.join(',')})`;
}

function formatResubmit(a: ActionOf<'nx_resubmit'>): string {
  const table = a.table ?? 0xff;
  const inPortIsDefault = a.inPort === OFPP.IN_PORT - 0xffff0000;
  if (!inPortIsDefault && table === 0xff && !a.ct) return `resubmit:${formatPort16(a.inPort)}`;
  return `resubmit(${inPortIsDefault ? '' : formatPort16(a.inPort)},${table === 0xff ? '' : table}${a.ct ? ',ct' : ''})`;
}

function formatSample(a: ActionOf<'nx_sample'>): string {
  let s = `sample(probability=${a.probability},collector_set_id=${a.collectorSetId},obs_domain_id=${a.obsDomainId},obs_point_id=${a.obsPointId}`;
  if (a.version !== 1 && a.samplingPort !== undefined && a.samplingPort !== 0xffff) s += `,sampling_port=${formatPort16(a.samplingPort)}`;
  if (a.direction === NX_ACTION_SAMPLE.INGRESS) s += ',ingress';
  else if (a.direction === NX_ACTION_SAMPLE.EGRESS) s += ',egress';
  return `${s})`;
}

function formatFinTimeout(a: ActionOf<'nx_fin_timeout'>): string {
  const parts: string[] = [];
  if (a.finIdleTimeout) parts.push(`idle_timeout=${a.finIdleTimeout}`);
  if (a.finHardTimeout) parts.push(`hard_timeout=${a.finHardTimeout}`);
  return `fin_timeout(${parts.join(',')})`;
}

function formatExperimenter(a: ActionOf<'experimenter'>): string {
  if (a.experimenter === NX_VENDOR_ID && a.subtype === NXAST.POP_QUEUE && a.raw.length === 16) return 'pop_queue';
  return `experimenter(0x${a.experimenter.toString(16)},${dotted(a.raw)})`;
}

const formatters: { readonly [T in ActionType]: Formatter<ActionOf<T>> } = {
  output: (a) => (a.port === OFPP.CONTROLLER ? `CONTROLLER:${a.maxLen}` : a.port >= OFPP.MAX && NAME_BY_PORT.has(a.port) ? formatPort32(a.port) : `output:${formatPort32(a.port)}`),
  copy_ttl_out: () => 'copy_ttl_out',
  copy_ttl_in: () => 'copy_ttl_in',
  set_mpls_ttl: (a) => `set_mpls_ttl(${a.ttl})`,
  dec_mpls_ttl: () => 'dec_mpls_ttl',
  push_vlan: (a) => `push_vlan:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  pop_vlan: () => 'pop_vlan',
  push_mpls: (a) => `push_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  pop_mpls: (a) => `pop_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  set_queue: (a) => `set_queue:${a.queueId}`,
  group: (a) => `group:${a.groupId}`,
  set_nw_ttl: (a) => `mod_nw_ttl:${a.ttl}`,
  dec_nw_ttl: () => 'dec_ttl',
  set_field: (a) => formatOxmField(a.field),
  push_pbb: (a) => `push_pbb:0x${a.ethertype.toString(16).padStart(4, '0')}`,
  pop_pbb: () => 'pop_pbb',
  nx_resubmit: formatResubmit,
  nx_reg_move: (a) => `move:${formatSubfield(a.src, a.srcOfs, a.nBits)}->${formatSubfield(a.dst, a.dstOfs, a.nBits)}`,
  nx_reg_load: (a) => `load:${hex0x(a.value)}->${formatSubfield(a.dst, a.ofs, a.nBits)}`,
  nx_reg_load2: (a) => formatOxmField(a.field),
  nx_clone: (a) => `clone(${formatActions(a.actions)})`,
  nx_ct: formatCt,
  nx_ct_clear: () => 'ct_clear',
  nx_nat: formatNat,
  nx_conjunction: (a) => `conjunction(${a.id},${a.clause + 1}/${a.nClauses})`,
  nx_learn: (a) => formatLearn(a),
  nx_note: (a) => `note:${dotted(a.note)}`,
  nx_dec_ttl: (a) => (a.controllerIds ? `dec_ttl(${a.controllerIds.join(',')})` : 'dec_ttl'),
  nx_controller: (a) => formatControllerFields(a.maxLen, a.controllerId, a.reason),
  nx_controller2: (a) => formatControllerFields(a.maxLen ?? 0xffff, a.controllerId ?? 0, a.reason ?? OFPR.ACTION, a.userdata, a.pause, a.meterId),
  nx_output_reg: (a) => `output:${formatSubfield(a.src, a.ofs, a.nBits)}`,
  nx_output_reg2: (a) => `output:${formatSubfield(a.src, a.ofs, a.nBits)}`,
  nx_multipath: (a) =>
    `multipath(${HASH_FIELDS.find(([, n]) => n === a.fields)?.[0] ?? `<unknown ${a.fields}>`},${a.basis},${MP_ALGS.find(([, n]) => n === a.algorithm)?.[0] ?? `<unknown ${a.algorithm}>`},${a.maxLink + 1},${a.arg},${formatSubfield(a.dst, a.ofs, a.nBits)})`,
  nx_exit: () => 'exit',
  nx_sample: formatSample,
  nx_fin_timeout: formatFinTimeout,
  nx_check_pkt_larger: (a) => `check_pkt_larger(${a.pktLen})->${formatSubfield(a.dst, a.ofs, 1)}`,
  onf_copy_field: (a) => `move:${formatSubfield(a.src, a.srcOffset, a.nBits)}->${formatSubfield(a.dst, a.dstOffset, a.nBits)}`,
  experimenter: formatExperimenter,
};

export function formatAction(a: Action): string {
  return (formatters[a.type] as Formatter<Action>)(a);
}

/** Comma-separated actions as ovs-ofctl prints them; an empty list is "drop". */
export function formatActions(actions: readonly Action[]): string {
  if (actions.length === 0) return 'drop';
  return actions.map(formatAction).join(',');
}

const INSTRUCTION_ORDER: Readonly<Record<Instruction['type'], number>> = {
  meter: 0,
  apply_actions: 1,
  clear_actions: 2,
  write_actions: 3,
  write_metadata: 4,
  goto_table: 5,
  experimenter: 6,
};

function formatInstruction(i: Instruction): string | undefined {
  switch (i.type) {
    case 'meter':
      return `meter:${i.meterId}`;
    case 'apply_actions':
      return i.actions.length ? formatActions(i.actions) : undefined;
    case 'clear_actions':
      return 'clear_actions';
    case 'write_actions':
      return `write_actions(${formatActions(i.actions)})`;
    case 'write_metadata':
      return `write_metadata:${hex0x(i.metadata)}${i.mask === 0xffffffffffffffffn ? '' : `/${hex0x(i.mask)}`}`;
    case 'goto_table':
      return `goto_table:${i.tableId}`;
    case 'experimenter':
      return `experimenter_instruction(0x${i.experimenter.toString(16)},${dotted(i.raw)})`;
  }
}

/** The `actions=` text ovs-ofctl prints for these instructions ("drop" when there is nothing to do). */
export function formatInstructions(instructions: readonly Instruction[]): string {
  const sorted = [...instructions].sort((x, y) => INSTRUCTION_ORDER[x.type] - INSTRUCTION_ORDER[y.type]);
  const parts: string[] = [];
  for (const i of sorted) {
    const s = formatInstruction(i);
    if (s !== undefined) parts.push(s);
  }
  return parts.length ? parts.join(',') : 'drop';
}

// Re-exported for flow-text and tests.
export { fieldRefFor, formatSubfield, parseSubfield };
export type { Subfield };
