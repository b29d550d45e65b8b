// Canonical identities for reconciliation, computed on encoded bytes. A flow's *key* is (table, priority, match)
// with the match compared order-independently (the switch may list fields in another order than we sent them); its
// *fingerprint* is its instructions in the order the switch executes them; its *attributes* are the timeouts and
// the state flags. Installed flows (raw flow-stats entries) and desired flows (encoded once, see encodedFlow) go
// through the same functions, so equal strings mean equal flows without decoding anything the switch sends.
import { Buffer } from 'node:buffer';
import { OFPFF, OFPGT, OFPG, OFPMF, OFPP } from '../openflow/consts.js';
import { encodeInstructions, instructionsEncodingLength } from '../openflow/instructions.js';
import { encodeMatch, matchEncodingLength } from '../openflow/match.js';
import { encodeMessage } from '../openflow/message.js';
import { Writer } from '../openflow/writer.js';
import type { Bucket, Instruction, Match, MeterBand } from '../openflow/types.js';

/** The parts of a flow that identify it in its table. */
export interface FlowIdentity {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
}

/** The parts of a flow a sync installs besides its identity. */
export interface FlowBody {
  readonly instructions: readonly Instruction[];
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
  readonly flags?: number;
}

/** Flags the switch keeps with a flow (others, such as CHECK_OVERLAP, only steer the flow mod). */
const STATE_FLAGS = OFPFF.SEND_FLOW_REM | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS;

const OXM_HAS_MASK = 0x100;
const OXM_CLASS_EXPERIMENTER = 0xffff;

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const latin1 = (b: Uint8Array): string => asBuffer(b).toString('latin1');
const u32 = (b: Uint8Array, p: number): number => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/** Thrown for bytes that are not a well-formed OXM list / instruction list (the caller decides what that means). */
export class FlowBytesError extends Error {
  override readonly name = 'FlowBytesError';
}

/**
 * One OXM TLV in canonical form: masks normalised (an all-ones mask dropped, value bits outside the mask cleared),
 * undefined for a fully wildcarded field (it matches like an absent one).
 */
