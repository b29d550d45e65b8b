// Parsers of the extension actions' keywords (Nicira and the OVS-specific ones): each takes one key/value token
// and gives the actions OVS would put on the wire for it. Keywords with nested action lists are in action-parse.ts.

import { NX_VENDOR_ID, OFPP, OFPR } from '../consts.js';
import { NX_ACTION_SAMPLE, NX_NAT_F, NX_NAT_RANGE, NXAST } from '../action-consts.js';
import { fieldByName } from '../oxm-fields.js';
import { parseFieldValue } from './field-value.js';
import type { Action } from '../types.js';
import { ActionSyntaxError } from './action-syntax-error.js';
import { atoiArg, parseSubfield, tableArg, uintArg } from './action-text-util.js';
import { type ActionOf, HASH_FIELDS, MP_ALGS, REASONS } from './action-names.js';
import { type KeyValue, requireValue, splitKeyValues } from './key-value.js';
import { ENQUEUE_RESERVED, parseOutputPort, parsePort16 } from './port-text.js';

/** check_pkt_larger(LEN)->DST[BIT]: the tokenizer hands over "LEN)->DST[BIT]". */
export function parseCheckPktLarger(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const arrow = text.indexOf(')->');
  if (!kv.paren || arrow < 0) throw new ActionSyntaxError(`${kv.token}: expected check_pkt_larger(length)->field[bit]`, kv.token);
  const sf = parseSubfield(text.slice(arrow + 3), kv.token);
  if (sf.nBits !== 1) throw new ActionSyntaxError(`${kv.token}: Only 1-bit destination field is allowed`, kv.token);
  const pktLen = uintArg(text.slice(0, arrow), 0xffff, kv.token, 'length');
  return [{ type: 'nx_check_pkt_larger', pktLen, ofs: sf.ofs, dst: sf.ref }];
}

