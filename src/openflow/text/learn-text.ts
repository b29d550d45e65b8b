// The text form of NXAST_LEARN. The action keeps its flow-mod specs as raw bytes (types.ts); this module turns
// ovs-ofctl's learn(...) syntax into those bytes and prints them back the way OVS's learn_format does.
//
// Spec wire format (nx_action_learn): a u16 header (src type bit 13, dst type bits 11-12, n_bits bits 0-9), then
// the source (a field header + u16 offset, or an immediate of 2*ceil(n_bits/16) bytes), then the destination
// (a field header + u16 offset, except for output). A zero header or the end of the action ends the list.

import { NX_LEARN_DST, NX_LEARN_F, NX_LEARN_N_BITS_MASK, NX_LEARN_SRC } from '../action-consts.js';
import { fieldByHeader, fieldByName } from '../oxm-fields.js';
import { formatFieldValue, parseFieldValue } from './field-value.js';
import { ActionSyntaxError } from './action-syntax-error.js';
import { formatSubfield, hex0x, bigUintArg, parseSubfield, uintArg, type Subfield } from './action-text-util.js';
import type { Action, FieldRef } from '../types.js';

type Learn = Extract<Action, { readonly type: 'nx_learn' }>;

const OFP_DEFAULT_PRIORITY = 0x8000;
const LEARN_FIXED_LEN = 32;

// ---------------------------------------------------------------------------------------------------------------
// Parsing

interface SpecBuilder {
  bytes: number[];
}

const put16 = (b: SpecBuilder, v: number): void => {
  b.bytes.push((v >>> 8) & 0xff, v & 0xff);
};

