// ofp_match (OFPMT_OXM): type, length (header + OXM TLVs, without padding), the TLVs, zero padding to 8 bytes.
import type { Reader } from './reader.js';
import { pad8, putZeros, type Writer } from './writer.js';
import type { Match, OxmField } from './types.js';
import { OFPET, OFPBMC } from './consts.js';
import { CodecError } from './errors.js';
import { oxmEncodingLength, putOxm } from './oxm.js';
import { beginMatch, decodeMatchOxm } from './match-check.js';
import { OFPVID_PRESENT, fieldByName } from './oxm-fields.js';

/** ofp_match_type */
export const OFPMT = { STANDARD: 0, OXM: 1 } as const;
export const OFP_MATCH_HEADER_LEN = 4;
/** sizeof(struct ofp11_match) */
const OFP11_STANDARD_MATCH_LEN = 88;

/** Bytes of the ofp_match, padding included. */
export function matchEncodingLength(match: Match): number {
  let n = OFP_MATCH_HEADER_LEN;
  for (let i = 0; i < match.length; i++) n += oxmEncodingLength(match[i]!);
  return pad8(n);
}

/** Writes an ofp_match at `p` in `d` (padding included; `limit` is d.byteLength); returns the end. */
export function putMatch(d: DataView, p: number, match: Match, limit: number): number {
  const start = p;
  p = start + OFP_MATCH_HEADER_LEN;
  for (let i = 0; i < match.length; i++) p = putOxm(d, p, match[i]!, limit);
  // The length (without padding) is known only now: type and length go out last, as one store.
  const len = p - start;
  const end = putZeros(d, p, start + pad8(len), limit);
  d.setUint32(start, (OFPMT.OXM << 16) | (len & 0xffff));
  return end;
}

export function encodeMatch(w: Writer, match: Match): void {
  w.pos = putMatch(w.view, w.pos, match, w.buf.length);
}

/**
 * Decodes an ofp_match and moves past its padding, checking it as Open vSwitch does (see match-check.ts): the first
 * fault in TLV order is the error. `loose` reads it as oxm_pull_match_loose does for a packet-in's metadata:
 * unknown fields are kept raw and prerequisites are not checked (values and duplicates are).
 */
export function decodeMatch(r: Reader, loose = false): Match {
  const start = r.pos;
  r.need(OFP_MATCH_HEADER_LEN, 'ofp_match', OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  const type = r.u16();
  const length = r.u16();
  // ofputil_pull_ofp11_match: an OpenFlow 1.1 standard match must be 88 bytes (and is not decoded here).
  if (type === OFPMT.STANDARD && !loose && length !== OFP11_STANDARD_MATCH_LEN) throw new CodecError(`ofp_match: OFPMT_STANDARD of length ${length}`, OFPET.BAD_MATCH, OFPBMC.BAD_LEN, start);
  if (type !== OFPMT.OXM) throw new CodecError(`ofp_match: type ${type} is not OFPMT_OXM`, OFPET.BAD_MATCH, OFPBMC.BAD_TYPE, start);
  if (length < OFP_MATCH_HEADER_LEN) throw new CodecError(`ofp_match: length ${length} < 4`, OFPET.BAD_MATCH, OFPBMC.BAD_LEN, start);
  r.need(pad8(length) - OFP_MATCH_HEADER_LEN, 'ofp_match OXM fields and padding', OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  const end = start + length;
  const fields: OxmField[] = [];
  if (r.pos < end) {
    beginMatch(!loose);
    while (r.pos < end) fields.push(decodeMatchOxm(r, end));
  }
  r.pos = start + pad8(length);
  return fields;
}

const num = (b: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < b.length; i++) n = n * 256 + b[i]!;
  return n;
};

const prereqError = (msg: string): CodecError => new CodecError(msg, OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ);

/**
 * Checks a match the way a switch does on FLOW_MOD: each field's prerequisites (ovs-fields(7) / OpenFlow 1.3
 * table 12) must be matched by fields before it (eth_type before ip_proto before tcp_dst), and no field may appear
 * twice (counting an OXM and an NXM code point of the same field as the same). Throws CodecError(BAD_MATCH,
 * BAD_PREREQ or DUP_FIELD). Unknown fields are not checked.
 */
export function checkPrerequisites(match: Match): void {
  const seen = new Set<string>();
  let ethType: number | undefined;
  let ipProto: number | undefined;
  let icmpv6Type: number | undefined;
  let vlan = false;
  for (const f of match) {
    if (f.field === 'unknown') continue;
    const info = fieldByName(f.field);
    if (!info) continue;
    if (seen.has(info.ovsName)) throw new CodecError(`match: '${info.ovsName}' appears twice`, OFPET.BAD_MATCH, OFPBMC.DUP_FIELD);
    const p = info.prereq;
    if (p) {
      const need = `'${f.field}' needs ${p.name}`;
      if (p.ethTypes && (ethType === undefined || !p.ethTypes.includes(ethType))) throw prereqError(`${need} (eth_type ${p.ethTypes.map((t) => '0x' + t.toString(16).padStart(4, '0')).join(' or ')} first)`);
      if (p.ipProto !== undefined && ipProto !== p.ipProto) throw prereqError(`${need} (ip_proto=${p.ipProto} first)`);
      if (p.icmpv6Types && (icmpv6Type === undefined || !p.icmpv6Types.includes(icmpv6Type))) throw prereqError(`${need} (icmpv6_type ${p.icmpv6Types.join(' or ')} first)`);
      if (p.vlan && !vlan) throw prereqError(`${need} (vlan_vid with OFPVID_PRESENT first)`);
      if (p.field !== undefined && !seen.has(p.field)) throw prereqError(`${need} (${p.field} first)`);
    }
    seen.add(info.ovsName);
    switch (info.ovsName) {
      case 'eth_type':
        ethType = num(f.value);
        break;
      case 'nw_proto':
        ipProto = num(f.value);
        break;
      case 'icmpv6_type':
        icmpv6Type = num(f.value);
        break;
      case 'vlan_vid':
      case 'vlan_tci':
        vlan = (num(f.value) & (f.mask ? num(f.mask) : 0xffff) & OFPVID_PRESENT) !== 0;
        break;
    }
  }
}
