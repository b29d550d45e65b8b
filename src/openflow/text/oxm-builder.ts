// The `oxm()` builder code that makes flows uses for one match field or set_field payload. It lives with the text
// syntax because a string value is read as ovs-ofctl reads it; numbers, bigints and bytes are taken as they are.
import type { OxmField } from '../types.js';
import { fieldByName, type FieldInfo } from '../oxm-fields.js';
import { newBytes, parseFieldValue } from './field-value.js';

export type BuilderValue = string | number | bigint | Uint8Array;

function toBytes(info: FieldInfo, v: number | bigint | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== info.length) throw new Error(`oxm: ${what} for '${info.name}' must be ${info.length} bytes, got ${v.length}`);
    return v;
  }
  const out = newBytes(info.length);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && (info.length >= 7 || v < 2 ** (8 * info.length))) {
    let n = v;
    for (let i = info.length - 1; i >= 0 && n > 0; i--) {
      out[i] = n % 256;
      n = Math.floor(n / 256);
    }
    return out;
  }
  if (typeof v === 'bigint' && v >= 0n && v < 1n << BigInt(8 * info.length)) {
    let n = v;
    for (let i = info.length - 1; i >= 0 && n > 0n; i--) {
      out[i] = Number(n & 0xffn);
      n >>= 8n;
    }
    return out;
  }
  throw new Error(`oxm: bad ${what} '${String(v)}' for '${info.name}'`);
}

/**
 * Builds one match field / set_field payload, for code that builds flows. Numbers, bigints and byte arrays are
 * taken as the big-endian value; strings are parsed as ovs-ofctl would (`oxm('eth_dst', '01:00:00:00:00:00/01:...')`).
 * An all-ones mask is dropped (an exact match); value bits outside the mask are an error.
 */
export function oxm(name: string, value: BuilderValue, mask?: BuilderValue): OxmField {
  const info = fieldByName(name);
  if (!info) throw new Error(`unknown field '${name}'`);
  let v: Uint8Array;
  let m: Uint8Array | undefined;
  if (typeof value === 'string') {
    const parsed = parseFieldValue(info, value);
    v = parsed.value;
    m = parsed.mask;
  } else {
    v = toBytes(info, value, 'value');
  }
  if (mask !== undefined) {
    if (m) throw new Error(`oxm: '${name}' has a mask in both value and mask arguments`);
    m = typeof mask === 'string' ? parseFieldValue(info, mask).value : toBytes(info, mask, 'mask');
  }
  if (m) {
    if (!info.maskable) throw new Error(`field '${info.name}' does not support masking`);
    let allOnes = true;
    for (let i = 0; i < m.length; i++) {
      if ((v[i]! & ~m[i]!) !== 0) throw new Error(`oxm: value of '${info.name}' has bits outside its mask`);
      if (m[i] !== 0xff) allOnes = false;
    }
    if (allOnes) m = undefined;
  }
  return m ? { field: info.name, value: v, mask: m } : { field: info.name, value: v };
}
