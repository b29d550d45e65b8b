// OFPT_PACKET_OUT: actions then the frame to send.
import { OFPT } from '../consts.js';
import { actionsEncodingLength, decodeActions, encodeActions } from '../actions.js';
import { type AnyBodyCodec, type BodyCodec, badLen, plain } from './codec.js';
import { checkPort } from '../ports.js';

/** ofp_packet_out: 16 fixed bytes after the header (24 with it), actions_len bytes of actions, then data. */
export const packetOut: BodyCodec<'packet_out'> = {
  type: 'packet_out',
  framing: plain(OFPT.PACKET_OUT),
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
    if (actionsLen > r.remaining) throw badLen(`packet_out actions_len ${actionsLen}`, r.pos - 8);
    const actions = decodeActions(r, actionsLen);
    return { type: 'packet_out', xid: h.xid, bufferId, inPort, actions, data: r.bytes(r.remaining) };
  },
};

export const packetOutCodecs: readonly AnyBodyCodec[] = [packetOut];
