// A flow's identity and behaviour in canonical form, computed on wire bytes: its *key* is (table, priority, match)
// with the match compared order-independently (a switch may list fields in another order than it was sent them)
// and masks normalised; its *fingerprint* is its instructions in the order the switch executes them. Flows read
// from a switch (flow-stats entries, never decoded into objects) and flows about to be sent (encoded once by a
// FlowBodyEncoder) go through the same functions, so equal strings mean the same flow entry / the same behaviour.
import { Buffer } from 'node:buffer';
import { INSTRUCTION_ORDER, OFPIT } from './action-consts.js';
import { OFP_MAX_MESSAGE_LEN, OFPBRC, OFPET } from './consts.js';
import { CodecError } from './errors.js';
import { forEachRawFlowStats, type FlowStatsFixed, type RawFlowStats } from './flow-stats-raw.js';
import { instructionsEncodingLength, putInstructions } from './instructions.js';
import { decodeMatch, matchEncodingLength, OFP_MATCH_HEADER_LEN, OFPMT, putMatch } from './match.js';
import { OFPXMC } from './oxm-fields.js';
import { OFP_FLOW_MOD_HEAD_LEN } from './messages/flow-mod.js';
import { BUNDLE_ADD_HEAD_LEN } from './messages/bundle.js';
import { Reader } from './reader.js';
import { pad8 } from './writer.js';
import type { Instruction, Match } from './types.js';

/** The parts of a flow that identify it in its table. */
export interface FlowIdentity {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
}

const OXM_HAS_MASK = 0x100;
/** Characters of a flow key before its match: table id, then priority (big-endian). */
const KEY_PREFIX_LEN = 3;

const u32 = (b: Uint8Array, p: number): number => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
const badLen = (what: string, offset: number): CodecError => new CodecError(what, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, offset);
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Rank of each OFPIT code in INSTRUCTION_ORDER; experimenter and unknown instructions rank after all of them. */
const RANK_BY_CODE = new Map<number, number>(INSTRUCTION_ORDER.map((code, rank) => [code, rank]));
const LAST_RANK = INSTRUCTION_ORDER.length;
const instructionRank = (code: number): number => RANK_BY_CODE.get(code) ?? LAST_RANK;

/**
 * One masked OXM TLV in canonical form: an all-ones mask dropped, value bits outside the mask cleared; undefined
 * for an all-zeros mask (the field matches like an absent one).
 */
