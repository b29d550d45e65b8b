// The message registry: every body codec is registered once under its (ofp type, multipart type, experimenter /
// exp_type) key and under its Message['type'] name; decodeMessage and encodeMessage dispatch through these maps.
import { CodecError } from './errors.js';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION, OFPBRC, OFPET, OFPT } from './consts.js';
import { Reader } from './reader.js';
import { viewOf, Writer } from './writer.js';
import type { Message, MessageType } from './types.js';
import type { AnyBodyCodec, Header, InnerMessageCodec } from './messages/codec.js';
import { symmetricCodecs } from './messages/symmetric.js';
import { switchConfigCodecs } from './messages/switch-config.js';
import { asyncCodecs } from './messages/async.js';
import { flowModCodecs, putFlowMod } from './messages/flow-mod.js';
import { packetOutCodecs } from './messages/packet-out.js';
import { groupMeterCodecs } from './messages/group-meter.js';
import { multipartCodecs } from './messages/multipart.js';
import { queueCodecs } from './messages/queue.js';
import { bundleControl, makeBundleAdd } from './messages/bundle.js';

/** Header in front of multipart and experimenter bodies: ofp_header + 8 bytes. */
const EXTENDED_HEADER_LEN = 16;

const inner: InnerMessageCodec = {
  decode: (bytes) => decodeMessage(bytes),
  encode(w, msg) {
    const c = codecFor(msg);
    const start = w.pos;
    try {
      return encodeOnePass(c, msg, w);
    } catch (e) {
      w.pos = start;
      if (!(e instanceof RangeError)) throw e;
    }
    const len = headerLength(c) + c.encodingLength(msg);
    encodeWith(c, msg, len, w);
    return len;
  },
  encodingLength: (msg) => messageEncodingLength(msg),
};

const byName = new Map<MessageType, AnyBodyCodec>();
const byOfpType = new Map<number, AnyBodyCodec>();
/** Key: ofp type (request/reply) << 16 | multipart type. */
const byMultipart = new Map<number, AnyBodyCodec>();
const byExperimenter = new Map<number, Map<number, AnyBodyCodec>>();

function register(codec: AnyBodyCodec): void {
  if (byName.has(codec.type)) throw new Error(`duplicate codec for ${codec.type}`);
  byName.set(codec.type, codec);
  const f = codec.framing;
  if (f.kind === 'plain') byOfpType.set(f.ofpType, codec);
  else if (f.kind === 'multipart') byMultipart.set((f.ofpType << 16) | f.mpType, codec);
  else {
    let m = byExperimenter.get(f.experimenter);
    if (!m) byExperimenter.set(f.experimenter, (m = new Map()));
    m.set(f.expType, codec);
  }
}

for (const list of [symmetricCodecs, switchConfigCodecs, asyncCodecs, flowModCodecs, packetOutCodecs, groupMeterCodecs, multipartCodecs, queueCodecs]) {
  for (const c of list) register(c);
}
register(bundleControl);
register(makeBundleAdd(inner));

/** Every message type the registry knows (for JSON input validation and tests). */
export const messageTypes: readonly MessageType[] = [...byName.keys()];

/** True for the OFPT_MULTIPART_REQUEST/REPLY message types (those with `flags`). */
export const isMultipartType = (type: MessageType): boolean => byName.get(type)?.framing.kind === 'multipart';

function codecFor(msg: Message): AnyBodyCodec {
  const c = byName.get(msg.type);
  if (!c) throw new TypeError(`unknown message type ${JSON.stringify((msg as { type: unknown }).type)}`);
  return c;
}

const headerLength = (c: AnyBodyCodec): number => (c.framing.kind === 'plain' ? OFP_HEADER_LEN : EXTENDED_HEADER_LEN);

/** The exact number of bytes encodeMessage produces for `msg` (header included). */
export function messageEncodingLength(msg: Message): number {
  const c = codecFor(msg);
  return headerLength(c) + c.encodingLength(msg);
}

