// Shared pieces of the action text syntax: number arguments and field references ("NXM_NX_REG0[0..15]").

import { fieldByHeader, fieldByName, nxmCodePoint } from '../oxm-fields.js';
import type { FieldInfo } from '../oxm-fields.js';
import type { FieldRef } from '../types.js';
import { ActionSyntaxError } from './action-syntax-error.js';
import { parseDecimal, parseUint } from './field-value.js';

/** An integer argument in 0..max (parseUint: hex, octal or decimal), as a syntax error naming the token otherwise. */
export function uintArg(text: string, max: number, token: string, what: string): number {
  const n = parseUint(text.trim());
  if (n === undefined) throw new ActionSyntaxError(`${token}: bad ${what} "${text}"`, token);
  if (n > BigInt(max)) throw new ActionSyntaxError(`${token}: ${what} ${text} out of range (max ${max})`, token);
  return Number(n);
}

/**
 * C's atoi, which some ovs-ofctl arguments go through (multipath's numbers, dec_ttl's ids): an optional sign and the
 * leading decimal digits, 0 when there are none (`0x10` is 0); the result is cut to the argument's width as C's
 * assignment does.
 */
export function atoiArg(text: string, bits: 16 | 32): number {
  const m = /^\s*([+-]?)(\d*)/.exec(text)!;
  const n = m[2] ? Number(BigInt.asUintN(bits, BigInt(`${m[1]}${m[2]}`))) : 0;
  return n;
}

/** A table id argument (ofputil_table_from_string: decimal only) in 0..max. */
export function tableArg(text: string, max: number, token: string): number {
  const n = parseDecimal(text.trim());
  if (n === undefined || n > BigInt(max)) throw new ActionSyntaxError(`${token}: unknown table "${text}"`, token);
  return Number(n);
}

/** An integer argument of up to 64 bits (parseUint). */
export function bigUintArg(text: string, token: string): bigint {
  const n = parseUint(text.trim());
  if (n === undefined) throw new ActionSyntaxError(`${token}: bad number "${text}"`, token);
  if (n > 0xffffffffffffffffn) throw new ActionSyntaxError(`${token}: ${text} does not fit in 64 bits`, token);
  return n;
}

/** C's "%#x": "0" for zero, otherwise 0x-prefixed lowercase hex. */
export const hex0x = (v: bigint | number): string => (v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`);

const fieldRefs = new Map<FieldInfo, FieldRef>();

/**
 * The header OVS puts in Nicira actions for a field: its NXM header if it has one, else its OXM header. One shared
 * (immutable) FieldRef per field: move and load actions name a handful of fields thousands of times.
 */
export function fieldRefFor(info: FieldInfo): FieldRef {
  let ref = fieldRefs.get(info);
  if (ref === undefined) {
    const cp = nxmCodePoint(info);
    ref = cp.experimenter !== undefined ? { field: cp.name, header: cp.header, experimenter: cp.experimenter } : { field: cp.name, header: cp.header };
    fieldRefs.set(info, ref);
  }
  return ref;
}

/** The name OVS prints for a field inside Nicira actions (mf_format_subfield): NXM_* if it has one, else OXM_*. */
export function subfieldName(info: FieldInfo): string {
  const cp = nxmCodePoint(info);
  return cp.nxmName ?? cp.oxmName ?? cp.name;
}

export interface Subfield {
  readonly ref: FieldRef;
  readonly info: FieldInfo;
  readonly ofs: number;
  readonly nBits: number;
}

/** "NAME", "NAME[]", "NAME[7]" or "NAME[0..15]", NAME being any name or alias the field registry knows. */
export function parseSubfield(text: string, token: string): Subfield {
  const m = /^\s*([A-Za-z0-9_.]+)(?:\[(?:(\d+)(?:\.\.(\d+))?)?\])?\s*$/.exec(text);
  if (!m) throw new ActionSyntaxError(`${token}: bad field reference "${text}"`, token);
  const info = fieldByName(m[1]!);
  if (!info) throw new ActionSyntaxError(`${token}: unknown field "${m[1]}"`, token);
  let ofs = 0;
  let nBits = info.nBits;
  if (m[2] !== undefined) {
    ofs = Number(m[2]);
    const end = m[3] !== undefined ? Number(m[3]) : ofs;
    if (end < ofs) throw new ActionSyntaxError(`${token}: bit range ${ofs}..${end} is backwards`, token);
    nBits = end - ofs + 1;
  }
  if (ofs + nBits > info.nBits) throw new ActionSyntaxError(`${token}: bits ${ofs}..${ofs + nBits - 1} exceed ${m[1]}'s ${info.nBits} bits`, token);
  return { ref: fieldRefFor(info), info, ofs, nBits };
}

/** OVS's mf_format_subfield: the field's NXM (else OXM) name and "[]", "[n]" or "[a..b]". */
export function formatSubfield(ref: FieldRef, ofs: number, nBits: number): string {
  const info = ref.field === 'unknown' ? undefined : (fieldByName(ref.field) ?? fieldByHeader(ref.header, ref.experimenter));
  const name = info ? subfieldName(info) : '<unknown>';
  if (info && ofs === 0 && nBits === info.nBits) return `${name}[]`;
  if (nBits === 1) return `${name}[${ofs}]`;
  return `${name}[${ofs}..${ofs + nBits - 1}]`;
}
