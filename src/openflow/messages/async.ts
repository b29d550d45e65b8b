// Asynchronous messages from the switch (packet_in, flow_removed, port_status) and the controller-side session
// settings that steer them (role, get/set async).
import { NX_VENDOR_ID, OFPCR_ROLE, OFPET, OFPT } from '../consts.js';

/** ofp_port_reason's last value, and the Nicira error OVS gives for a reason past it. */
const OFPPR_MODIFY = 2;
const NXBRC_BAD_REASON = 5;
import { OFPRRFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import type { AsyncConfig, MessageOf } from '../types.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { decodeMatch, encodeMatch, matchEncodingLength } from '../match.js';
import { type AnyBodyCodec, type BodyCodec, emptyBody, plain } from './codec.js';
import { OFP_PORT_LEN, decodePort, encodePort } from './common.js';

/** ofp_packet_in: 16 fixed bytes after the header, the match, 2 bytes of padding, then the frame. */
export const packetIn: BodyCodec<'packet_in'> = {
  type: 'packet_in',
  framing: plain(OFPT.PACKET_IN),
  lengthRule: { min: 16, multiple: 1 },
  encodingLength: (m) => 16 + matchEncodingLength(m.match) + 2 + m.data.length,
  encode(w, m) {
    w.u32(m.bufferId);
    w.u16(m.totalLen);
    w.u8(m.reason);
    w.u8(m.tableId);
    w.u64(m.cookie);
    encodeMatch(w, m.match);
    w.zeros(2);
    w.bytes(m.data);
  },
  decode(r, h) {
    const bufferId = r.u32();
    const totalLen = r.u16();
    const reason = r.u8();
    const tableId = r.u8();
    const cookie = r.u64();
    const match = decodeMatch(r, true);
    r.skip(2);
    return { type: 'packet_in', xid: h.xid, bufferId, totalLen, reason, tableId, cookie, match, data: r.bytes(r.remaining) };
  },
};

/** ofp_flow_removed: 40 fixed bytes after the header, then the match. */
export const flowRemoved: BodyCodec<'flow_removed'> = {
  type: 'flow_removed',
  framing: plain(OFPT.FLOW_REMOVED),
  // OVS: struct ofp12_flow_removed, then the match in 8-byte units; whatever follows the match is not read.
  lengthRule: { min: 40, multiple: 8 },
  encodingLength: (m) => 40 + matchEncodingLength(m.match),
  encode(w, m) {
    w.u64(m.cookie);
    w.u16(m.priority);
    w.u8(m.reason);
    w.u8(m.tableId);
    w.u32(m.durationSec);
    w.u32(m.durationNsec);
    w.u16(m.idleTimeout);
    w.u16(m.hardTimeout);
    w.u64(m.packetCount);
    w.u64(m.byteCount);
    encodeMatch(w, m.match);
  },
  decode(r, h) {
    const cookie = r.u64();
    const priority = r.u16();
    const reason = r.u8();
    const tableId = r.u8();
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const packetCount = r.u64();
    const byteCount = r.u64();
    const match = decodeMatch(r);
    r.pos = r.end;
    return { type: 'flow_removed', xid: h.xid, cookie, priority, reason, tableId, durationSec, durationNsec, idleTimeout, hardTimeout, packetCount, byteCount, match };
  },
};

/** ofp_port_status: reason, 7 bytes of padding, ofp_port (80 bytes with the header). */
export const portStatus: BodyCodec<'port_status'> = {
  type: 'port_status',
  framing: plain(OFPT.PORT_STATUS),
  lengthRule: { min: 8 + OFP_PORT_LEN, multiple: 0 },
  encodingLength: () => 8 + OFP_PORT_LEN,
  encode(w, m) {
    w.u8(m.reason);
    w.zeros(7);
    encodePort(w, m.port);
  },
  decode(r, h) {
    const reason = r.u8();
    // ofputil_decode_port_status: add, delete and modify only, before the port is looked at.
    if (reason > OFPPR_MODIFY) throw new CodecError(`port_status: unknown reason ${reason}`, OFPET.EXPERIMENTER, NXBRC_BAD_REASON, r.pos - 1, NX_VENDOR_ID);
    r.skip(7);
    return { type: 'port_status', xid: h.xid, reason, port: decodePort(r) };
  },
};

/** ofp_role_request / reply: 24 bytes with the header. */
function role<T extends 'role_request' | 'role_reply'>(type: T, ofpType: number): BodyCodec<T> {
  return {
    type,
    framing: plain(ofpType),
    lengthRule: { min: 16, multiple: 0 },
    encodingLength: () => 16,
    encode(w, m: { readonly role: number; readonly generationId: bigint }) {
      w.u32(m.role);
      w.zeros(4);
      w.u64(m.generationId);
    },
    decode(r, h) {
      const roleValue = r.u32();
      // As ofputil_decode_role_message: nochange, equal, master or slave.
      if (roleValue > OFPCR_ROLE.SLAVE) throw new CodecError(`${type}: unknown role ${roleValue}`, OFPET.ROLE_REQUEST_FAILED, OFPRRFC.BAD_ROLE, 8);
      r.skip(4);
      return { type, xid: h.xid, role: roleValue, generationId: r.u64() } as MessageOf<T>;
    },
  };
}

export const roleRequest = role('role_request', OFPT.ROLE_REQUEST);
export const roleReply = role('role_reply', OFPT.ROLE_REPLY);

/** ofp_async_config: 32 bytes with the header. */
const encodeAsync = (w: Writer, m: AsyncConfig): void => {
  for (const pair of [m.packetInMask, m.portStatusMask, m.flowRemovedMask]) {
    w.u32(pair[0]);
    w.u32(pair[1]);
  }
};

const decodeAsync = (r: Reader): AsyncConfig => ({
  packetInMask: [r.u32(), r.u32()],
  portStatusMask: [r.u32(), r.u32()],
  flowRemovedMask: [r.u32(), r.u32()],
});

function asyncConfig<T extends 'get_async_reply' | 'set_async'>(type: T, ofpType: number): BodyCodec<T> {
  return {
    type,
    framing: plain(ofpType),
    encodingLength: () => 24,
    encode: encodeAsync,
    decode: (r, h) => ({ type, xid: h.xid, ...decodeAsync(r) }) as MessageOf<T>,
  };
}

export const getAsyncRequest = emptyBody('get_async_request', plain(OFPT.GET_ASYNC_REQUEST));
export const getAsyncReply = asyncConfig('get_async_reply', OFPT.GET_ASYNC_REPLY);
export const setAsync = asyncConfig('set_async', OFPT.SET_ASYNC);

export const asyncCodecs: readonly AnyBodyCodec[] = [packetIn, flowRemoved, portStatus, roleRequest, roleReply, getAsyncRequest, getAsyncReply, setAsync];