/** Writes the ofp_header (and the multipart / experimenter header after it) with length `len`. */
function writeHeader(c: AnyBodyCodec, msg: Message, len: number, w: Writer): void {
  const f = c.framing;
  const b = w.buf;
  const p = w.pos;
  if (p + OFP_HEADER_LEN > b.length) throw new RangeError('Writer: overrun');
  const xid = msg.xid;
  b[p] = c.versionOf ? c.versionOf(msg) : OFP_VERSION;
  b[p + 1] = f.kind === 'experimenter' ? OFPT.EXPERIMENTER : f.ofpType;
  b[p + 2] = len >>> 8;
  b[p + 3] = len;
  b[p + 4] = xid >>> 24;
  b[p + 5] = xid >>> 16;
  b[p + 6] = xid >>> 8;
  b[p + 7] = xid;
  w.pos = p + OFP_HEADER_LEN;
  if (f.kind === 'multipart') {
    w.u16(f.mpType);
    w.u16((msg as { flags: number }).flags);
    w.zeros(4);
  } else if (f.kind === 'experimenter') {
    w.u32(f.experimenter);
    w.u32(f.expType);
  }
}

/** Writes header and body at w.pos (advancing it); `len` is the precomputed total. */
function encodeWith(c: AnyBodyCodec, msg: Message, len: number, w: Writer): void {
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`${msg.type}: ${len} bytes is longer than an OpenFlow message can be`);
  const start = w.pos;
  writeHeader(c, msg, len, w);
  c.encode(w, msg);
  if (w.pos - start !== len) throw new Error(`${msg.type}: encodingLength said ${len} bytes, encode wrote ${w.pos - start}`);
}

/**
 * Writes header and body at w.pos in one pass, without sizing the message first: the header's length is patched
 * in at the end. Returns the length. Throws RangeError when the message does not fit in `w` or is longer than an
 * OpenFlow message may be; the callers then take the sized path (encodeWith), which tells the two apart.
 */
function encodeOnePass(c: AnyBodyCodec, msg: Message, w: Writer): number {
  const start = w.pos;
  writeHeader(c, msg, 0, w);
  c.encode(w, msg);
  const len = w.pos - start;
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`${msg.type}: ${len} bytes is longer than an OpenFlow message can be`);
  w.patchU16(start + 2, len);
  return len;
}

/** The Writer of the last buffer encodeMessageInto wrote to: callers usually fill one buffer with many messages. */
let lastInto: Writer | undefined;

/**
 * Encodes `msg` into `buf` at `offset`; returns the number of bytes written. `buf` must have room: if it has not,
 * this throws a RangeError (bytes after `offset` may have been written by then).
 */
