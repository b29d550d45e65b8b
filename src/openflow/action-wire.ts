// The pieces every action's binary form is written and read with: headers, padding, field references, length
// checks, and the shape of a table entry (ActionEncoder / ActionDecoder). The entries themselves live in the concern
// files (actions-standard, actions-nicira, actions-conntrack, actions-learn); actions.ts assembles them.

import { OFPET, OFPBAC, OFPBMC, NX_VENDOR_ID } from './consts.js';
import { CodecError } from './errors.js';
import type { Reader } from './reader.js';
import { pad8, writerAt, type Writer } from './writer.js';
import { fieldByHeader } from './oxm-fields.js';
import type { Action, ActionType, FieldRef } from './types.js';

export type ActionOf<T extends ActionType> = Extract<Action, { readonly type: T }>;

/** Largest possible action: a u16 length rounded down to the 8-byte alignment. */
export const MAX_ACTION_LEN = 0xfff8;
export const NX_HEADER_LEN = 10; // type, len, vendor, subtype
export const EXT_ACTION_HEADER_LEN = 16; // nx header + 6 pad bytes


export const badLen = (msg: string, offset?: number): CodecError => new CodecError(msg, OFPET.BAD_ACTION, OFPBAC.BAD_LEN, offset);

/** Like Reader.need, but a shortfall inside an action is OFPBAC_BAD_LEN. */
export function need(r: Reader, n: number, what: string): void {
  r.need(n, what, OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
}

/** Writes `n` zero bytes (the pad bytes actions need). */
export const zero = (w: Writer, n: number): void => w.zeros(n);

export function stdHeader(w: Writer, type: number, len: number): void {
  const b = w.buf;
  const p = w.pos;
  if (p + 4 > b.length) throw new RangeError('Writer: overrun');
  b[p] = type >>> 8;
  b[p + 1] = type;
  b[p + 2] = len >>> 8;
  b[p + 3] = len;
  w.pos = p + 4;
}

export function nxHeader(w: Writer, subtype: number, len: number): void {
  const b = w.buf;
  const p = w.pos;
  if (p + NX_HEADER_LEN > b.length) throw new RangeError('Writer: overrun');
  b[p] = 0xff;
  b[p + 1] = 0xff;
  b[p + 2] = len >>> 8;
  b[p + 3] = len;
  b[p + 4] = NX_VENDOR_ID >>> 24;
  b[p + 5] = NX_VENDOR_ID >>> 16;
  b[p + 6] = NX_VENDOR_ID >>> 8;
  b[p + 7] = NX_VENDOR_ID;
  b[p + 8] = subtype >>> 8;
  b[p + 9] = subtype;
  w.pos = p + NX_HEADER_LEN;
}

/**
 * Ends a variable-length action that began at `start` with a placeholder length: pads it with zeros to 8 bytes and
 * patches its length, so the encoder does not walk nested actions twice to size them first.
 */
export function finish(w: Writer, start: number): void {
  const body = w.pos - start;
  const len = pad8(body);
  zero(w, len - body);
  w.patchU16(start + 2, len);
}

/** `ofs_nbits` as Nicira packs a bit range: offset in the high 10 bits, (n_bits - 1) in the low 6. */
export const ofsNbits = (ofs: number, nBits: number): number => (ofs << 6) | (nBits - 1);

export const fieldRefLength = (f: FieldRef): number => ((f.header >>> 16) === 0xffff ? 8 : 4);

export function encodeFieldRef(w: Writer, f: FieldRef): void {
  w.u32(f.header);
  if ((f.header >>> 16) === 0xffff) w.u32(f.experimenter ?? 0);
}

/** A field header OVS reads with nx_pull_header: a partial one is OFPBMC_BAD_LEN, as for any OXM entry. */
export function decodeFieldRef(r: Reader, what: string): FieldRef {
  r.need(4, what, OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  const header = r.u32();
  if ((header >>> 16) !== 0xffff) {
    const info = fieldByHeader(header);
    return { field: info ? info.name : 'unknown', header };
  }
  r.need(4, `${what} experimenter`, OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  const experimenter = r.u32();
  const info = fieldByHeader(header, experimenter);
  return { field: info ? info.name : 'unknown', header, experimenter };
}

/**
 * A field reference that is always a 32-bit header (NXAST_REG_LOAD, OUTPUT_REG, MULTIPATH: OVS reads them with
 * mf_from_nxm_header, never nx_pull_header). A class-0xffff header here is an unknown field, not an experimenter
 * header with 4 more bytes: only the newer actions (output_reg2, reg_move, copy_field) carry 64-bit headers.
 */
export function decodeFieldRef32(r: Reader, what: string): FieldRef {
  need(r, 4, what);
  const header = r.u32();
  const info = (header >>> 16) === 0xffff ? undefined : fieldByHeader(header);
  return { field: info ? info.name : 'unknown', header };
}

/** Rejects a bit range that does not fit the referenced field (only checkable for fields we know). */
export function checkSubfield(f: FieldRef, ofs: number, nBits: number, what: string): void {
  const info = f.field === 'unknown' ? undefined : fieldByHeader(f.header, f.experimenter);
  if (nBits < 1 || (info && ofs + nBits > info.nBits)) {
    throw new CodecError(`${what}: bits ${ofs}..${ofs + nBits - 1} do not fit ${f.field}`, OFPET.BAD_ACTION, OFPBAC.BAD_SET_ARGUMENT);
  }
}

export function checkZeros(r: Reader, what: string): void {
  const rest = r.bytes(r.remaining, what);
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] !== 0) throw new CodecError(`${what}: nonzero padding`, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT, r.pos - rest.length + i);
  }
}

