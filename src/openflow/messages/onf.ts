// ONF extension messages that carry OpenFlow 1.4 messages in OpenFlow 1.3, as Open vSwitch 3.x sends and decodes
// them (ofp-msgs.h ONFT 1.3): role status, request forward, and the flow monitor's cancel / paused / resumed.
// Each is ofp_experimenter_header (ONF_EXPERIMENTER_ID, exp_type) followed by the OF1.4 body.
import { OFPBRC, OFPCR_ROLE, OFPET, OFPT, OFP_VERSION, ONF_EXPERIMENTER_ID, ONFT } from '../consts.js';
import { ONFERR_ET_BUNDLE, OFPRRFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import type { Message } from '../types.js';
import { pad8 } from '../writer.js';
import { type AnyBodyCodec, type BodyCodec, type Framing, type InnerMessageCodec, emptyBody } from './codec.js';

const onf = (expType: number): Framing => ({ kind: 'experimenter', experimenter: ONF_EXPERIMENTER_ID, expType });

const KNOWN_ROLES = new Set<number>([OFPCR_ROLE.NOCHANGE, OFPCR_ROLE.EQUAL, OFPCR_ROLE.MASTER, OFPCR_ROLE.SLAVE]);

/** ofp14_role_status: role u32, reason u8, pad[3], generation_id u64, then properties (kept raw). */
export const roleStatus: BodyCodec<'role_status'> = {
  type: 'role_status',
  framing: onf(ONFT.ROLE_STATUS),
  lengthRule: { min: 16, multiple: 8 },
  encodingLength: (m) => 16 + m.properties.length,
  encode(w, m) {
    w.u32(m.role);
    w.u8(m.reason);
    w.zeros(3);
    w.u64(m.generationId);
    w.bytes(m.properties);
  },
  decode(r, h) {
    const role = r.u32();
    if (!KNOWN_ROLES.has(role)) throw new CodecError(`role_status: unknown role ${role}`, OFPET.ROLE_REQUEST_FAILED, OFPRRFC.BAD_ROLE, r.pos - 4);
    const reason = r.u8();
    r.skip(3);
    return { type: 'role_status', xid: h.xid, role, reason, generationId: r.u64(), properties: r.bytes(r.remaining) };
  },
};

const OFP_HEADER_LEN = 8;
/** The messages a switch forwards (ofp14_requestforward_reason): group_mod and meter_mod. */
const FORWARDABLE = new Set<number>([OFPT.GROUP_MOD, OFPT.METER_MOD]);
/** Errors OVS's header decode (ofptype_decode) gives before it looks at what the message is. */
const HEADER_ERRORS = new Set<number>([OFPBRC.BAD_VERSION, OFPBRC.BAD_TYPE, OFPBRC.BAD_LEN, OFPBRC.BAD_MULTIPART, OFPBRC.BAD_EXPERIMENTER, OFPBRC.BAD_EXP_TYPE]);

const bundleError = (what: string, code: number, offset: number): CodecError => new CodecError(`requestforward: ${what}`, OFPET.EXPERIMENTER, code, offset, ONF_EXPERIMENTER_ID);

/**
 * ofp14_requestforward: the forwarded request, whole, padded with zeros to 8 bytes (OVS requires a body of a
 * multiple of 8 bytes and ignores what follows the request). Validated as ofputil_decode_requestforward does: the
 * request's length within the body (OFPBFC_MSG_BAD_LEN), its version the outer one, its header known, and only a
 * group_mod or meter_mod (OFPBFC_MSG_UNSUP), decoded with that message's own checks.
 */
export function makeRequestForward(inner: InnerMessageCodec): BodyCodec<'requestforward'> {
  return {
    type: 'requestforward',
    framing: onf(ONFT.REQUESTFORWARD),
    lengthRule: { min: OFP_HEADER_LEN, multiple: 8 },
    encodingLength: (m) => pad8(inner.encodingLength(m.message)),
    encode(w, m) {
      const n = inner.encode(w, m.message);
      w.zeros(pad8(n) - n);
    },
    decode(r, h) {
      const at = r.pos;
      const innerLen = r.u16At(at + 2);
      if (innerLen < OFP_HEADER_LEN || innerLen > r.remaining) throw bundleError(`forwarded request length ${innerLen}`, ONFERR_ET_BUNDLE.MSG_BAD_LEN, at + 2);
      if (r.buf[at] !== OFP_VERSION) throw new CodecError(`requestforward: forwarded request of version 0x${r.buf[at]!.toString(16)}`, OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, at);
      const bytes = r.bytes(innerLen);
      r.skip(r.remaining);
      let message: Message;
      try {
        message = inner.decode(bytes);
      } catch (e) {
        if (FORWARDABLE.has(bytes[1]!) || (e instanceof CodecError && e.ofpType === OFPET.BAD_REQUEST && HEADER_ERRORS.has(e.ofpCode))) throw e;
        throw bundleError(`forwarded request of type ${bytes[1]} is not a group_mod or meter_mod`, ONFERR_ET_BUNDLE.MSG_UNSUP, at + 1);
      }
      if (!FORWARDABLE.has(bytes[1]!)) throw bundleError(`forwarded ${message.type} is not a group_mod or meter_mod`, ONFERR_ET_BUNDLE.MSG_UNSUP, at + 1);
      return { type: 'requestforward', xid: h.xid, message };
    },
  };
}

/** nx_flow_monitor_cancel: the monitor id. */
export const flowMonitorCancel: BodyCodec<'flow_monitor_cancel'> = {
  type: 'flow_monitor_cancel',
  framing: onf(ONFT.FLOW_MONITOR_CANCEL),
  lengthRule: { min: 4, multiple: 0 },
  encodingLength: () => 4,
  encode: (w, m) => w.u32(m.id),
  decode: (r, h) => ({ type: 'flow_monitor_cancel', xid: h.xid, id: r.u32() }),
};

export const flowMonitorPaused = emptyBody('flow_monitor_paused', onf(ONFT.FLOW_MONITOR_PAUSED));
export const flowMonitorResumed = emptyBody('flow_monitor_resumed', onf(ONFT.FLOW_MONITOR_RESUMED));

export const onfCodecs = (inner: InnerMessageCodec): readonly AnyBodyCodec[] => [roleStatus, makeRequestForward(inner), flowMonitorCancel, flowMonitorPaused, flowMonitorResumed];