export function encodeMessageInto(msg: Message, buf: Uint8Array, offset: number): number {
  // FLOW_MOD, the message sent most, goes straight to its byte writer: no registry lookup, no Writer.
  if (msg.type === 'flow_mod' && offset >= 0) {
    try {
      return putFlowMod(viewOf(buf), offset, msg, buf.length) - offset;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  const c = codecFor(msg);
  if (offset < 0 || offset > buf.length) throw new RangeError(`${msg.type}: offset ${offset} is outside the buffer of ${buf.length} bytes`);
  const w = lastInto?.buf === buf ? lastInto : (lastInto = new Writer(buf));
  w.pos = offset;
  try {
    return encodeOnePass(c, msg, w);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  // Too long for the buffer or for OpenFlow (or a RangeError from the message itself): size it to say which.
  const len = headerLength(c) + c.encodingLength(msg);
  if (offset + len > buf.length) throw new RangeError(`${msg.type}: needs ${len} bytes at offset ${offset}, buffer has ${buf.length}`);
  w.pos = offset;
  encodeWith(c, msg, len, w);
  return len;
}

/**
 * encodeMessage carves its results out of shared slabs (as Buffer.allocUnsafe does from its pool), reusing one
 * Writer per slab: no DataView per message. Results are views that stay valid; the slab is never rewritten.
 */
const SLAB_SIZE = 256 * 1024;
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let slabDataView = new DataView(slab.buffer, slab.byteOffset, SLAB_SIZE);
let slabWriter = new Writer(slab, 0, slabDataView);

function newSlab(): void {
  slab = Buffer.allocUnsafe(SLAB_SIZE);
  slabDataView = new DataView(slab.buffer, slab.byteOffset, SLAB_SIZE);
  slabWriter = new Writer(slab, 0, slabDataView);
}

/** Encodes one message into a Buffer of exactly its length (a view into a shared slab, like pooled Buffers). */
export function encodeMessage(msg: Message): Buffer {
  // Fast path: encode straight into the slab's free space. It fails (RangeError) only when the slab is full, once
  // per slab, or for a message the sized path below will reject anyway.
  const start = slabWriter.pos;
  try {
    const len = msg.type === 'flow_mod' ? putFlowMod(slabDataView, start, msg, SLAB_SIZE) - start : encodeOnePass(codecFor(msg), msg, slabWriter);
    // Keep the next message 8-byte aligned.
    slabWriter.pos = (start + len + 7) & ~7;
    return slabView(start, len);
  } catch (e) {
    slabWriter.pos = start;
    if (!(e instanceof RangeError)) throw e;
  }
  const c = codecFor(msg);
  const len = headerLength(c) + c.encodingLength(msg);
  if (len > SLAB_SIZE >> 2) {
    const buf = Buffer.allocUnsafe(len);
    encodeWith(c, msg, len, new Writer(buf));
    return buf;
  }
  if (slabWriter.pos + len > SLAB_SIZE) newSlab();
  const at = slabWriter.pos;
  try {
    encodeWith(c, msg, len, slabWriter);
  } catch (e) {
    slabWriter.pos = at;
    throw e;
  }
  slabWriter.pos = (at + len + 7) & ~7;
  return slabView(at, len);
}

/** A Buffer over `len` bytes of the slab at `at`: Buffer.from(arrayBuffer, ...) is cheaper than subarray's species lookup. */
const slabView = (at: number, len: number): Buffer => Buffer.from(slab.buffer, slab.byteOffset + at, len);

const fail = (what: string, code: number, offset?: number): CodecError => new CodecError(what, OFPET.BAD_REQUEST, code, offset);

/**
 * Decodes one whole frame (exactly one message, as framing.ts cuts them). Byte payloads in the result are views
 * into `bytes`. Throws CodecError with the error a peer should be sent: BAD_VERSION, BAD_TYPE, BAD_MULTIPART,
 * BAD_LEN (short, lying or trailing bytes), or whatever a body decoder rejects.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length < OFP_HEADER_LEN) throw fail(`message of ${bytes.length} bytes is shorter than ofp_header`, OFPBRC.BAD_LEN, 0);
  const r = new Reader(bytes);
  const version = r.u8();
  const ofpType = r.u8();
  const length = r.u16();
  const xid = r.u32();
  if (length !== bytes.length) throw fail(`header length ${length} but frame has ${bytes.length} bytes`, OFPBRC.BAD_LEN, 2);
  if (version !== OFP_VERSION && ofpType !== OFPT.HELLO && ofpType !== OFPT.ERROR) {
    throw fail(`unsupported OpenFlow version 0x${version.toString(16)}`, OFPBRC.BAD_VERSION, 0);
  }

  let codec: AnyBodyCodec | undefined;
  let flags = 0;
  if (ofpType === OFPT.MULTIPART_REQUEST || ofpType === OFPT.MULTIPART_REPLY) {
    r.need(EXTENDED_HEADER_LEN - OFP_HEADER_LEN, 'ofp_multipart header');
    const mpType = r.u16();
    flags = r.u16();
    r.skip(4);
    codec = byMultipart.get((ofpType << 16) | mpType);
    if (!codec) throw fail(`unknown multipart type ${mpType}`, OFPBRC.BAD_MULTIPART, 8);
  } else if (ofpType === OFPT.EXPERIMENTER) {
    r.need(EXTENDED_HEADER_LEN - OFP_HEADER_LEN, 'ofp_experimenter_header');
    codec = byExperimenter.get(r.u32At(8))?.get(r.u32At(12));
    if (codec) r.pos = EXTENDED_HEADER_LEN;
    else codec = byOfpType.get(OFPT.EXPERIMENTER); // unknown experimenter: kept whole, generic
  } else {
    codec = byOfpType.get(ofpType);
  }
  if (!codec) throw fail(`unknown message type ${ofpType}`, OFPBRC.BAD_TYPE, 1);

  const rule = codec.lengthRule;
  if (rule !== undefined) {
    const body = r.end - r.pos;
    if (body < rule.min || (rule.multiple === 0 ? body !== rule.min : (body - rule.min) % rule.multiple !== 0)) {
      throw fail(`${codec.type}: body of ${body} bytes (OVS wants ${rule.min}${rule.multiple ? ` + n * ${rule.multiple}` : ''})`, OFPBRC.BAD_LEN, 2);
    }
  }
  const h: Header = { version, xid, flags };
  const msg = codec.decode(r, h);
  if (r.pos !== r.end) throw fail(`${msg.type}: ${r.end - r.pos} unexpected trailing bytes`, OFPBRC.BAD_LEN, r.pos);
  return msg;
}

/** Reads just the xid of a frame (for error replies when decoding failed); undefined if shorter than a header. */
export function frameXid(bytes: Uint8Array): number | undefined {
  if (bytes.length < OFP_HEADER_LEN) return undefined;
  return ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
}
