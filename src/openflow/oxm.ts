// One OXM TLV (ofp_oxm_header + value [+ mask]), including experimenter-class (0xffff) fields whose 64-bit header
// carries the experimenter id. Fields missing from the registry are kept raw so re-encoding is byte-identical.
import type { Reader } from './reader.js';
import { room, writerAt, type Writer } from './writer.js';
import type { OxmField } from './types.js';
import { OFPET, OFPBMC } from './consts.js';
import { CodecError } from './errors.js';
import { FIELDS, OFPXMC, fieldByHeader, fieldInfo, type FieldInfo } from './oxm-fields.js';

const HAS_MASK = 0x100;

const matchError = (msg: string, code: number, offset?: number): CodecError => new CodecError(msg, OFPET.BAD_MATCH, code, offset);

/** The registry entry of a named field; undefined for 'unknown'. Throws for a name the registry does not know. */
function known(f: OxmField): FieldInfo | undefined {
  const name = f.field;
  if (name === 'unknown') return undefined;
  const info = fieldInfo(name);
  if (info === undefined) throw matchError(`OXM: unknown field '${name}'`, OFPBMC.BAD_FIELD);
  return info;
}

/** Bytes one field takes on the wire: header (4, or 8 with an experimenter id), value and mask. */
export function oxmEncodingLength(f: OxmField): number {
  const body = f.mask === undefined ? f.value.length : f.value.length + f.mask.length;
  const info = known(f);
  if (info === undefined) return 4 + ((f.header ?? 0) >>> 16 === OFPXMC.EXPERIMENTER ? 4 : 0) + body;
  return (info.experimenter === undefined ? 4 : 8) + body;
}

function putUnknown(d: DataView, p: number, f: OxmField): number {
  const header = f.header;
  const mask = f.mask;
  if (header === undefined) throw matchError(`OXM: unknown field without a header`, OFPBMC.BAD_FIELD);
  const isExp = header >>> 16 === OFPXMC.EXPERIMENTER;
  if (isExp && f.experimenter === undefined) throw matchError(`OXM: experimenter field 0x${header.toString(16)} without experimenter id`, OFPBMC.BAD_FIELD);
  if ((header & 0xff) !== (isExp ? 4 : 0) + f.value.length + (mask ? mask.length : 0) || ((header & HAS_MASK) !== 0) !== (mask !== undefined)) {
    throw matchError(`OXM: header 0x${header.toString(16)} disagrees with the value/mask lengths`, OFPBMC.BAD_LEN);
  }
  const w = writerAt(d, p);
  w.u32(header);
  if (isExp) w.u32(f.experimenter!);
  w.bytes(f.value);
  if (mask) w.bytes(mask);
  return w.pos;
}

/**
 * What writing one registry field takes, in one fixed shape and in small integers: FieldInfo's 32-bit headers are
 * mostly above the int32 range, so V8 keeps them as boxed doubles; here they are int32 (`| 0`), which setInt32
 * writes as the same four bytes. Built as object literals, not class instances: an ES2022 class field is first
 * defined as undefined, and V8 then types every field as "any value" (a tag check and a number conversion on each
 * read) instead of small integer.
 */
interface OxmCode {
  readonly info: FieldInfo;
  /** The 32-bit header of the unmasked and of the masked form, as int32. */
  readonly header: number;
  readonly maskedHeader: number;
  /** 4 for a class-0xffff field (its experimenter id, `experimenter` as int32, follows the header), else 0. */
  readonly expLength: number;
  readonly experimenter: number;
  readonly length: number;
  readonly maskable: boolean;
}

const oxmCode = (info: FieldInfo): OxmCode => ({
  info,
  header: info.header | 0,
  maskedHeader: info.maskedHeader | 0,
  expLength: info.experimenter === undefined ? 0 : 4,
  experimenter: (info.experimenter ?? 0) | 0,
  length: info.length,
  maskable: info.maskable,
});

