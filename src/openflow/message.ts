// The message registry: every body codec is registered once under its (ofp type, multipart type, experimenter /
// exp_type) key and under its Message['type'] name; decodeMessage and encodeMessage dispatch through these maps.
import { CodecError } from './errors.js';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION, OFPBRC, OFPET, OFPT } from './consts.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import type { Message, MessageType } from './types.js';
import { type AnyBodyCodec, type Header, type InnerMessageCodec, putExperimenterHeader } from './messages/codec.js';
import { symmetricCodecs } from './messages/symmetric.js';
import { switchConfigCodecs } from './messages/switch-config.js';
import { asyncCodecs } from './messages/async.js';
import { flowModCodecs, putFlowMod } from './messages/flow-mod.js';
import { packetOutCodecs } from './messages/packet-out.js';
import { groupMeterCodecs } from './messages/group-meter.js';
import { multipartCodecs } from './messages/multipart.js';
import { queueCodecs } from './messages/queue.js';
import { bundleControl, makeBundleAdd } from './messages/bundle.js';
import { onfCodecs } from './messages/onf.js';

/** Header in front of multipart and experimenter bodies: ofp_header + 8 bytes. */
const EXTENDED_HEADER_LEN = 16;

const inner: InnerMessageCodec = {
  decode: (bytes) => decodeMessage(bytes),
  encode(w, msg) {
    const c = codecFor(msg);
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
for (const c of onfCodecs(inner)) register(c);

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
  if (f.kind === 'experimenter') {
    if (p + EXTENDED_HEADER_LEN > b.length) throw new RangeError('Writer: overrun');
    putExperimenterHeader(w.view, p, len, msg.xid, f.experimenter, f.expType);
    w.pos = p + EXTENDED_HEADER_LEN;
    return;
  }
  if (p + OFP_HEADER_LEN > b.length) throw new RangeError('Writer: overrun');
  const xid = msg.xid;
  b[p] = c.versionOf ? c.versionOf(msg) : OFP_VERSION;
  b[p + 1] = f.ofpType;
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
 * Writes header and body at w.pos in one pass, the header's length patched in at the end; returns the length.
 * Only for a writer with at least OFP_MAX_MESSAGE_LEN bytes of room: a message that fits OpenFlow fits there, so
 * it need not be sized first; one that does not throws a RangeError (the buffer's end or the length check).
 */
function encodeOnePass(msg: Message, w: Writer): number {
  const start = w.pos;
  if (msg.type === 'flow_mod') {
    // FLOW_MOD, the message sent most, goes straight to its byte writer.
    w.pos = putFlowMod(w.view, start, msg, w.buf.length);
    return w.pos - start;
  }
  const c = codecFor(msg);
  writeHeader(c, msg, 0, w);
  c.encode(w, msg);
  const len = w.pos - start;
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`${msg.type}: ${len} bytes is longer than an OpenFlow message can be`);
  w.patchU16(start + 2, len);
  return len;
}

/** Writes `msg` at `offset` of `w`'s buffer, in one pass when there is room for any message, else sized first. */
function encodeAt(msg: Message, w: Writer, offset: number): number {
  const room = w.buf.length - offset;
  if (offset < 0 || room < 0) throw new RangeError(`${msg.type}: offset ${offset} is outside the buffer of ${w.buf.length} bytes`);
  w.pos = offset;
  if (room >= OFP_MAX_MESSAGE_LEN) return encodeOnePass(msg, w);
  const c = codecFor(msg);
  const len = headerLength(c) + c.encodingLength(msg);
  if (len > room) throw new RangeError(`${msg.type}: needs ${len} bytes at offset ${offset}, buffer has ${w.buf.length}`);
  encodeWith(c, msg, len, w);
  return len;
}

/**
 * Encodes `msg` into `buf` at `offset`; returns the number of bytes written. `buf` must have room: if it has not,
 * this throws a RangeError (bytes after `offset` may have been written by then). A MessageEncoder does the same
 * without a Writer per call, for callers that write many messages.
 */
export function encodeMessageInto(msg: Message, buf: Uint8Array, offset: number): number {
  return encodeAt(msg, new Writer(buf), offset);
}

/** Encodes one message into a Buffer of exactly its length (sized, then written). */
export function encodeMessage(msg: Message): Buffer {
  const c = codecFor(msg);
  const len = headerLength(c) + c.encodingLength(msg);
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`${msg.type}: ${len} bytes is longer than an OpenFlow message can be`);
  const buf = Buffer.allocUnsafe(len);
  encodeWith(c, msg, len, new Writer(buf));
  return buf;
}

/**
 * Slab size of a MessageEncoder: sixteen largest messages (~1 MiB), so that only the last 1/16 of a slab, where a
 * message is sized before it is written, costs a sizing pass (a 256 KiB slab measured ~15% more CPU per FLOW_MOD).
 */
const SLAB_SIZE = 16 * OFP_MAX_MESSAGE_LEN;

/**
 * Encodes messages for one user (a connection, the controller's connections together): `encode` carves its
 * results out of slabs it owns (as Buffer.allocUnsafe does from Node's pool; results are views that stay valid, a
 * slab is never rewritten), `encodeInto` writes into the caller's buffer keeping the Writer of the last one. No
 * state is shared between encoders.
 */
export class MessageEncoder {
  #slab: Buffer | undefined;
  #slabWriter: Writer | undefined;
  /** Where the next message goes in the slab (8-byte aligned). */
  #slabPos = 0;
  #into: Writer | undefined;

  /** Like encodeMessageInto. */
  encodeInto(msg: Message, buf: Uint8Array, offset: number): number {
    let w = this.#into;
    if (w === undefined || w.buf !== buf) w = this.#into = new Writer(buf);
    return encodeAt(msg, w, offset);
  }

  /** Like encodeMessage; the result is a view into a slab of this encoder. */
  encode(msg: Message): Buffer {
    let w = this.#slabWriter;
    // Near the slab's end the message is sized first: a new slab only when it does not fit what is left.
    if (w === undefined || (SLAB_SIZE - this.#slabPos < OFP_MAX_MESSAGE_LEN && messageEncodingLength(msg) > SLAB_SIZE - this.#slabPos)) w = this.#newSlab();
    const at = this.#slabPos;
    w.pos = at;
    const len = SLAB_SIZE - at >= OFP_MAX_MESSAGE_LEN ? encodeOnePass(msg, w) : encodeAt(msg, w, at);
    this.#slabPos = (at + len + 7) & ~7;
    const slab = this.#slab!;
    return Buffer.from(slab.buffer, slab.byteOffset + at, len);
  }

  #newSlab(): Writer {
    const slab = (this.#slab = Buffer.allocUnsafe(SLAB_SIZE));
    this.#slabPos = 0;
    return (this.#slabWriter = new Writer(slab, 0, new DataView(slab.buffer, slab.byteOffset, SLAB_SIZE)));
  }
}

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

/**
 * The message type a header names, from its first bytes alone (as OVS's ofpraw_decode_partial): the 8-byte header,
 * and for multipart and experimenter messages the 16 bytes that name the type. Undefined when the bytes are too few,
 * not OpenFlow 1.3, or name no type the codec has (a generic experimenter message included).
 */
export function messageTypeOfHeader(bytes: Uint8Array): MessageType | undefined {
  return headerCodec(bytes)?.type;
}

/** As messageTypeOfHeader, for a whole message: undefined also when its length breaks its type's length rule. */
export function messageTypeOfWhole(bytes: Uint8Array): MessageType | undefined {
  const c = headerCodec(bytes);
  const rule = c?.lengthRule;
  if (!c || !rule) return c?.type;
  const body = bytes.length - headerLength(c);
  return body < rule.min || (rule.multiple === 0 ? body !== rule.min : (body - rule.min) % rule.multiple !== 0) ? undefined : c.type;
}

function headerCodec(bytes: Uint8Array): AnyBodyCodec | undefined {
  if (bytes.length < OFP_HEADER_LEN || bytes[0] !== OFP_VERSION) return undefined;
  const t = bytes[1]!;
  if (t !== OFPT.MULTIPART_REQUEST && t !== OFPT.MULTIPART_REPLY && t !== OFPT.EXPERIMENTER) return byOfpType.get(t);
  if (bytes.length < EXTENDED_HEADER_LEN) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, EXTENDED_HEADER_LEN);
  if (t === OFPT.EXPERIMENTER) return byExperimenter.get(dv.getUint32(8))?.get(dv.getUint32(12));
  return byMultipart.get((t << 16) | dv.getUint16(8));
}

/** Reads just the xid of a frame (for error replies when decoding failed); undefined if shorter than a header. */
export function frameXid(bytes: Uint8Array): number | undefined {
  if (bytes.length < OFP_HEADER_LEN) return undefined;
  return ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
}
