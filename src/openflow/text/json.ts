// A JSON form of messages for people (`minicloud ofp decode|encode`): bigints as strings (ids and cookies in 0x
// hex, counters in decimal), byte arrays as hex strings, match and set_field fields as { field, value, mask? } with
// values in ovs-ofctl notation. messageToJSON(messageFromJSON(j)) is stable for any j messageToJSON produced.
import type { Message, MessageType, OxmField } from '../types.js';
import { type FieldInfo, fieldByName } from '../oxm-fields.js';
import { formatFieldValue, parseFieldValue } from './field-value.js';
import { isMultipartType, messageTypes } from '../message.js';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** bigint properties shown in hex (identifiers and bit patterns); every other bigint is a decimal counter. */
const HEX_BIGINTS = new Set(['cookie', 'cookieMask', 'datapathId', 'metadata', 'mask', 'metadataMatch', 'metadataWrite', 'generationId', 'value']);

/** Every bigint property in the Message union, Action and Instruction types ('mask' only under write_metadata). */
const BIGINTS = new Set([
  ...HEX_BIGINTS,
  'packetCount',
  'byteCount',
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxDropped',
  'txDropped',
  'rxErrors',
  'txErrors',
  'rxFrameErr',
  'rxOverErr',
  'rxCrcErr',
  'collisions',
  'lookupCount',
  'matchedCount',
  'packetInCount',
  'byteInCount',
  'packetBandCount',
  'byteBandCount',
]);

