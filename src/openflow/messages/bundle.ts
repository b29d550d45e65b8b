// The ONF bundle extension for OpenFlow 1.3 (ONF_EXPERIMENTER_ID, exp_type 2300/2301), laid out as Open vSwitch
// accepts it: ofp_experimenter_header followed by the OF1.4 ofp_bundle_ctrl_msg / ofp_bundle_add_msg bodies.
import { OFP_VERSION, OFPET, OFPT, ONF_EXPERIMENTER_ID, ONFT } from '../consts.js';
import { ONF_BUNDLE_BAD_VERSION, ONFERR_ET_BUNDLE } from '../error-codes.js';
import { CodecError } from '../errors.js';
import type { Message } from '../types.js';
import { room } from '../writer.js';
import { type BodyCodec, type InnerMessageCodec, EXPERIMENTER_HEADER_LEN, putExperimenterHeader } from './codec.js';

/**
 * bundle_id u32, type u16, flags u16, then properties (kept raw) in whole 8-byte units, as OVS's
 * ONFT13_BUNDLE_CONTROL (ofp14_bundle_ctrl_msg, uint8_t[8][]): another length is OFPBRC_BAD_LEN.
 */
export const bundleControl: BodyCodec<'bundle_control'> = {
  type: 'bundle_control',
  framing: { kind: 'experimenter', experimenter: ONF_EXPERIMENTER_ID, expType: ONFT.BUNDLE_CONTROL },
  lengthRule: { min: 8, multiple: 8 },
  encodingLength: (m) => 8 + m.properties.length,
  encode(w, m) {
    w.u32(m.bundleId);
    w.u16(m.ctrlType);
    w.u16(m.bundleFlags);
    w.bytes(m.properties);
  },
  decode: (r, h) => ({ type: 'bundle_control', xid: h.xid, bundleId: r.u32(), ctrlType: r.u16(), bundleFlags: r.u16(), properties: r.bytes(r.remaining) }),
};

/**
 * What OVS lets into a bundle (ofputil_is_bundlable), with each one's length rule (ofptype_decode refuses a body of
 * another length): port_mod, flow_mod, group_mod, packet_out.
 */
const BUNDLABLE: ReadonlyMap<number, { readonly min: number; readonly multiple: number }> = new Map([
  [OFPT.PORT_MOD, { min: 32, multiple: 0 }],
  [OFPT.FLOW_MOD, { min: 40, multiple: 8 }],
  [OFPT.GROUP_MOD, { min: 8, multiple: 8 }],
  [OFPT.PACKET_OUT, { min: 16, multiple: 1 }],
]);

const bundleError = (what: string, code: number, offset: number): CodecError => new CodecError(`bundle_add: ${what}`, OFPET.EXPERIMENTER, code, offset, ONF_EXPERIMENTER_ID);

const OFP_HEADER_LEN = 8;

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
 * bundle_id u32, pad u16, flags u16, the whole embedded message (its own header and length), then whatever follows
 * it as `properties`, verbatim (padding included): OVS reads nothing after the embedded message. The embedded message
 * is checked as ofputil_decode_bundle_add checks it: its header within the body (OFPBFC_MSG_BAD_LEN), the outer
 * version (OFPBFC_BAD_VERSION) and xid (OFPBFC_MSG_BAD_XID), and a port_mod, flow_mod, group_mod or packet_out of a
 * length its type allows (OFPBFC_MSG_UNSUP). Its body is not: one the codec refuses is kept as bytes, which OVS
 * prints with its decode error inside the bundle_add.
 */
export function makeBundleAdd(inner: InnerMessageCodec): BodyCodec<'bundle_add'> {
  const innerLength = (m: Message | Uint8Array): number => (m instanceof Uint8Array ? m.length : inner.encodingLength(m));
  return {
    type: 'bundle_add',
    framing: { kind: 'experimenter', experimenter: ONF_EXPERIMENTER_ID, expType: ONFT.BUNDLE_ADD_MESSAGE },
    lengthRule: { min: 8, multiple: 1 },
    encodingLength: (m) => 8 + innerLength(m.message) + m.properties.length,
    encode(w, m) {
      room(w.buf.length, w.pos + 8);
      putBundleAddFixed(w.view, w.pos, m.bundleId, m.bundleFlags);
      w.pos += 8;
      if (m.message instanceof Uint8Array) w.bytes(m.message);
      else inner.encode(w, m.message);
      w.bytes(m.properties);
    },
    decode(r, h) {
      const bundleId = r.u32();
      r.skip(2);
      const bundleFlags = r.u16();
      const at = r.pos;
      if (r.remaining < OFP_HEADER_LEN) throw bundleError('no room for the embedded message', ONFERR_ET_BUNDLE.MSG_BAD_LEN, at);
      if (r.buf[at] !== OFP_VERSION) throw bundleError(`embedded message of version 0x${r.buf[at]!.toString(16)}`, ONF_BUNDLE_BAD_VERSION, at);
      const innerLen = r.u16At(at + 2);
      if (innerLen < OFP_HEADER_LEN || innerLen > r.remaining) throw bundleError(`embedded message length ${innerLen}`, ONFERR_ET_BUNDLE.MSG_BAD_LEN, at + 2);
      if (r.u32At(at + 4) !== h.xid) throw bundleError(`embedded xid 0x${r.u32At(at + 4).toString(16)} is not the bundle_add's`, ONFERR_ET_BUNDLE.MSG_BAD_XID, at + 4);
      const rule = BUNDLABLE.get(r.buf[at + 1]!);
      const body = innerLen - OFP_HEADER_LEN;
      if (!rule || body < rule.min || (rule.multiple === 0 ? body !== rule.min : (body - rule.min) % rule.multiple !== 0)) {
        throw bundleError(`embedded message of type ${r.buf[at + 1]} and length ${innerLen} cannot be bundled`, ONFERR_ET_BUNDLE.MSG_UNSUP, at + 1);
      }
      const bytes = r.bytes(innerLen);
      let message: Message | Uint8Array;
      try {
        message = inner.decode(bytes);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        message = bytes;
      }
      return { type: 'bundle_add', xid: h.xid, bundleId, bundleFlags, message, properties: r.bytes(r.remaining) };
    },
  };
}
