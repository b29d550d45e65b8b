// One OXM TLV (ofp_oxm_header + value [+ mask]), including experimenter-class (0xffff) fields whose 64-bit header
// carries the experimenter id. Fields missing from the registry are kept raw so re-encoding is byte-identical.
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';
import type { OxmField } from './types.js';
import { OFPET, OFPBMC } from './consts.js';
import { CodecError } from './errors.js';
import { OFPXMC, fieldByHeader, fieldInfo, type FieldInfo } from './oxm-fields.js';

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

function encodeUnknown(w: Writer, f: OxmField): void {
  const header = f.header;
  const mask = f.mask;
  if (header === undefined) throw matchError(`OXM: unknown field without a header`, OFPBMC.BAD_FIELD);
  const isExp = header >>> 16 === OFPXMC.EXPERIMENTER;
  if (isExp && f.experimenter === undefined) throw matchError(`OXM: experimenter field 0x${header.toString(16)} without experimenter id`, OFPBMC.BAD_FIELD);
  if ((header & 0xff) !== (isExp ? 4 : 0) + f.value.length + (mask ? mask.length : 0) || ((header & HAS_MASK) !== 0) !== (mask !== undefined)) {
    throw matchError(`OXM: header 0x${header.toString(16)} disagrees with the value/mask lengths`, OFPBMC.BAD_LEN);
  }
  w.u32(header);
  if (isExp) w.u32(f.experimenter!);
  w.bytes(f.value);
  if (mask) w.bytes(mask);
}

/** Writes one OXM TLV; the header comes precomputed from the field's registry entry. */
export function encodeOxm(w: Writer, f: OxmField): void {
  const info = known(f);
  if (info === undefined) return encodeUnknown(w, f);
  const value = f.value;
  const mask = f.mask;
  const n = info.length;
  if (value.length !== n || (mask !== undefined && mask.length !== n)) {
    throw matchError(`OXM: '${info.name}' takes ${n}-byte values`, OFPBMC.BAD_LEN);
  }
  if (mask !== undefined && !info.maskable) throw matchError(`OXM: '${info.name}' cannot be masked`, OFPBMC.BAD_MASK);
  const exp = info.experimenter;
  const buf = w.buf;
  let p = w.pos;
  if (p + (exp === undefined ? 4 : 8) + (mask === undefined ? n : 2 * n) > buf.length) throw new RangeError('Writer: overrun');
  const h = mask === undefined ? info.header : info.maskedHeader;
  buf[p] = h >>> 24;
  buf[p + 1] = h >>> 16;
  buf[p + 2] = h >>> 8;
  buf[p + 3] = h;
  p += 4;
  if (exp !== undefined) {
    buf[p] = exp >>> 24;
    buf[p + 1] = exp >>> 16;
    buf[p + 2] = exp >>> 8;
    buf[p + 3] = exp;
    p += 4;
  }
  for (let i = 0; i < n; i++) buf[p + i] = value[i]!;
  p += n;
  if (mask !== undefined) {
    for (let i = 0; i < n; i++) buf[p + i] = mask[i]!;
    p += n;
  }
  w.pos = p;
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
