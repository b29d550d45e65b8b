// The ONF bundle extension for OpenFlow 1.3 (ONF_EXPERIMENTER_ID, exp_type 2300/2301), laid out as Open vSwitch
// accepts it: ofp_experimenter_header followed by the OF1.4 ofp_bundle_ctrl_msg / ofp_bundle_add_msg bodies.
import { ONF_EXPERIMENTER_ID, ONFT } from '../consts.js';
import { pad8, room } from '../writer.js';
import { type BodyCodec, type InnerMessageCodec, badLen, EXPERIMENTER_HEADER_LEN, putExperimenterHeader } from './codec.js';

/** bundle_id u32, type u16, flags u16, then properties (kept raw). */
export const bundleControl: BodyCodec<'bundle_control'> = {
  type: 'bundle_control',
  framing: { kind: 'experimenter', experimenter: ONF_EXPERIMENTER_ID, expType: ONFT.BUNDLE_CONTROL },
  encodingLength: (m) => 8 + m.properties.length,
  encode(w, m) {
    w.u32(m.bundleId);
    w.u16(m.ctrlType);
    w.u16(m.bundleFlags);
    w.bytes(m.properties);
  },
  decode: (r, h) => ({ type: 'bundle_control', xid: h.xid, bundleId: r.u32(), ctrlType: r.u16(), bundleFlags: r.u16(), properties: r.bytes(r.remaining) }),
};

const OFP_HEADER_LEN = 8;

/** Zero padding between the embedded message and the properties; only present when there are properties. */
const innerPadding = (innerLen: number, properties: Uint8Array): number => (properties.length > 0 ? pad8(innerLen) - innerLen : 0);

/** A BUNDLE_ADD up to its embedded message: ofp_experimenter_header, bundle_id, pad, flags. */
export const BUNDLE_ADD_HEAD_LEN = EXPERIMENTER_HEADER_LEN + 8;

/** bundle_id u32, pad u16, flags u16: the body bytes before the embedded message. */
function putBundleAddFixed(d: DataView, p: number, bundleId: number, bundleFlags: number): void {
  d.setUint32(p, bundleId);
  d.setUint32(p + 4, bundleFlags & 0xffff);
}

/**
 * Writes the head of a BUNDLE_ADD without properties, `length` bytes long in all, at `p` in `d` (`limit` is
 * d.byteLength); returns p + BUNDLE_ADD_HEAD_LEN, where the embedded message goes (with the same xid: OVS requires it).
 */
export function putBundleAddHead(d: DataView, p: number, xid: number, bundleId: number, bundleFlags: number, length: number, limit: number): number {
  room(limit, p + BUNDLE_ADD_HEAD_LEN);
  putExperimenterHeader(d, p, length, xid, ONF_EXPERIMENTER_ID, ONFT.BUNDLE_ADD_MESSAGE);
  putBundleAddFixed(d, p + EXPERIMENTER_HEADER_LEN, bundleId, bundleFlags);
  return p + BUNDLE_ADD_HEAD_LEN;
}

/**
 * bundle_id u32, pad u16, flags u16, the whole embedded message (its own header and length), then, only if there
 * are properties, zero padding to 8 bytes and the properties (kept raw).
 */
export function makeBundleAdd(inner: InnerMessageCodec): BodyCodec<'bundle_add'> {
  return {
    type: 'bundle_add',
    framing: { kind: 'experimenter', experimenter: ONF_EXPERIMENTER_ID, expType: ONFT.BUNDLE_ADD_MESSAGE },
    encodingLength(m) {
      const innerLen = inner.encodingLength(m.message);
      return 8 + innerLen + innerPadding(innerLen, m.properties) + m.properties.length;
    },
    encode(w, m) {
      room(w.buf.length, w.pos + 8);
      putBundleAddFixed(w.view, w.pos, m.bundleId, m.bundleFlags);
      w.pos += 8;
      const innerLen = inner.encode(w, m.message);
      w.zeros(innerPadding(innerLen, m.properties));
      w.bytes(m.properties);
    },
    decode(r, h) {
      const bundleId = r.u32();
      r.skip(2);
      const bundleFlags = r.u16();
      r.need(OFP_HEADER_LEN, 'bundled message header');
      const innerLen = r.u16At(r.pos + 2);
      if (innerLen < OFP_HEADER_LEN || innerLen > r.remaining) throw badLen(`bundled message length ${innerLen}`, r.pos);
      const message = inner.decode(r.bytes(innerLen));
      let properties = r.buf.subarray(r.pos, r.pos);
      if (r.remaining > 0) {
        r.skip(pad8(innerLen) - innerLen, 'bundled message padding');
        // Padding with nothing after it would not survive a re-encode: treat it as trailing garbage.
        if (r.remaining === 0) throw badLen('bundle_add padding without properties', r.pos);
        properties = r.bytes(r.remaining);
      }
      return { type: 'bundle_add', xid: h.xid, bundleId, bundleFlags, message, properties };
    },
  };
}