function canonicalTlv(b: Buffer, p: number, header: number, bodyStart: number, bodyLen: number): string | undefined {
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

/** Whether the OXM TLVs in b[start, end) are already canonical: unmasked, no experimenter, headers ascending. */
function simpleOxm(b: Uint8Array, start: number, end: number): boolean {
  let p = start;
  let prev = -1;
  let simple = true;
  while (p < end) {
    if (p + 4 > end) throw new FlowBytesError(`OXM header overruns the match at ${p}`);
    const header = u32(b, p);
    const len = header & 0xff;
    if (p + 4 + len > end) throw new FlowBytesError(`OXM 0x${header.toString(16)} overruns the match`);
    if ((header & OXM_HAS_MASK) !== 0 || header <= prev || header >>> 16 === OXM_CLASS_EXPERIMENTER) simple = false;
    prev = header;
    p += 4 + len;
  }
  return simple;
}

/**
 * The OXM TLVs in b[start, end) as an order-independent string: TLVs sorted by their bytes, masks normalised.
 * When the TLVs are unmasked and already in ascending header order (the usual case) this is just their bytes.
 */
export function canonicalOxm(b: Buffer, start: number, end: number): string {
  return simpleOxm(b, start, end) ? b.toString('latin1', start, end) : sortedOxm(b, start, end);
}

function sortedOxm(b: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  for (let p = start; p < end; ) {
    const header = u32(b, p);
    const len = header & 0xff;
    const exp = header >>> 16 === OXM_CLASS_EXPERIMENTER ? 4 : 0;
    if (len < exp) throw new FlowBytesError(`OXM experimenter field with length ${len}`);
    const bodyLen = len - exp;
    let tlv: string | undefined;
    if ((header & OXM_HAS_MASK) === 0) tlv = b.toString('latin1', p, p + 4 + len);
    else if (bodyLen % 2 !== 0) throw new FlowBytesError(`masked OXM 0x${header.toString(16)} with odd length`);
    else tlv = canonicalTlv(b, p, header, p + 4 + exp, bodyLen);
    if (tlv !== undefined) parts.push(tlv);
    p += 4 + len;
  }
  return parts.sort().join('');
}

/** Bytes of a key before its match: table id, then priority (big-endian). */
export const KEY_PREFIX_LEN = 3;
let keyScratch = Buffer.allocUnsafe(1024);

/**
 * A flow's key: its table id and priority as three latin1 characters, then its canonical match (canonicalOxm of
 * the OXM TLVs in b[start, end)). Built as one string in the usual case.
 */
export function flowKeyOf(tableId: number, priority: number, b: Buffer, start: number, end: number): string {
  if (!simpleOxm(b, start, end)) return String.fromCharCode(tableId, priority >>> 8, priority & 0xff) + sortedOxm(b, start, end);
  const n = end - start;
  if (n + KEY_PREFIX_LEN > keyScratch.length) keyScratch = Buffer.allocUnsafe(n + KEY_PREFIX_LEN);
  const k = keyScratch;
  k[0] = tableId;
  k[1] = priority >>> 8;
  k[2] = priority;
  for (let i = 0; i < n; i++) k[KEY_PREFIX_LEN + i] = b[start + i]!;
  return k.toString('latin1', 0, KEY_PREFIX_LEN + n);
}

/** OFPIT_* by the rank of the order the switch executes (and OVS reports) instructions in. */
function instructionRank(type: number): number {
  switch (type) {
    case 6: // meter
      return 0;
    case 4: // apply_actions
      return 1;
    case 5: // clear_actions
      return 2;
    case 3: // write_actions
      return 3;
    case 2: // write_metadata
      return 4;
    case 1: // goto_table
      return 5;
    default: // experimenter and anything unknown
      return 6;
  }
}

const APPLY_ACTIONS = 4;

/**
 * The instructions in b[start, end) as a comparable string: in execution order, without an empty apply_actions
 * (which is no instruction). Equal strings, equal behaviour. Usually just their bytes.
 */
export function canonicalInstructionBytes(b: Buffer, start: number, end: number, wholeAsString?: string): string {
  let p = start;
  let prevRank = -1;
  let simple = true;
  while (p < end) {
    if (p + 4 > end) throw new FlowBytesError(`instruction header overruns the flow at ${p}`);
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (len < 4 || p + len > end) throw new FlowBytesError(`instruction ${type} has length ${len}`);
    const rank = instructionRank(type);
    if (rank < prevRank || (type === APPLY_ACTIONS && len <= 8)) simple = false;
    prevRank = rank;
    p += len;
  }
  // `wholeAsString` is b[0, end) as latin1 already: a slice of it costs no copy.
  if (simple) return wholeAsString !== undefined ? wholeAsString.slice(start, end) : b.toString('latin1', start, end);
  const list: { rank: number; bytes: string }[] = [];
  for (p = start; p < end; ) {
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (!(type === APPLY_ACTIONS && len <= 8)) list.push({ rank: instructionRank(type), bytes: b.toString('latin1', p, p + len) });
    p += len;
  }
  return list
    .sort((x, y) => x.rank - y.rank)
    .map((x) => x.bytes)
    .join('');
}

/** Timeouts and the flags the switch keeps, as one number: a difference here needs the flow replaced, not just modified. */
export function flowAttributes(f: FlowBody): number {
  return (f.idleTimeout ?? 0) * 0x1_0000_0000 + (f.hardTimeout ?? 0) * 0x1_0000 + ((f.flags ?? 0) & STATE_FLAGS);
}

/** flowAttributes from the raw fields of a flow-stats entry. */
export const rawFlowAttributes = (idle: number, hard: number, flags: number): number => idle * 0x1_0000_0000 + hard * 0x1_0000 + (flags & STATE_FLAGS);

/**
 * A desired flow encoded once: the key and fingerprint to compare, and the bytes to send (the ofp_match with its
 * padding, then the instructions) as a latin1 string, which is compact and is written into a buffer natively.
 */
export interface EncodedFlow {
  readonly key: string;
  readonly attrs: number;
  readonly fp: string;
  readonly body: string;
  /** Bytes of `body` that are the padded ofp_match. */
  readonly matchLen: number;
}

/** Reused encoding buffer: flows are encoded one at a time, synchronously. */
const scratch = Buffer.allocUnsafe(128 * 1024);

// The pipeline shares immutable flow objects between syncs (and datapaths): each is encoded only once. The
// encoding rides on the object itself under a private, non-enumerable symbol (invisible to spreads, JSON, keys and
// equality checks). A WeakMap was measured first: with 100k+ live entries its ephemeron table rehashes cost up to
// 0.3 s on the first insertion after a full GC, which is exactly when one flow changes. Frozen objects fall back to it.
const ENCODED = Symbol('minicloud.encodedFlow');
const frozenCache = new WeakMap<object, EncodedFlow>();

type Carrier = { [ENCODED]?: EncodedFlow };

/** The encoding of a desired flow (cached by object identity: desired flows must not be mutated). */
export function encodedFlow(f: FlowIdentity & FlowBody): EncodedFlow {
  const own = (f as Carrier)[ENCODED];
  if (own !== undefined && Object.prototype.hasOwnProperty.call(f, ENCODED)) return own;
  if (!Object.isExtensible(f)) {
    let e = frozenCache.get(f);
    if (e === undefined) frozenCache.set(f, (e = encodeFlow(f)));
    return e;
  }
  const e = encodeFlow(f);
  Object.defineProperty(f, ENCODED, { value: e, enumerable: false, writable: false, configurable: false });
  return e;
}

/** Largest flow body (match + instructions) that fits a bundled flow mod: 65535 - 24 (bundle_add) - 48 (flow_mod). */
const MAX_BODY = 65535 - 24 - 48;

function encodeFlow(f: FlowIdentity & FlowBody): EncodedFlow {
  // No length pass first: the scratch buffer is larger than any flow that can be sent.
  const w = new Writer(scratch);
  try {
    encodeMatch(w, f.match);
    const matchLen = w.pos;
    encodeInstructions(w, f.instructions);
    const len = w.pos;
    if (len > MAX_BODY) throw new RangeError('overrun');
    const oxmEnd = (scratch[2]! << 8) | scratch[3]!;
    const body = scratch.toString('latin1', 0, len);
    const fp = canonicalInstructionBytes(scratch, matchLen, len, body);
    return { key: flowKeyOf(f.tableId, f.priority, scratch, 4, oxmEnd), attrs: flowAttributes(f), fp, body, matchLen };
  } catch (e) {
    if (e instanceof RangeError) throw new Error(`flow table=${f.tableId},priority=${f.priority} is too large for one flow mod`);
    throw e;
  }
}

/** The match as an order-independent string (masks normalised: all-ones dropped, value bits outside the mask cleared). */
export function matchKey(match: Match): string {
  const len = matchEncodingLength(match);
  const b = Buffer.allocUnsafe(len);
  encodeMatch(new Writer(b), match);
  return canonicalOxm(b, 4, (b[2]! << 8) | b[3]!);
}

/** Table, priority and canonical match: equal keys, the same flow entry of the switch. */
export function flowKey(f: FlowIdentity): string {
  const len = matchEncodingLength(f.match);
  const b = Buffer.allocUnsafe(len);
  encodeMatch(new Writer(b), f.match);
  return flowKeyOf(f.tableId, f.priority, b, 4, (b[2]! << 8) | b[3]!);
}

/** The instructions as a comparable string: equal strings, equal behaviour. */
export function instructionsFingerprint(instructions: readonly Instruction[]): string {
  const len = instructionsEncodingLength(instructions);
  const b = Buffer.allocUnsafe(len);
  encodeInstructions(new Writer(b), instructions);
  return canonicalInstructionBytes(b, 0, len);
}

/** The padded ofp_match (OXM) whose TLVs are the canonical match in `key` (for deleting an installed flow). */
export function matchBytesOfKey(key: string): Buffer {
  const start = KEY_PREFIX_LEN;
  const n = key.length - start;
  const len = 4 + n;
  const b = Buffer.alloc((len + 7) & ~7);
  b[1] = 1; // OFPMT_OXM
  b[2] = len >>> 8;
  b[3] = len & 0xff;
  b.write(key.slice(start), 4, 'latin1');
  return b;
}

/** A group's fingerprint: type and buckets, ignoring what OVS does not keep (weights outside select groups, watches outside fast-failover ones). */
export function groupFingerprint(g: { readonly groupType: number; readonly buckets: readonly Bucket[] }): string {
  const buckets = g.buckets.map((b) => ({
    weight: g.groupType === OFPGT.SELECT ? b.weight : 0,
    watchPort: g.groupType === OFPGT.FF ? b.watchPort : OFPP.ANY,
    watchGroup: g.groupType === OFPGT.FF ? b.watchGroup : OFPG.ANY,
    actions: b.actions,
  }));
  return latin1(encodeMessage({ type: 'group_mod', xid: 0, command: 0, groupType: g.groupType, groupId: 0, buckets }));
}

/** A meter's fingerprint: flags and bands; burst sizes count only with OFPMF_BURST (OVS reports rate there otherwise). */
export function meterFingerprint(m: { readonly flags: number; readonly bands: readonly MeterBand[] }): string {
  const bands = m.flags & OFPMF.BURST ? m.bands : m.bands.map((b) => ({ ...b, burstSize: 0 }));
  return latin1(encodeMessage({ type: 'meter_mod', xid: 0, command: 0, flags: m.flags, meterId: 0, bands }));
}