function putRef(b: SpecBuilder, sf: Subfield): void {
  const h = sf.ref.header;
  b.bytes.push(h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
  if (sf.ref.experimenter !== undefined) {
    const e = sf.ref.experimenter;
    b.bytes.push(e >>> 24, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff);
  }
  put16(b, sf.ofs);
}

/** An immediate of `nBits`, right-aligned in 2*ceil(nBits/16) bytes. */
function putImmediate(b: SpecBuilder, value: Uint8Array, nBits: number): void {
  const width = 2 * Math.ceil(nBits / 16);
  for (let i = 0; i < width; i++) {
    const src = value.length - width + i;
    b.bytes.push(src >= 0 ? value[src]! : 0);
  }
}

function bigToBytes(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

const looksLikeSubfield = (text: string): boolean => /\[/.test(text) || (!/^(0x)?[0-9a-f]/i.test(text) && fieldByName(text) !== undefined);

function parseSpec(key: string, value: string | undefined, b: SpecBuilder, token: string): void {
  if (key === 'load') {
    const arrow = value?.indexOf('->') ?? -1;
    if (!value || arrow < 0) throw new ActionSyntaxError(`${token}: expected load:SRC->DST`, token);
    const srcText = value.slice(0, arrow);
    const dst = parseSubfield(value.slice(arrow + 2), token);
    if (looksLikeSubfield(srcText)) {
      const src = parseSubfield(srcText, token);
      if (src.nBits !== dst.nBits) throw new ActionSyntaxError(`${token}: ${src.nBits}-bit source, ${dst.nBits}-bit destination`, token);
      put16(b, NX_LEARN_SRC.FIELD | NX_LEARN_DST.LOAD | dst.nBits);
      putRef(b, src);
    } else {
      put16(b, NX_LEARN_SRC.IMMEDIATE | NX_LEARN_DST.LOAD | dst.nBits);
      putImmediate(b, bigToBytes(bigUintArg(srcText, token), 8), dst.nBits);
    }
    putRef(b, dst);
    return;
  }
  if (key === 'output') {
    const src = parseSubfield(value ?? '', token);
    put16(b, NX_LEARN_SRC.FIELD | NX_LEARN_DST.OUTPUT | src.nBits);
    putRef(b, src);
    return;
  }
  // A match spec: FIELD=VALUE (immediate), DST[..]=SRC[..], or DST[..] (same field from the packet).
  const dst = parseSubfield(key, token);
  if (value === undefined || looksLikeSubfield(value)) {
    const src = value === undefined ? dst : parseSubfield(value, token);
    if (src.nBits !== dst.nBits) throw new ActionSyntaxError(`${token}: ${src.nBits}-bit source, ${dst.nBits}-bit destination`, token);
    put16(b, NX_LEARN_SRC.FIELD | NX_LEARN_DST.MATCH | dst.nBits);
    putRef(b, src);
    putRef(b, dst);
    return;
  }
  let imm: Uint8Array;
  if (!key.includes('[')) {
    try {
      imm = parseFieldValue(dst.info, value).value;
    } catch (e) {
      throw new ActionSyntaxError(`${token}: ${(e as Error).message}`, token);
    }
  } else {
    imm = bigToBytes(bigUintArg(value, token), 16);
  }
  put16(b, NX_LEARN_SRC.IMMEDIATE | NX_LEARN_DST.MATCH | dst.nBits);
  putImmediate(b, imm, dst.nBits);
  putRef(b, dst);
}

/** Splits on top-level commas (learn specs contain no parentheses, but field values may contain ':'). */
function splitArgs(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function parseLearn(text: string, token: string): Learn {
  let tableId = 1;
  let idleTimeout = 0;
  let hardTimeout = 0;
  let finIdleTimeout = 0;
  let finHardTimeout = 0;
  let priority = OFP_DEFAULT_PRIORITY;
  let cookie = 0n;
  let flags = 0;
  const b: SpecBuilder = { bytes: [] };
  for (const arg of splitArgs(text)) {
    const m = /^([^=:]+)(?:([=:])(.*))?$/.exec(arg);
    if (!m) throw new ActionSyntaxError(`${token}: bad learn argument "${arg}"`, token);
    const key = m[1]!.trim();
    const value = m[3];
    switch (key) {
      case 'table':
        tableId = uintArg(value ?? '', 0xfe, token, 'table');
        break;
      case 'idle_timeout':
        idleTimeout = uintArg(value ?? '', 0xffff, token, key);
        break;
      case 'hard_timeout':
        hardTimeout = uintArg(value ?? '', 0xffff, token, key);
        break;
      case 'fin_idle_timeout':
        finIdleTimeout = uintArg(value ?? '', 0xffff, token, key);
        break;
      case 'fin_hard_timeout':
        finHardTimeout = uintArg(value ?? '', 0xffff, token, key);
        break;
      case 'priority':
        priority = uintArg(value ?? '', 0xffff, token, key);
        break;
      case 'cookie':
        cookie = bigUintArg(value ?? '', token);
        break;
      case 'send_flow_rem':
        flags |= NX_LEARN_F.SEND_FLOW_REM;
        break;
      case 'delete_learned':
        flags |= NX_LEARN_F.DELETE_LEARNED;
        break;
      default:
        if (m[2] === ':' && key !== 'load' && key !== 'output') throw new ActionSyntaxError(`${token}: unknown learn argument "${arg}"`, token);
        parseSpec(key, value, b, token);
    }
  }
  // Pad so that the action is a multiple of 8 bytes; the padding is part of `specs` as decoded.
  const total = (LEARN_FIXED_LEN + b.bytes.length + 7) & ~7;
  const specs = new Uint8Array(total - LEARN_FIXED_LEN);
  specs.set(b.bytes);
  return { type: 'nx_learn', idleTimeout, hardTimeout, priority, cookie, flags, tableId, finIdleTimeout, finHardTimeout, specs };
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

class SpecReader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  get remaining(): number {
    return this.b.length - this.pos;
  }
  u16(): number {
    if (this.remaining < 2) throw new Error('truncated');
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  bytes(n: number): Uint8Array {
    if (this.remaining < n) throw new Error('truncated');
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

interface RefAt {
  readonly ref: FieldRef;
  readonly ofs: number;
}

function readRef(r: SpecReader): RefAt {
  const header = r.u32();
  const experimenter = header >>> 16 === 0xffff ? r.u32() : undefined;
  const info = fieldByHeader(header, experimenter);
  const ref: FieldRef = experimenter === undefined ? { field: info?.name ?? 'unknown', header } : { field: info?.name ?? 'unknown', header, experimenter };
  return { ref, ofs: r.u16() };
}

const immHex = (b: Uint8Array): string => {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return hex0x(v);
};

function formatSpecs(specs: Uint8Array): string[] {
  const r = new SpecReader(specs);
  const out: string[] = [];
  while (r.remaining >= 2) {
    const header = r.u16();
    if (header === 0) break;
    const nBits = header & NX_LEARN_N_BITS_MASK;
    const srcImm = (header & NX_LEARN_SRC.IMMEDIATE) !== 0;
    const dstType = header & (3 << 11);
    const src = srcImm ? undefined : readRef(r);
    const imm = srcImm ? r.bytes(2 * Math.ceil(nBits / 16)) : undefined;
    const dst = dstType === NX_LEARN_DST.OUTPUT ? undefined : readRef(r);
    if (dstType === NX_LEARN_DST.MATCH && dst && imm) {
      const info = fieldByHeader(dst.ref.header, dst.ref.experimenter);
      if (info && dst.ofs === 0 && nBits === info.nBits) {
        const value = new Uint8Array(info.length);
        const n = Math.min(info.length, imm.length);
        value.set(imm.subarray(imm.length - n), info.length - n);
        out.push(`${info.ovsName}=${formatFieldValue(info, value)}`);
      } else {
        out.push(`${formatSubfield(dst.ref, dst.ofs, nBits)}=${immHex(imm)}`);
      }
    } else if (dstType === NX_LEARN_DST.MATCH && dst && src) {
      const same = src.ref.header === dst.ref.header && src.ofs === dst.ofs;
      out.push(formatSubfield(dst.ref, dst.ofs, nBits) + (same ? '' : `=${formatSubfield(src.ref, src.ofs, nBits)}`));
    } else if (dstType === NX_LEARN_DST.LOAD && dst) {
      out.push(`load:${imm ? immHex(imm) : formatSubfield(src!.ref, src!.ofs, nBits)}->${formatSubfield(dst.ref, dst.ofs, nBits)}`);
    } else if (dstType === NX_LEARN_DST.OUTPUT && src) {
      out.push(`output:${formatSubfield(src.ref, src.ofs, nBits)}`);
    } else {
      throw new Error('bad spec');
    }
  }
  return out;
}

export function formatLearn(a: Learn): string {
  const parts = [`table=${a.tableId}`];
  if (a.idleTimeout) parts.push(`idle_timeout=${a.idleTimeout}`);
  if (a.hardTimeout) parts.push(`hard_timeout=${a.hardTimeout}`);
  if (a.finIdleTimeout) parts.push(`fin_idle_timeout=${a.finIdleTimeout}`);
  if (a.finHardTimeout) parts.push(`fin_hard_timeout=${a.finHardTimeout}`);
  if (a.priority !== OFP_DEFAULT_PRIORITY) parts.push(`priority=${a.priority}`);
  if (a.flags & NX_LEARN_F.SEND_FLOW_REM) parts.push('send_flow_rem');
  if (a.flags & NX_LEARN_F.DELETE_LEARNED) parts.push('delete_learned');
  if (a.cookie) parts.push(`cookie=${hex0x(a.cookie)}`);
  try {
    parts.push(...formatSpecs(a.specs));
  } catch {
    // Specs we cannot read are shown raw rather than dropped.
    parts.push(`specs=${Array.from(a.specs, (x) => x.toString(16).padStart(2, '0')).join('')}`);
  }
  return `learn(${parts.join(',')})`;
}