/**
 * The 10-byte Nicira action header (type 0xffff, len, vendor, subtype) and the action's first two bytes after it,
 * as three 32-bit stores: `subtypeAndNext` is subtype << 16 | those two bytes.
 */
export function putNxHeader(d: DataView, p: number, len: number, subtypeAndNext: number): void {
  d.setInt32(p, 0xffff0000 | len);
  d.setInt32(p + 4, NX_VENDOR_ID);
  d.setInt32(p + 8, subtypeAndNext);
}

/** How one action is written: the one place its wire format is encoded. */
export interface ActionEncoder<A extends Action> {
  /** The whole TLV's length in bytes (a multiple of 8). */
  readonly length: (a: A) => number;
  /**
   * Writes the whole TLV, header included, at `p` in `d` (`limit` is d.byteLength); returns the end. The actions
   * flows are made of most store straight into the DataView, one 32-bit store per four bytes, after one `room`
   * check; the rarer ones go through a Writer (viaWriter).
   */
  readonly put: (d: DataView, p: number, a: A, limit: number) => number;
}

export type EncoderTable = { readonly [T in ActionType]: ActionEncoder<ActionOf<T>> };

/** An action's `put` written with a Writer's checked field writes. */
export const viaWriter =
  <A extends Action>(encode: (w: Writer, a: A) => void): ActionEncoder<A>['put'] =>
  (d, p, a) => {
    const w = writerAt(d, p);
    encode(w, a);
    return w.pos;
  };

export const nxVoid = (subtype: number): ActionEncoder<Action> => ({
  length: () => 16,
  put: viaWriter((w) => {
    nxHeader(w, subtype, 16);
    zero(w, 6);
  }),
});

export interface ActionDecoder {
  /** Smallest and largest valid TLV length (equal for fixed-size actions). */
  readonly min: number;
  readonly max: number;
  /**
   * Decodes the body. `r` is bounded to this action and positioned just after the header (type+len for standard
   * actions; type+len+vendor+subtype for experimenter ones). `start` is the action's first byte in `r.buf`.
   */
  readonly decode: (r: Reader, start: number, depth: number) => Action;
}

export const exact = (len: number, decode: ActionDecoder['decode']): ActionDecoder => ({ min: len, max: len, decode });
export const atLeast = (min: number, decode: ActionDecoder['decode']): ActionDecoder => ({ min, max: MAX_ACTION_LEN, decode });

/** A concern file's decoders, by wire code (OFPAT type, or subtype under its experimenter). */
export type DecoderEntries = readonly (readonly [number, ActionDecoder])[];

/**
 * The registry's whole-list functions, handed to the actions that nest an action list (clone, ct) when the
 * registry builds its table: they encode and decode the inner list through the same table without importing it.
 */
export interface NestedActions {
  readonly length: (actions: readonly Action[]) => number;
  readonly encode: (w: Writer, actions: readonly Action[]) => void;
  /** Decodes `length` bytes of actions at `r.pos` as a list nested `depth` deep (refused past MAX_ACTION_NESTING). */
  readonly decode: (r: Reader, length: number, depth: number) => Action[];
}