/** controller, controller:N, controller(key=value,...): the cheapest encoding OVS would choose. */
export function parseController(kv: KeyValue): Action[] {
  let maxLen = 0xffff;
  let controllerId = 0;
  let reason: number = OFPR.ACTION;
  let userdata: Uint8Array | undefined;
  let pause = false;
  let meterId = 0;
  if (kv.value !== undefined && !kv.paren) {
    // OVS reads controller:N as max_len only when N is all digits; anything else is taken as a key (and refused).
    if (!/^\d+$/.test(kv.value)) throw new ActionSyntaxError(`${kv.token}: unknown key "${kv.value}" parsing controller action`, kv.token);
    maxLen = uintArg(kv.value, 0xffff, kv.token, 'max_len');
  } else if (kv.value !== undefined) {
    for (const p of splitKeyValues(kv.value)) {
      const v = p.value ?? '';
      switch (p.key) {
        case 'max_len':
          maxLen = uintArg(v, 0xffff, kv.token, 'max_len');
          break;
        case 'id':
          controllerId = uintArg(v, 0xffff, kv.token, 'id');
          break;
        case 'reason': {
          const r = REASONS.find(([name]) => name === v);
          if (!r) throw new ActionSyntaxError(`${kv.token}: unknown reason "${v}"`, kv.token);
          reason = r[1];
          break;
        }
        case 'userdata':
          userdata = parseHexBytes(v, kv.token);
          // An empty userdata is no userdata (OVS then encodes the plainest controller action).
          if (!userdata.length) userdata = undefined;
          break;
        case 'pause':
          pause = true;
          break;
        case 'meter_id':
          meterId = uintArg(v, 0xffffffff, kv.token, 'meter_id');
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

export function parseResubmit(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  if (!kv.paren) return [{ type: 'nx_resubmit', inPort: parsePort16(text, kv.token), table: 0xff }];
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length > 3) throw new ActionSyntaxError(`${kv.token}: too many arguments`, kv.token);
  const inPort = parts[0] ? parsePort16(parts[0], kv.token) : OFPP.IN_PORT - 0xffff0000;
  const table = parts[1] ? tableArg(parts[1], 0xfe, kv.token) : 0xff;
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
export function parseNat(kv: KeyValue): Action[] {
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
    const min = uintArg(lo!, 0xffff, token, 'port');
    if (min) {
      a.protoMin = min;
      a.rangePresent |= NX_NAT_RANGE.PROTO_MIN;
    }
    if (hi !== undefined) {
      const max = uintArg(hi, 0xffff, token, 'port');
      if (max < min) throw new ActionSyntaxError(`${token}: nat port range is backwards`, token);
      if (max) {
        a.protoMax = max;
        a.rangePresent |= NX_NAT_RANGE.PROTO_MAX;
      }
    }
  }
}

export function parseConjunction(kv: KeyValue): Action[] {
  const m = /^\s*(\w+)\s*,\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(requireValue(kv));
  if (!m) throw new ActionSyntaxError(`${kv.token}: expected conjunction(id,k/n)`, kv.token);
  const id = uintArg(m[1]!, 0xffffffff, kv.token, 'id');
  const k = Number(m[2]);
  const n = Number(m[3]);
  if (n < 2 || n > 64 || k < 1 || k > n) throw new ActionSyntaxError(`${kv.token}: clause ${k}/${n} out of range (2 <= n <= 64, 1 <= k <= n)`, kv.token);
  // On the wire the clause is zero-based.
  return [{ type: 'nx_conjunction', clause: k - 1, nClauses: n, id }];
}

export function parseNote(kv: KeyValue): Action[] {
  const bytes = parseHexBytes(kv.value ?? '', kv.token);
  // OVS stores the note padded with zeros to the action's 8-byte boundary; the pad reads back as note bytes.
  const padded = new Uint8Array(((10 + bytes.length + 7) & ~7) - 10);
  padded.set(bytes);
  return [{ type: 'nx_note', note: padded }];
}

export function parseDecTtl(kv: KeyValue): Action[] {
  if (kv.value === undefined) return [{ type: 'dec_nw_ttl' }];
  const ids = kv.value.split(',').map((s) => atoiArg(s, 16));
  return [{ type: 'nx_dec_ttl', controllerIds: ids }];
}

export function parseMultipath(kv: KeyValue): Action[] {
  const parts = requireValue(kv).split(',').map((s) => s.trim());
  if (parts.length !== 6) throw new ActionSyntaxError(`${kv.token}: expected multipath(fields,basis,algorithm,n_links,arg,dst)`, kv.token);
  const fields = HASH_FIELDS.find(([n]) => n === parts[0]);
  if (!fields) throw new ActionSyntaxError(`${kv.token}: unknown hash fields "${parts[0]}"`, kv.token);
  const alg = MP_ALGS.find(([n]) => n === parts[2]);
  if (!alg) throw new ActionSyntaxError(`${kv.token}: unknown algorithm "${parts[2]}"`, kv.token);
  const nLinks = atoiArg(parts[3]!, 32) | 0;
  if (nLinks < 1 || nLinks > 65536) throw new ActionSyntaxError(`${kv.token}: n_links ${nLinks} is not in valid range 1 to 65536`, kv.token);
  const dst = parseSubfield(parts[5]!, kv.token);
  if (dst.nBits < 16 && nLinks > 2 ** dst.nBits) throw new ActionSyntaxError(`${kv.token}: ${dst.nBits} bits cannot hold ${nLinks} links`, kv.token);
  return [
    {
      type: 'nx_multipath',
      fields: fields[1],
      basis: atoiArg(parts[1]!, 16),
      algorithm: alg[1],
      maxLink: nLinks - 1,
      arg: atoiArg(parts[4]!, 32),
      ofs: dst.ofs,
      nBits: dst.nBits,
      dst: dst.ref,
    },
  ];
}

export function parseSample(kv: KeyValue): Action[] {
  let probability: number | undefined;
  let collectorSetId = 0;
  let obsDomainId = 0;
  let obsPointId = 0;
  let samplingPort = 0xffff;
  let direction: number = NX_ACTION_SAMPLE.DEFAULT;
  for (const p of splitKeyValues(requireValue(kv))) {
    const v = p.value ?? '';
    if (p.key === 'probability') probability = uintArg(v, 0xffff, kv.token, 'probability');
    else if (p.key === 'collector_set_id') collectorSetId = uintArg(v, 0xffffffff, kv.token, p.key);
    else if (p.key === 'obs_domain_id') obsDomainId = uintArg(v, 0xffffffff, kv.token, p.key);
    else if (p.key === 'obs_point_id') obsPointId = uintArg(v, 0xffffffff, kv.token, p.key);
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

export function parseFinTimeout(kv: KeyValue): Action[] {
  let finIdleTimeout = 0;
  let finHardTimeout = 0;
  for (const p of splitKeyValues(requireValue(kv))) {
    if (p.key === 'idle_timeout') finIdleTimeout = uintArg(p.value ?? '', 0xffff, kv.token, p.key);
    else if (p.key === 'hard_timeout') finHardTimeout = uintArg(p.value ?? '', 0xffff, kv.token, p.key);
    else throw new ActionSyntaxError(`${kv.token}: unknown fin_timeout argument "${p.key}"`, kv.token);
  }
  return [{ type: 'nx_fin_timeout', finIdleTimeout, finHardTimeout }];
}

/** NXAST_POP_QUEUE, which we do not model: kept as a raw experimenter action (OVS's enqueue emits it). */
const POP_QUEUE_RAW = Uint8Array.of(0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, NXAST.POP_QUEUE, 0, 0, 0, 0, 0, 0);
export const popQueue = (): Action => ({ type: 'experimenter', experimenter: NX_VENDOR_ID, subtype: NXAST.POP_QUEUE, raw: POP_QUEUE_RAW });

export function parseEnqueue(kv: KeyValue): Action[] {
  const text = requireValue(kv);
  const sep = text.includes(':') ? ':' : ',';
  const [port, queue] = text.split(sep);
  if (port === undefined || queue === undefined) throw new ActionSyntaxError(`${kv.token}: expected enqueue:PORT:QUEUE`, kv.token);
  return [{ type: 'set_queue', queueId: uintArg(queue, 0xffffffff, kv.token, 'queue') }, { type: 'output', port: parseOutputPort(port, kv.token, ENQUEUE_RESERVED), maxLen: 0xffff }, popQueue()];
}
