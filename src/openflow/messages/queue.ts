// OFPT_QUEUE_GET_CONFIG_REQUEST / REPLY.
import { OFPET, OFPP, OFPT } from '../consts.js';
import { OFPQOFC } from '../error-codes.js';
import { CodecError, withPartial } from '../errors.js';
import { checkPort } from '../ports.js';
import type { QueueDesc } from '../types.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { type AnyBodyCodec, type BodyCodec, badLen, plain } from './codec.js';

/** ofp_packet_queue: 16 bytes, then properties; each ofp_queue_prop_header is 8 bytes (property, len, pad). */
const QUEUE_LEN = 16;
const QUEUE_PROP_LEN = 8;

export const queueGetConfigRequest: BodyCodec<'queue_get_config_request'> = {
  type: 'queue_get_config_request',
  framing: plain(OFPT.QUEUE_GET_CONFIG_REQUEST),
  lengthRule: { min: 8, multiple: 0 },
  encodingLength: () => 8,
  encode(w, m) {
    w.u32(m.port);
    w.zeros(4);
  },
  decode(r, h) {
    // As OVS: a port it can map, and then a physical port or ANY (OFPQOFC_BAD_PORT for the other reserved ones).
    const port = checkPort(r.u32(), 'queue_get_config port', r.pos - 4);
    if (port >= OFPP.MAX && port !== OFPP.ANY) throw new CodecError(`queue_get_config: port ${port} has no queues`, OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT, r.pos - 4);
    r.skip(4);
    return { type: 'queue_get_config_request', xid: h.xid, port };
  },
};

const queueLength = (q: QueueDesc): number => {
  let n = QUEUE_LEN;
  for (const p of q.properties) n += QUEUE_PROP_LEN + p.data.length;
  return n;
};

function encodeQueue(w: Writer, q: QueueDesc): void {
  w.u32(q.queueId);
  w.u32(q.port);
  w.u16(queueLength(q));
  w.zeros(6);
  for (const p of q.properties) {
    w.u16(p.type);
    w.u16(QUEUE_PROP_LEN + p.data.length);
    w.zeros(4);
    w.bytes(p.data);
  }
}

/** ofp_queue_prop_min_rate / max_rate: the 8-byte header, the rate (u16), 6 bytes of padding. */
const QUEUE_PROP_RATE_LEN = 16;
const OFPQT_MIN_RATE = 1;
const OFPQT_MAX_RATE = 2;

/** One ofp_packet_queue with its properties, checked as OVS checks them (ofputil_pull_queue_get_config_reply10). */
function decodeQueue(r: Reader): QueueDesc {
  const start = r.pos;
  r.need(QUEUE_LEN, 'ofp_packet_queue');
  const queueId = r.u32();
  const port = r.u32();
  const len = r.u16();
  if (len < QUEUE_LEN || start + len > r.end || len % 8 !== 0) throw badLen(`ofp_packet_queue len ${len}`, start);
  r.skip(6);
  const end = start + len;
  const properties: { type: number; data: Uint8Array }[] = [];
  while (r.pos < end) {
    const pstart = r.pos;
    const type = r.u16();
    const plen = r.u16();
    if (plen < QUEUE_PROP_LEN || pstart + plen > end || plen % 8 !== 0) throw badLen(`ofp_queue_prop len ${plen}`, pstart);
    // The rates OVS knows must be exactly ofp_queue_prop_min_rate/max_rate; it skips any other property.
    if ((type === OFPQT_MIN_RATE || type === OFPQT_MAX_RATE) && plen !== QUEUE_PROP_RATE_LEN) throw badLen(`ofp_queue_prop rate len ${plen}`, pstart);
    r.skip(4);
    properties.push({ type, data: r.bytes(plen - QUEUE_PROP_LEN) });
  }
  return { queueId, port, properties };
}

/** A queue's min and max rate as OVS keeps them: the last property of each type, 0xffff when there is none. */
export function queueRates(q: QueueDesc): { readonly min: number; readonly max: number } {
  let min = 0xffff;
  let max = 0xffff;
  for (const p of q.properties) {
    if (p.data.length < 2) continue;
    const rate = (p.data[0]! << 8) | p.data[1]!;
    if (p.type === OFPQT_MIN_RATE) min = rate;
    else if (p.type === OFPQT_MAX_RATE) max = rate;
  }
  return { min, max };
}

export const queueGetConfigReply: BodyCodec<'queue_get_config_reply'> = {
  type: 'queue_get_config_reply',
  framing: plain(OFPT.QUEUE_GET_CONFIG_REPLY),
  // ofp11_queue_get_config_reply, then whole 8-byte units.
  lengthRule: { min: 8, multiple: 8 },
  encodingLength: (m) => m.queues.reduce((n, q) => n + queueLength(q), 8),
  encode(w, m) {
    w.u32(m.port);
    w.zeros(4);
    for (const q of m.queues) encodeQueue(w, q);
  },
  decode(r, h) {
    const port = r.u32();
    r.skip(4);
    const queues: QueueDesc[] = [];
    try {
      // OVS maps the reply's port for each queue it reads (and not at all without queues).
      if (r.pos < r.end) checkPort(port, 'queue_get_config_reply port', 8);
      while (r.pos < r.end) queues.push(decodeQueue(r));
    } catch (e) {
      throw withPartial(e, () => ({ type: 'queue_get_config_reply', xid: h.xid, port, queues }));
    }
    return { type: 'queue_get_config_reply', xid: h.xid, port, queues };
  },
};

export const queueCodecs: readonly AnyBodyCodec[] = [queueGetConfigRequest, queueGetConfigReply];