/** Uint8Array properties ('properties' is bytes in bundle messages, a list of TLVs elsewhere). */
const BYTES = new Set(['data', 'extra', 'raw', 'note', 'specs', 'userdata', 'ipv6Min', 'ipv6Max', 'properties']);

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function fromHex(s: string, what: string): Uint8Array {
  const clean = s.startsWith('0x') ? s.slice(2) : s;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new TypeError(`${what}: not a hex string: ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));

/** Text for one value of a field, or undefined when ovs-ofctl syntax would not give back exactly these bytes. */
function fieldText(info: FieldInfo, bytes: Uint8Array): string | undefined {
  try {
    const text = formatFieldValue(info, bytes);
    const back = parseFieldValue(info, text);
    return back.mask === undefined && sameBytes(back.value, bytes) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * { field, value, mask? } in ovs-ofctl syntax. Fields that syntax can't carry exactly (unknown fields, wrong
 * lengths, bits outside the mask as a peer may send them) use hex and `raw: true`, so decoding stays lossless.
 */
function oxmToJSON(f: OxmField): Json {
  const info = f.field === 'unknown' ? undefined : fieldByName(f.field);
  const value = info && fieldText(info, f.value);
  const mask = info && f.mask && fieldText(info, f.mask);
  const out: Record<string, Json> = { field: f.field };
  if (value !== undefined && (f.mask === undefined || mask !== undefined)) {
    out['value'] = value;
    if (mask !== undefined) out['mask'] = mask;
  } else {
    out['value'] = toHex(f.value);
    if (f.mask) out['mask'] = toHex(f.mask);
    out['raw'] = true;
  }
  if (f.header !== undefined) out['header'] = f.header;
  if (f.experimenter !== undefined) out['experimenter'] = f.experimenter;
  return out;
}

function oxmFromJSON(j: unknown, path: string): OxmField {
  if (typeof j !== 'object' || j === null) throw new TypeError(`${path}: a match field must be an object`);
  const o = j as Record<string, unknown>;
  if (typeof o['field'] !== 'string') throw new TypeError(`${path}.field must be a string`);
  const name = o['field'];
  const info = name === 'unknown' ? undefined : fieldByName(name);
  if (name !== 'unknown' && !info) throw new TypeError(`${path}: unknown field '${name}'`);
  const raw = o['raw'] === true || !info;
  const text = (v: unknown, what: string): string => {
    if (typeof v !== 'string') throw new TypeError(`${path}.${what} must be a string`);
    return v;
  };
  const f: { field: string; value: Uint8Array; mask?: Uint8Array; header?: number; experimenter?: number } = { field: name, value: new Uint8Array(0) };
  if (raw) {
    f.value = fromHex(text(o['value'], 'value'), `${path}.value`);
    if (o['mask'] !== undefined) f.mask = fromHex(text(o['mask'], 'mask'), `${path}.mask`);
  } else {
    // A hand-written "10.0.0.0/8" carries its mask in the value.
    const parsed = parseFieldValue(info, text(o['value'], 'value'));
    f.value = parsed.value;
    if (o['mask'] !== undefined) f.mask = parseFieldValue(info, text(o['mask'], 'mask')).value;
    else if (parsed.mask) f.mask = parsed.mask;
  }
  if (typeof o['header'] === 'number') f.header = o['header'];
  if (typeof o['experimenter'] === 'number') f.experimenter = o['experimenter'];
  return f;
}

function toJSONValue(v: unknown, key: string | undefined): Json | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return HEX_BIGINTS.has(key ?? '') ? `0x${v.toString(16)}` : v.toString();
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) {
    if (key === 'match') return v.map((f: OxmField) => oxmToJSON(f));
    return v.map((e) => toJSONValue(e, undefined) ?? null);
  }
  if (typeof v === 'object' && v !== null) {
    if (key === 'field' && (v as { value?: unknown }).value instanceof Uint8Array) return oxmToJSON(v as OxmField);
    const out: Record<string, Json> = {};
    for (const [k, e] of Object.entries(v)) {
      const j = toJSONValue(e, k);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return v as Json;
}

function fromJSONValue(v: unknown, key: string | undefined, parentType: unknown, path: string): unknown {
  if (v === null) throw new TypeError(`${path}: null is not allowed`);
  const isBigint = key !== undefined && BIGINTS.has(key) && (key !== 'mask' || parentType === 'write_metadata') && (key !== 'value' || parentType === 'nx_reg_load');
  if (isBigint) {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v);
    throw new TypeError(`${path}: expected an unsigned integer (number, decimal or 0x hex string)`);
  }
  if (typeof v === 'string' && key !== undefined && BYTES.has(key)) return fromHex(v, path);
  if (Array.isArray(v)) {
    if (key === 'match') return v.map((f, i) => oxmFromJSON(f, `${path}[${i}]`));
    return v.map((e, i) => fromJSONValue(e, undefined, undefined, `${path}[${i}]`));
  }
  if (typeof v === 'object') {
    if (key === 'field') return oxmFromJSON(v, path);
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(o)) out[k] = fromJSONValue(e, k, o['type'], `${path}.${k}`);
    return out;
  }
  return v;
}

/** The JSON form of a message (plain data: JSON.stringify it as is). */
export function messageToJSON(msg: Message): Json {
  return toJSONValue(msg, undefined) as Json;
}

const known = new Set<string>(messageTypes);

/**
 * A message from its JSON form. Numbers stay numbers; bigint properties take numbers or decimal/0x strings; byte
 * properties take hex; match fields take ovs-ofctl value syntax. `xid` defaults to 0 and multipart `flags` to 0.
 * Throws TypeError on malformed input (the encoder then checks ranges).
 */
export function messageFromJSON(json: unknown): Message {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError('message: expected a JSON object');
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string' || !known.has(type)) throw new TypeError(`message.type: unknown message type ${JSON.stringify(type)}`);
  const msg = fromJSONValue(json, undefined, undefined, 'message') as Record<string, unknown>;
  if (msg['xid'] === undefined) msg['xid'] = 0;
  if (msg['flags'] === undefined && isMultipartType(type as MessageType)) msg['flags'] = 0;
  // The embedded message of a bundle_add or requestforward gets the same defaults.
  if (type === 'bundle_add' || type === 'requestforward') msg['message'] = messageFromJSON((json as { message?: unknown }).message);
  return msg as unknown as Message;
}