/**
 * Keyed by the registry name (what parsed and decoded fields carry); other names fieldInfo knows are added on first
 * use. Measured against an open-addressed table hashed on the name's length and two characters (a `===` on the
 * registry's own string object is a pointer compare): no fewer instructions, as V8's charCodeAt dispatches on the
 * string representation. The Map probe, ~70 instructions, is paid once per field written.
 */
const codes = new Map<string, OxmCode>(FIELDS.map((f) => [f.name, oxmCode(f)]));

function codeOf(name: string): OxmCode {
  const c = codes.get(name);
  if (c !== undefined) return c;
  const info = fieldInfo(name);
  if (info === undefined) throw matchError(`OXM: unknown field '${name}'`, OFPBMC.BAD_FIELD);
  const byInfo = codes.get(info.name)!;
  if (codes.size < 4096) codes.set(name, byInfo);
  return byInfo;
}

/**
 * Writes one OXM TLV at `p` in `d`; returns the end. The header comes precomputed from the field's registry entry.
 * The common case (no mask, no experimenter id) is kept small so that V8 inlines it into its callers; the value is
 * written before the header so that no DataView store comes between the reads of the field object.
 */
export function putOxm(d: DataView, p: number, f: OxmField, limit: number): number {
  const name = f.field;
  const value = f.value;
  const mask = f.mask;
  if (name === 'unknown') return putUnknown(d, p, f);
  const c = codeOf(name);
  const n = c.length;
  if (value.length !== n) throw matchError(`OXM: '${c.info.name}' takes ${n}-byte values`, OFPBMC.BAD_LEN);
  if (mask !== undefined || c.expLength !== 0) return putOxmLong(d, p, c, value, mask, limit);
  const header = c.header;
  room(limit, p + 4 + n);
  const end = putValue(d, p + 4, value, n);
  d.setInt32(p, header);
  return end;
}

/** A masked field, or one with an experimenter id: header, [experimenter,] value[, mask]. */
function putOxmLong(d: DataView, p: number, c: OxmCode, value: Uint8Array, mask: Uint8Array | undefined, limit: number): number {
  const n = c.length;
  if (mask !== undefined) {
    if (mask.length !== n) throw matchError(`OXM: '${c.info.name}' takes ${n}-byte values`, OFPBMC.BAD_LEN);
    // A field without a mask in OVS still takes an all-ones or all-zeros one (mf_is_mask_valid), as decoded.
    if (!c.maskable && !isUniformMask(mask)) throw matchError(`OXM: '${c.info.name}' cannot be masked`, OFPBMC.BAD_MASK);
  }
  room(limit, p + 4 + c.expLength + (mask === undefined ? n : 2 * n));
  d.setInt32(p, mask === undefined ? c.header : c.maskedHeader);
  p += 4;
  if (c.expLength !== 0) {
    d.setInt32(p, c.experimenter);
    p += 4;
  }
  p = putValue(d, p, value, n);
  return mask === undefined ? p : putValue(d, p, mask, n);
}

function isUniformMask(m: Uint8Array): boolean {
  const b = m[0];
  if (b !== 0 && b !== 0xff) return false;
  for (let i = 1; i < m.length; i++) if (m[i] !== b) return false;
  return true;
}

/**
 * Writes the `n` bytes of `v` (n === v.length) at `p`; returns p + n. The usual field widths take one or two stores,
 * each after all the reads of `v` (see putOxm).
 */