function canonicalMaskedTlv(b: Buffer, p: number, header: number, bodyStart: number, bodyLen: number): string | undefined {
  const n = bodyLen / 2;
  let allOnes = true;
  let allZeros = true;
  for (let i = 0; i < n; i++) {
    const m = b[bodyStart + n + i]!;
    if (m !== 0xff) allOnes = false;
    if (m !== 0) allZeros = false;
  }
  if (allZeros) return undefined;
  const exp = bodyStart - p - 4; // 4 when an experimenter id sits between header and value
  const out: number[] = [];
  const h = allOnes ? (header & ~OXM_HAS_MASK & ~0xff) | (exp + n) : header;
  out.push(h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
  for (let i = 0; i < exp; i++) out.push(b[p + 4 + i]!);
  for (let i = 0; i < n; i++) out.push(allOnes ? b[bodyStart + i]! : b[bodyStart + i]! & b[bodyStart + n + i]!);
  if (!allOnes) for (let i = 0; i < n; i++) out.push(b[bodyStart + n + i]!);
  return String.fromCharCode(...out);
}

/**
 * Whether the OXM TLVs in b[start, end) are canonical as they are: unmasked, no experimenter class, headers
 * ascending (the usual case, and what OVS sends back for what we sent). Checks every TLV's length.
 */
function oxmIsCanonical(b: Uint8Array, start: number, end: number): boolean {
  let p = start;
  let prev = -1;
  let canonical = true;
  while (p < end) {
    if (p + 4 > end) throw badLen(`OXM header overruns the match at ${p}`, p);
    const header = u32(b, p);
    const len = header & 0xff;
    if (p + 4 + len > end) throw badLen(`OXM 0x${header.toString(16)} overruns the match at ${p}`, p);
    if ((header & OXM_HAS_MASK) !== 0 || header <= prev || header >>> 16 === OXM_CLASS_EXPERIMENTER) canonical = false;
    prev = header;
    p += 4 + len;
  }
  return canonical;
}

const OXM_CLASS_EXPERIMENTER = OFPXMC.EXPERIMENTER;

/** The OXM TLVs in b[start, end) (checked by oxmIsCanonical) sorted by their bytes, masks normalised. */
function sortedOxm(b: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  for (let p = start; p < end; ) {
    const header = u32(b, p);
    const len = header & 0xff;
    const exp = header >>> 16 === OXM_CLASS_EXPERIMENTER ? 4 : 0;
    if (len < exp) throw badLen(`OXM experimenter field with length ${len}`, p);
    const bodyLen = len - exp;
    let tlv: string | undefined;
    if ((header & OXM_HAS_MASK) === 0) tlv = b.toString('latin1', p, p + 4 + len);
    else if (bodyLen % 2 !== 0) throw badLen(`masked OXM 0x${header.toString(16)} with odd length`, p);
    else tlv = canonicalMaskedTlv(b, p, header, p + 4 + exp, bodyLen);
    if (tlv !== undefined) parts.push(tlv);
    p += 4 + len;
  }
  return parts.sort().join('');
}

/**
 * A flow's key from its table, priority and the OXM TLVs in b[start, end): three latin1 characters, then the
 * canonical match. In the usual (already canonical) case the key is assembled in `scratch` at `at` and read out as
 * one flat string; `scratch` must have room for end - start + 3 bytes there.
 */
function flowKeyOfBytes(tableId: number, priority: number, b: Buffer, start: number, end: number, scratch: Buffer, at: number): string {
  if (!oxmIsCanonical(b, start, end)) return sortedFlowKey(tableId, priority, b, start, end);
  return canonicalFlowKeyOfBytes(tableId, priority, b, start, end, scratch, at);
}

/** The key of a match that is not canonical as it is (see oxmIsCanonical): its TLVs sorted. */
const sortedFlowKey = (tableId: number, priority: number, b: Buffer, start: number, end: number): string =>
  String.fromCharCode(tableId, priority >>> 8, priority & 0xff) + sortedOxm(b, start, end);

/** flowKeyOfBytes of a match oxmIsCanonical has passed. */
function canonicalFlowKeyOfBytes(tableId: number, priority: number, b: Buffer, start: number, end: number, scratch: Buffer, at: number): string {
  const n = end - start;
  scratch[at] = tableId;
  scratch[at + 1] = priority >>> 8;
  scratch[at + 2] = priority;
  // A byte loop: for the few dozen bytes of a match it is cheaper than Buffer.copy's native call.
  for (let i = 0; i < n; i++) scratch[at + KEY_PREFIX_LEN + i] = b[start + i]!;
  return scratch.toString('latin1', at, at + KEY_PREFIX_LEN + n);
}

/**
 * The instructions in b[start, end) as a comparable string: in execution order, without an empty apply_actions
 * (which is no instruction). Usually just their bytes; `whole`, when given, is b[0, end) as latin1 already (a slice
 * of it costs no copy).
 */
function instructionsFingerprintOfBytes(b: Buffer, start: number, end: number, whole?: string): string {
  return fingerprintOfCheckedBytes(b, start, end, instructionsAreCanonical(b, start, end), whole);
}

/** instructionsFingerprintOfBytes of instructions instructionsAreCanonical has checked (and found `canonical`). */
function fingerprintOfCheckedBytes(b: Buffer, start: number, end: number, canonical: boolean, whole?: string): string {
  if (canonical) return whole !== undefined ? whole.slice(start, end) : b.toString('latin1', start, end);
  const list: { rank: number; bytes: string }[] = [];
  for (let p = start; p < end; ) {
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (!(type === OFPIT.APPLY_ACTIONS && len <= 8)) list.push({ rank: instructionRank(type), bytes: b.toString('latin1', p, p + len) });
    p += len;
  }
  return list
    .sort((x, y) => x.rank - y.rank)
    .map((x) => x.bytes)
    .join('');
}

/** Table, priority and canonical match: equal keys, the same flow entry of a switch. */
export function canonicalFlowKey(f: FlowIdentity): string {
  const len = matchEncodingLength(f.match);
  const b = Buffer.allocUnsafe(2 * len + KEY_PREFIX_LEN);
  putMatch(new DataView(b.buffer, b.byteOffset, b.length), 0, f.match, b.length);
  return flowKeyOfBytes(f.tableId, f.priority, b, OFP_MATCH_HEADER_LEN, b.readUInt16BE(2), b, len);
}

/** A match as an order-independent string (masks normalised: all-ones dropped, value bits outside the mask cleared). */
export function canonicalMatch(match: Match): string {
  return canonicalFlowKey({ tableId: 0, priority: 0, match }).slice(KEY_PREFIX_LEN);
}

/** Instructions as a comparable string: equal strings, equal behaviour. */
export function canonicalInstructions(instructions: readonly Instruction[]): string {
  const len = instructionsEncodingLength(instructions);
  const b = Buffer.allocUnsafe(len);
  putInstructions(new DataView(b.buffer, b.byteOffset, len), 0, instructions, len);
  return instructionsFingerprintOfBytes(b, 0, len);
}

/**
 * The identity a flow key stands for (its match decoded from the key's canonical TLVs). The key may hold its TLVs
 * sorted by bytes (NXM before OXM), so prerequisites are not checked here: read loosely.
 */
export function flowIdentityOfKey(key: string): FlowIdentity {
  const b = Buffer.alloc(flowKeyMatchLength(key));
  putFlowKeyMatch(b, 0, key);
  return { tableId: key.charCodeAt(0), priority: (key.charCodeAt(1) << 8) | key.charCodeAt(2), match: decodeMatch(new Reader(b), true) };
}

/** Table id and priority of a flow key. */
export const flowKeyTable = (key: string): number => key.charCodeAt(0);
export const flowKeyPriority = (key: string): number => (key.charCodeAt(1) << 8) | key.charCodeAt(2);

/** Bytes of the padded ofp_match putFlowKeyMatch writes for `key`. */
export const flowKeyMatchLength = (key: string): number => pad8(OFP_MATCH_HEADER_LEN + key.length - KEY_PREFIX_LEN);

/** Writes the padded ofp_match (OXM) whose TLVs are the canonical match in `key` at `off`; returns the end. */
export function putFlowKeyMatch(buf: Buffer, off: number, key: string): number {
  const len = OFP_MATCH_HEADER_LEN + key.length - KEY_PREFIX_LEN;
  const end = off + pad8(len);
  buf.writeUInt16BE(OFPMT.OXM, off);
  buf.writeUInt16BE(len, off + 2);
  buf.write(key.slice(KEY_PREFIX_LEN), off + OFP_MATCH_HEADER_LEN, 'latin1');
  buf.fill(0, off + len, end);
  return end;
}

/**
 * A flow to send, encoded once: its key and fingerprint to compare, and the bytes of a FLOW_MOD after its fixed
 * part (the padded ofp_match, then the instructions) as a latin1 string, compact to keep and written into a
 * buffer natively.
 */
export interface EncodedFlowBody {
  readonly key: string;
  readonly fingerprint: string;
  readonly body: string;
}

/** Largest flow body that fits a bundled FLOW_MOD: a message's maximum less the BUNDLE_ADD and FLOW_MOD heads. */
export const MAX_FLOW_BODY_LEN = OFP_MAX_MESSAGE_LEN - BUNDLE_ADD_HEAD_LEN - OFP_FLOW_MOD_HEAD_LEN;

/**
 * Encodes flows' match and instructions and derives their key and fingerprint, in a scratch buffer of its own
 * (flows are encoded one at a time, synchronously): one per user, e.g. the cache of encoded desired flows.
 */
export class FlowBodyEncoder {
  /** A body, then its key after it: room for the largest of both. */
  readonly #scratch = Buffer.allocUnsafe(2 * OFP_MAX_MESSAGE_LEN);
  readonly #view = new DataView(this.#scratch.buffer, this.#scratch.byteOffset, this.#scratch.length);

  /** Throws when the flow does not fit one bundled FLOW_MOD (MAX_FLOW_BODY_LEN). */
  encode(f: FlowIdentity & { readonly instructions: readonly Instruction[] }): EncodedFlowBody {
    const s = this.#scratch;
    // Sized first: the scratch has room for any body that may be sent, and a larger one is refused unwritten.
    const matchLen = matchEncodingLength(f.match);
    const len = matchLen + instructionsEncodingLength(f.instructions);
    if (len > MAX_FLOW_BODY_LEN) throw new Error(`flow table=${f.tableId},priority=${f.priority} is too large for one flow mod (${len} bytes of match and instructions)`);
    putInstructions(this.#view, putMatch(this.#view, 0, f.match, len), f.instructions, len);
    const body = s.toString('latin1', 0, len);
    const fingerprint = instructionsFingerprintOfBytes(s, matchLen, len, body);
    return { key: flowKeyOfBytes(f.tableId, f.priority, s, OFP_MATCH_HEADER_LEN, s.readUInt16BE(2), s, len), fingerprint, body };
  }
}

/** One flow-stats entry reduced to what reconciliation compares. The same object is handed to every call. */
export interface FlowStatsIdentity extends FlowStatsFixed {
  /** canonicalFlowKey of the entry. */
  key: string;
  /** canonicalInstructions of the entry. */
  fingerprint: string;
}

/**
 * Calls `visit` for each entry of one OFPMP_FLOW multipart reply frame with its key and fingerprint, computed
 * straight from the entry's bytes (nothing is decoded into objects). Every length is checked, the match's and the
 * instructions' inside their entry too; malformed input throws a CodecError before `visit` sees the entry.
 */
export function forEachFlowStatsIdentity(frame: Uint8Array, visit: (entry: FlowStatsIdentity) => void): void {
  const out: FlowStatsIdentity = { tableId: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, cookieHi: 0, cookieLo: 0, key: '', fingerprint: '' };
  forEachFlowStatsEntry(frame, undefined, (e) => {
    out.tableId = e.tableId;
    out.priority = e.priority;
    out.idleTimeout = e.idleTimeout;
    out.hardTimeout = e.hardTimeout;
    out.flags = e.flags;
    out.cookieHi = e.cookieHi;
    out.cookieLo = e.cookieLo;
    out.key = e.key();
    out.fingerprint = e.fingerprint();
    visit(out);
  });
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a of a flow key's characters (latin1: one byte each). */
function hashKey(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h;
}

/** FNV-1a of the key a canonical match in b[start, end) has (hashKey of the string flowKeyOfBytes would make). */
function hashKeyBytes(tableId: number, priority: number, b: Uint8Array, start: number, end: number): number {
  let h = Math.imul(FNV_OFFSET ^ tableId, FNV_PRIME);
  h = Math.imul(h ^ (priority >>> 8), FNV_PRIME);
  h = Math.imul(h ^ (priority & 0xff), FNV_PRIME);
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  return h;
}

function keyEqualsBytes(key: string, tableId: number, priority: number, b: Uint8Array, start: number, end: number): boolean {
  if (key.length !== KEY_PREFIX_LEN + end - start) return false;
  if (key.charCodeAt(0) !== tableId || key.charCodeAt(1) !== priority >>> 8 || key.charCodeAt(2) !== (priority & 0xff)) return false;
  for (let i = start, j = KEY_PREFIX_LEN; i < end; i++, j++) if (key.charCodeAt(j) !== b[i]) return false;
  return true;
}

/**
 * Flow keys (canonicalFlowKey strings) mapped to numbers (e.g. positions in a list of desired flows), which a
 * flow-stats entry is looked up in straight from its bytes: for an entry whose match is canonical as it is (what
 * OVS sends back for what it was sent) no key string is made. Open addressing over FNV-1a hashes.
 */
export class FlowKeyIndex {
  #keys: (string | undefined)[];
  #hashes: Int32Array;
  #values: Int32Array;
  #size = 0;

  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.#keys = new Array<string | undefined>(cap).fill(undefined);
    this.#hashes = new Int32Array(cap);
    this.#values = new Int32Array(cap);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `key` with `value` (>= 0) unless an equal key is there: then returns that key's value, else -1. */
  add(key: string, value: number): number {
    if (!(value >= 0 && value <= 0x7fffffff)) throw new RangeError(`FlowKeyIndex value ${value} out of range`);
    if (2 * (this.#size + 1) > this.#keys.length) this.#grow();
    const h = hashKey(key);
    const mask = this.#keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.#keys[i];
      if (k === undefined) {
        this.#keys[i] = key;
        this.#hashes[i] = h;
        this.#values[i] = value;
        this.#size++;
        return -1;
      }
      if (this.#hashes[i] === h && k === key) return this.#values[i]!;
    }
  }

  /** The value of `key`, or -1. */
  get(key: string): number {
    const h = hashKey(key);
    const mask = this.#keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.#keys[i];
      if (k === undefined) return -1;
      if (this.#hashes[i] === h && k === key) return this.#values[i]!;
    }
  }

  /** The value of the key of a canonical match in b[start, end), or -1. */
  getBytes(tableId: number, priority: number, b: Uint8Array, start: number, end: number): number {
    const h = hashKeyBytes(tableId, priority, b, start, end);
    const mask = this.#keys.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.#keys[i];
      if (k === undefined) return -1;
      if (this.#hashes[i] === h && keyEqualsBytes(k, tableId, priority, b, start, end)) return this.#values[i]!;
    }
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const cap = keys.length * 2;
    this.#keys = new Array<string | undefined>(cap).fill(undefined);
    this.#hashes = new Int32Array(cap);
    this.#values = new Int32Array(cap);
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== undefined) this.add(keys[i]!, values[i]!);
  }
}

/**
 * One flow-stats entry as `forEachFlowStatsEntry` hands it over: its fixed fields, its key's value in the caller's
 * FlowKeyIndex, and its key and fingerprint made as strings only when asked for. The same object is handed to every
 * call of the visitor and is valid only during the call.
 */
export interface FlowStatsEntry extends Readonly<FlowStatsFixed> {
  /** The value of the entry's key in the index given, or -1 (also without an index). */
  readonly found: number;
  /** canonicalFlowKey of the entry (a new string). */
  key(): string;
  /** canonicalInstructions of the entry (a new string). */
  fingerprint(): string;
  /** Whether canonicalInstructions of the entry equals `fp`: compared on the bytes, no string made in the usual case. */
  hasFingerprint(fp: string): boolean;
}

/** Filled by forEachRawFlowStats itself (an entry's fields are not copied out of the frame twice). */
class EntryCursor implements FlowStatsEntry, RawFlowStats {
  start = 0;
  end = 0;
  tableId = 0;
  priority = 0;
  idleTimeout = 0;
  hardTimeout = 0;
  flags = 0;
  cookieHi = 0;
  cookieLo = 0;
  found = -1;
  /** The entry's key when it had to be made to be looked up (a match not canonical as it is). */
  madeKey: string | undefined = undefined;
  /** Whether the match is canonical as it is (then its key is made from its bytes, when asked for). */
  oxmCanonical = true;
  oxmStart = 0;
  oxmEnd = 0;
  instructionsStart = 0;
  instructionsCanonical = true;

  constructor(
    readonly b: Buffer,
    readonly scratch: Buffer,
  ) {}

  key(): string {
    if (this.oxmCanonical) return canonicalFlowKeyOfBytes(this.tableId, this.priority, this.b, this.oxmStart, this.oxmEnd, this.scratch, 0);
    return (this.madeKey ??= sortedFlowKey(this.tableId, this.priority, this.b, this.oxmStart, this.oxmEnd));
  }

  fingerprint(): string {
    return fingerprintOfCheckedBytes(this.b, this.instructionsStart, this.end, this.instructionsCanonical);
  }

  hasFingerprint(fp: string): boolean {
    if (!this.instructionsCanonical) return this.fingerprint() === fp;
    const b = this.b;
    const start = this.instructionsStart;
    if (fp.length !== this.end - start) return false;
    for (let i = 0; i < fp.length; i++) if (fp.charCodeAt(i) !== b[start + i]) return false;
    return true;
  }
}

/** Checks the instructions in b[start, end) (every length) and tells whether their bytes are their fingerprint. */
function instructionsAreCanonical(b: Uint8Array, start: number, end: number): boolean {
  let p = start;
  let prevRank = -1;
  let canonical = true;
  while (p < end) {
    if (p + 4 > end) throw badLen(`instruction header overruns the flow at ${p}`, p);
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (len < 4 || p + len > end) throw badLen(`instruction ${type} has length ${len}`, p);
    const rank = instructionRank(type);
    if (rank < prevRank || (type === OFPIT.APPLY_ACTIONS && len <= 8)) canonical = false;
    prevRank = rank;
    p += len;
  }
  return canonical;
}

/**
 * Calls `visit` for each entry of one OFPMP_FLOW multipart reply frame, with the value its key has in `index` (a
 * lookup on the bytes): a caller comparing what a switch has with what it wants makes strings only for the entries
 * that differ. Every length is checked as by forEachFlowStatsIdentity; malformed input throws a CodecError before
 * `visit` sees the entry.
 */
export function forEachFlowStatsEntry(frame: Uint8Array, index: FlowKeyIndex | undefined, visit: (entry: FlowStatsEntry) => void): void {
  const b = asBuffer(frame);
  const c = new EntryCursor(b, Buffer.allocUnsafe(b.length + KEY_PREFIX_LEN));
  forEachRawFlowStats(
    b,
    () => {
      c.madeKey = undefined;
      try {
        // The match first, as it comes first in the entry.
        c.oxmCanonical = oxmIsCanonical(b, c.oxmStart, c.oxmEnd);
        if (c.oxmCanonical) c.found = index ? index.getBytes(c.tableId, c.priority, b, c.oxmStart, c.oxmEnd) : -1;
        else {
          // Made (and so checked) with or without an index to look it up in.
          c.madeKey = sortedFlowKey(c.tableId, c.priority, b, c.oxmStart, c.oxmEnd);
          c.found = index ? index.get(c.madeKey) : -1;
        }
        c.instructionsCanonical = instructionsAreCanonical(b, c.instructionsStart, c.end);
      } catch (err) {
        if (err instanceof CodecError) throw new CodecError(`flow stats reply: ${err.message}`, err.ofpType, err.ofpCode, c.start);
        throw err;
      }
      visit(c);
    },
    c,
  );
}

/**
 * Checks one OFPMP_FLOW reply frame exactly as forEachFlowStatsEntry does (every length, every OXM TLV and
 * instruction) and makes nothing: no key, no string. For a socket's read callback, which no turn gate bounds: OVS
 * sends matches in its own field order, and making their sorted keys there (50 switches' reply parts read in one
 * poll phase) held the event loop for 200 ms at 50 nodes.
 */
export function checkFlowStatsFrame(frame: Uint8Array): void {
  const b = asBuffer(frame);
  forEachRawFlowStats(b, (e) => {
    try {
      instructionsAreCanonical(b, e.instructionsStart, e.end);
      if (!oxmIsCanonical(b, e.oxmStart, e.oxmEnd)) checkOxmTlvs(b, e.oxmStart, e.oxmEnd);
    } catch (err) {
      if (err instanceof CodecError) throw new CodecError(`flow stats reply: ${err.message}`, err.ofpType, err.ofpCode, e.start);
      throw err;
    }
  });
}

/** What sortedOxm checks beyond oxmIsCanonical (which checked every TLV's length), without its strings. */
function checkOxmTlvs(b: Buffer, start: number, end: number): void {
  for (let p = start; p < end; ) {
    const header = u32(b, p);
    const len = header & 0xff;
    const exp = header >>> 16 === OXM_CLASS_EXPERIMENTER ? 4 : 0;
    if (len < exp) throw badLen(`OXM experimenter field with length ${len}`, p);
    if ((header & OXM_HAS_MASK) !== 0 && (len - exp) % 2 !== 0) throw badLen(`masked OXM 0x${header.toString(16)} with odd length`, p);
    p += 4 + len;
  }
}
