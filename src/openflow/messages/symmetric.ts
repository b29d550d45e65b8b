// Symmetric and generic messages: hello, error, echo, experimenter, barrier.
import type { Reader } from '../reader.js';
import { type Writer, pad8 } from '../writer.js';
import { OFP_VERSION, OFPBRC, OFPHET, OFPET, OFPT } from '../consts.js';
import { CodecError } from '../errors.js';
import { ovsErrorName } from '../error-codes.js';
import type { MessageOf } from '../types.js';
import { type AnyBodyCodec, type BodyCodec, emptyBody, plain } from './codec.js';

// ---- hello --------------------------------------------------------------------------------------------------

const bitmapWords = (versions: readonly number[]): number => (versions.length === 0 ? 0 : Math.floor(Math.max(...versions) / 32) + 1);

const versionBitmapLength = (versions: readonly number[]): number => pad8(4 + 4 * bitmapWords(versions));

/**
 * If the body starts with a VERSIONBITMAP element that re-encodes to the same bytes, returns its versions and where
 * it ends. Anything else (another first element, extra zero words, non-zero padding, a body that isn't elements at
 * all, as old versions allowed) stays raw in `extra`.
 */
function readVersionBitmap(r: Reader): { versions: number[]; end: number } | undefined {
  const start = r.pos;
  if (r.remaining < 4) return undefined;
  const type = r.u16At(start);
  const len = r.u16At(start + 2);
  if (type !== OFPHET.VERSIONBITMAP || len < 4 || (len - 4) % 4 !== 0 || start + pad8(len) > r.end) return undefined;
  const versions: number[] = [];
  const words = (len - 4) / 4;
  for (let i = 0; i < words; i++) {
    const word = r.u32At(start + 4 + 4 * i);
    for (let bit = 0; bit < 32; bit++) if (word & (1 << bit)) versions.push(i * 32 + bit);
  }
  if (bitmapWords(versions) !== words) return undefined;
  for (let i = start + len; i < start + pad8(len); i++) if (r.buf[i] !== 0) return undefined;
  return { versions, end: start + pad8(len) };
}

export const hello: BodyCodec<'hello'> = {
  type: 'hello',
  framing: plain(OFPT.HELLO),
  versionOf: (m) => m.version,
  encodingLength: (m) => (m.versions ? versionBitmapLength(m.versions) : 0) + (m.extra?.length ?? 0),
  encode(w: Writer, m) {
    if (m.versions) {
      const words = bitmapWords(m.versions);
      const start = w.pos;
      w.u16(OFPHET.VERSIONBITMAP);
      w.u16(4 + 4 * words);
      w.zeros(pad8(4 + 4 * words) - 4);
      for (const v of m.versions) {
        const at = start + 4 + 4 * (v >> 5);
        w.view.setUint32(at, (w.view.getUint32(at) | (1 << (v & 31))) >>> 0);
      }
    }
    if (m.extra) w.bytes(m.extra);
  },
  decode(r, h) {
    const bitmap = readVersionBitmap(r);
    if (bitmap) r.pos = bitmap.end;
    const extra = r.remaining > 0 ? r.bytes(r.remaining) : undefined;
    const m: { type: 'hello'; xid: number; version: number; versions?: number[]; extra?: Uint8Array } = { type: 'hello', xid: h.xid, version: h.version };
    if (bitmap) m.versions = bitmap.versions;
    if (extra) m.extra = extra;
    return m;
  },
};

// ---- error --------------------------------------------------------------------------------------------------

export const error: BodyCodec<'error'> = {
  type: 'error',
  framing: plain(OFPT.ERROR),
  lengthRule: { min: 4, multiple: 1 },
  versionOf: (m) => m.version ?? OFP_VERSION,
  encodingLength: (m) => (m.errType === OFPET.EXPERIMENTER ? 8 : 4) + m.data.length,
  encode(w, m) {
    w.u16(m.errType);
    w.u16(m.code);
    if (m.errType === OFPET.EXPERIMENTER) w.u32(m.experimenter ?? 0);
    w.bytes(m.data);
  },
  decode(r, h) {
    const errType = r.u16();
    const code = r.u16();
    const m: { -readonly [K in keyof MessageOf<'error'>]: MessageOf<'error'>[K] } = { type: 'error', xid: h.xid, errType, code, data: r.buf };
    // Only a non-1.3 version is recorded, so a locally built 1.3 error round-trips without one.
    if (h.version !== OFP_VERSION) m.version = h.version;
    if (errType === OFPET.EXPERIMENTER) m.experimenter = r.u32();
    // OVS refuses an OpenFlow 1.3 error it has no name for, and any error of a version it has no error names for
    // (OpenFlow 1.0 to 1.5 have them), as a bad length: ofperr_decode_msg fails.
    const unknown = h.version === OFP_VERSION ? ovsErrorName(errType, code, m.experimenter, vendorErrorAt(r)) === undefined : h.version < 1 || h.version > 6;
    if (unknown) {
      throw new CodecError(`error type ${errType} code ${code}${m.experimenter === undefined ? '' : ` experimenter 0x${m.experimenter.toString(16)}`} is not an OpenFlow 1.3 error`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, r.pos - 4);
    }
    m.data = r.bytes(r.remaining);
    return m;
  },
};

/** The nx_vendor_error (vendor, type, code) at the reader's position, if there are 8 bytes for one. */
function vendorErrorAt(r: Reader): [number, number, number] | undefined {
  return r.remaining >= 8 ? [r.u32At(r.pos), r.u16At(r.pos + 4), r.u16At(r.pos + 6)] : undefined;
}

// ---- echo, generic experimenter, barrier --------------------------------------------------------------------

function dataOnly<T extends 'echo_request' | 'echo_reply'>(type: T, ofpType: number): BodyCodec<T> {
  return {
    type,
    framing: plain(ofpType),
    encodingLength: (m: { readonly data: Uint8Array }) => m.data.length,
    encode: (w, m: { readonly data: Uint8Array }) => w.bytes(m.data),
    decode: (r, h) => ({ type, xid: h.xid, data: r.bytes(r.remaining) }) as MessageOf<T>,
  };
}

export const echoRequest = dataOnly('echo_request', OFPT.ECHO_REQUEST);
export const echoReply = dataOnly('echo_reply', OFPT.ECHO_REPLY);

/** Any experimenter message without a codec of its own (ofp_experimenter_header + data), kept verbatim. */
export const experimenter: BodyCodec<'experimenter'> = {
  type: 'experimenter',
  framing: plain(OFPT.EXPERIMENTER),
  encodingLength: (m) => 8 + m.data.length,
  encode(w, m) {
    w.u32(m.experimenter);
    w.u32(m.expType);
    w.bytes(m.data);
  },
  decode: (r, h) => ({ type: 'experimenter', xid: h.xid, experimenter: r.u32(), expType: r.u32(), data: r.bytes(r.remaining) }),
};

export const barrierRequest = emptyBody('barrier_request', plain(OFPT.BARRIER_REQUEST));
export const barrierReply = emptyBody('barrier_reply', plain(OFPT.BARRIER_REPLY));

export const symmetricCodecs: readonly AnyBodyCodec[] = [hello, error, echoRequest, echoReply, experimenter, barrierRequest, barrierReply];