function putValue(d: DataView, p: number, v: Uint8Array, n: number): number {
  // V8 tests the cases in order: the commonest widths (MAC and IPv4 addresses) first.
  switch (n) {
    case 6: {
      const hi = (v[0]! << 8) | v[1]!;
      const lo = (v[2]! << 24) | (v[3]! << 16) | (v[4]! << 8) | v[5]!;
      d.setUint16(p, hi);
      d.setInt32(p + 2, lo);
      return p + 6;
    }
    case 4:
      d.setInt32(p, (v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!);
      return p + 4;
    case 2:
      d.setUint16(p, (v[0]! << 8) | v[1]!);
      return p + 2;
    case 1:
      d.setUint8(p, v[0]!);
      return p + 1;
    case 8: {
      const hi = (v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!;
      const lo = (v[4]! << 24) | (v[5]! << 16) | (v[6]! << 8) | v[7]!;
      d.setInt32(p, hi);
      d.setInt32(p + 4, lo);
      return p + 8;
    }
    default:
      for (let i = 0; i < n; i++) d.setUint8(p + i, v[i]!);
      return p + n;
  }
}

/** Writes one OXM TLV at w.pos, advancing it. */
export function encodeOxm(w: Writer, f: OxmField): void {
  w.pos = putOxm(w.view, w.pos, f, w.buf.length);
}

/** True when `value` has a 1-bit above the field's low `nBits`. */
function hasExcessBits(value: Uint8Array, nBits: number): boolean {
  let excess = value.length * 8 - nBits;
  for (let i = 0; excess > 0; i++, excess -= 8) {
    const top = excess >= 8 ? 0xff : (0xff00 >> excess) & 0xff;
    if (value[i]! & top) return true;
  }
  return false;
}

export function decodeOxm(r: Reader): OxmField {
  const start = r.pos;
  if (start + 4 > r.end) throw r.short(4, 'OXM header', OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  const header = r.u32();
  const hasMask = (header & HAS_MASK) !== 0;
  let bodyLen = header & 0xff;
  let experimenter: number | undefined;
  if (header >>> 16 === OFPXMC.EXPERIMENTER) {
    if (bodyLen < 4) throw matchError(`OXM: experimenter field with length ${bodyLen}`, OFPBMC.BAD_LEN, start);
    if (r.pos + 4 > r.end) throw r.short(4, 'OXM experimenter', OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
    experimenter = r.u32();
    bodyLen -= 4;
  }
  if (r.pos + bodyLen > r.end) throw r.short(bodyLen, `OXM 0x${header.toString(16).padStart(8, '0')} body`, OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  const info = fieldByHeader(header, experimenter);
  if (info === undefined) {
    if (hasMask && bodyLen % 2 !== 0) throw matchError(`OXM: masked field 0x${header.toString(16)} with odd length`, OFPBMC.BAD_LEN, start);
    const n = hasMask ? bodyLen / 2 : bodyLen;
    const value = r.bytes(n);
    if (experimenter === undefined) return hasMask ? { field: 'unknown', value, header, mask: r.bytes(n) } : { field: 'unknown', value, header };
    return hasMask ? { field: 'unknown', value, header, experimenter, mask: r.bytes(n) } : { field: 'unknown', value, header, experimenter };
  }
  const n = info.length;
  if (hasMask && !info.maskable) throw matchError(`OXM: '${info.name}' cannot be masked`, OFPBMC.BAD_MASK, start);
  if (bodyLen !== (hasMask ? 2 * n : n)) {
    throw matchError(`OXM: '${info.name}' has length ${bodyLen}, expected ${(hasMask ? 2 : 1) * n}`, OFPBMC.BAD_LEN, start);
  }
  const value = r.bytes(n);
  if (info.nBits < n * 8 && hasExcessBits(value, info.nBits)) {
    throw matchError(`OXM: '${info.name}' value uses more than ${info.nBits} bits`, OFPBMC.BAD_VALUE, start);
  }
  if (!hasMask) return { field: info.name, value };
  const mask = r.bytes(n);
  for (let i = 0; i < n; i++) {
    if (value[i]! & ~mask[i]!) throw matchError(`OXM: '${info.name}' value has bits outside its mask`, OFPBMC.BAD_WILDCARDS, start);
  }
  return { field: info.name, value, mask };
}
