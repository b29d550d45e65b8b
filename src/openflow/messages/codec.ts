// The shape every message body codec has, and small helpers shared by them. message.ts builds its registry from
// these descriptors; nothing here knows about any particular message.
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import type { Message, MessageOf, MessageType } from '../types.js';
import { CodecError } from '../errors.js';
import { OFP_VERSION, OFPBRC, OFPET, OFPT } from '../consts.js';

/** What the decoder learnt from the (plain, multipart or experimenter) header in front of the body. */
export interface Header {
  readonly version: number;
  readonly xid: number;
  /** ofp_multipart_request/reply flags; 0 for other messages. */
  readonly flags: number;
}

/** Where a message sits in the OpenFlow type space; decides the header in front of its body. */
export type Framing =
  /** ofp_header (8 bytes), then the body. */
  | { readonly kind: 'plain'; readonly ofpType: number }
  /** ofp_header + type, flags, pad[4] (16 bytes), then the body. */
  | { readonly kind: 'multipart'; readonly ofpType: number; readonly mpType: number }
  /** ofp_header + experimenter, exp_type (16 bytes), then the body. */
  | { readonly kind: 'experimenter'; readonly experimenter: number; readonly expType: number };

/** Encodes, decodes and sizes the body of one message type (everything after its header). */
export interface BodyCodec<T extends MessageType = MessageType> {
  readonly type: T;
  readonly framing: Framing;
  encodingLength(m: MessageOf<T>): number;
  encode(w: Writer, m: MessageOf<T>): void;
  /** `r` ends exactly at the end of the body; the caller rejects whatever is left unread. */
  decode(r: Reader, h: Header): MessageOf<T>;
  /**
   * OVS's length rule for the body (ofpraw_check_length), checked before the body is read so that a wrong length is
   * OFPBRC_BAD_LEN whatever else is wrong: at least `min` bytes, and then a multiple of `multiple` more (0: exactly
   * `min`). Left out where the body decoder's own checks already agree with OVS.
   */
  readonly lengthRule?: { readonly min: number; readonly multiple: number };
  /** The header version to send; OFP_VERSION unless given (hello and error carry their own). */
  versionOf?(m: MessageOf<T>): number;
}

/**
 * A codec of some message type, as the registry holds them. `any` erases T: MessageOf<T> is a conditional type,
 * so TypeScript would otherwise treat BodyCodec as invariant in T.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBodyCodec = BodyCodec<any>;

/** Messages embedded inside other messages (bundle_add) are coded by the registry itself, handed in here. */
export interface InnerMessageCodec {
  decode(bytes: Uint8Array): Message;
  /** Writes the whole message at w.pos, advancing it; returns the bytes written. */
  encode(w: Writer, msg: Message): number;
  encodingLength(msg: Message): number;
}

/** ofp_header + experimenter id + exp_type. */
export const EXPERIMENTER_HEADER_LEN = 16;

/** Writes an ofp_experimenter_header (ofp_header with OFPT_EXPERIMENTER, experimenter, exp_type) at `p` in `d`. */
export function putExperimenterHeader(d: DataView, p: number, length: number, xid: number, experimenter: number, expType: number): void {
  d.setUint32(p, (OFP_VERSION << 24) | (OFPT.EXPERIMENTER << 16) | (length & 0xffff));
  d.setUint32(p + 4, xid);
  d.setUint32(p + 8, experimenter);
  d.setUint32(p + 12, expType);
}

export const plain = (ofpType: number): Framing => ({ kind: 'plain', ofpType });

export const badLen = (what: string, offset?: number): CodecError =>
  new CodecError(`${what}: bad length`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, offset);

/** Decodes fixed-size records until the reader is exhausted; the body must be a whole number of them. */
export function decodeFixedList<T>(r: Reader, size: number, what: string, decodeOne: (r: Reader) => T, out: T[] = []): T[] {
  if (r.remaining % size !== 0) throw badLen(`${what} list (${r.remaining} bytes, records of ${size})`, r.pos);
  while (r.pos < r.end) out.push(decodeOne(r));
  return out;
}

/** A body codec for messages with no body beyond their header. */
export function emptyBody<T extends MessageType>(type: T, framing: Framing): BodyCodec<T> {
  return {
    type,
    framing,
    lengthRule: { min: 0, multiple: 0 },
    encodingLength: () => 0,
    encode: () => undefined,
    decode: (_r, h) => (framing.kind === 'multipart' ? { type, xid: h.xid, flags: h.flags } : { type, xid: h.xid }) as MessageOf<T>,
  };
}
