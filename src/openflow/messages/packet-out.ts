// OFPT_PACKET_OUT: actions then the frame to send.
import { OFPBRC, OFPET, OFPP, OFPT } from '../consts.js';
import { CodecError } from '../errors.js';
import { actionsEncodingLength, decodeActions, encodeActions } from '../actions.js';
import { type AnyBodyCodec, type BodyCodec, badLen, plain } from './codec.js';
import { checkPort } from '../ports.js';

/** ofp_packet_out: 16 fixed bytes after the header (24 with it), actions_len bytes of actions, then data. */
export const packetOut: BodyCodec<'packet_out'> = {
  type: 'packet_out',
  framing: plain(OFPT.PACKET_OUT),
  lengthRule: { min: 16, multiple: 1 },
  encodingLength: (m) => 16 + actionsEncodingLength(m.actions) + m.data.length,
  encode(w, m) {
    w.u32(m.bufferId);
    w.u32(m.inPort);
    w.u16(actionsEncodingLength(m.actions));
    w.zeros(6);
    encodeActions(w, m.actions);
    w.bytes(m.data);
  },
  decode(r, h) {
    const bufferId = r.u32();
    const inPort = checkPort(r.u32(), 'in_port', r.pos - 4);
    const actionsLen = r.u16();
    r.skip(6);
    if (actionsLen % 8 !== 0) throw badLen(`packet_out actions_len ${actionsLen} is not a multiple of 8`, r.pos - 8);
    if (actionsLen > r.remaining) throw badLen(`packet_out actions_len ${actionsLen}`, r.pos - 8);
    const actions = decodeActions(r, actionsLen);
    // ofputil_decode_packet_out, after the actions: the packet must come in on a physical port, LOCAL, CONTROLLER or ANY.
    if (inPort >= OFPP.MAX && inPort !== OFPP.LOCAL && inPort !== OFPP.CONTROLLER && inPort !== OFPP.ANY) {
      throw new CodecError(`packet_out: in_port 0x${inPort.toString(16)} is not a port a packet can come in on`, OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, 12);
    }
    return { type: 'packet_out', xid: h.xid, bufferId, inPort, actions, data: r.bytes(r.remaining) };
  },
};

export const packetOutCodecs: readonly AnyBodyCodec[] = [packetOut];
