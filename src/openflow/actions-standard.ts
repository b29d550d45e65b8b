// OpenFlow 1.3 standard actions (OFPAT_*), binary form: their table entries and decoders.

import { OFPAT } from './action-consts.js';
import { oxmEncodingLength, putOxm } from './oxm.js';
import { pullSetFieldOxm } from './action-check.js';
import { checkPort } from './ports.js';
import type { Action, ActionType } from './types.js';
import { pad8, putZeros, room } from './writer.js';
import { atLeast, exact, stdHeader, viaWriter, zero, type ActionEncoder, type DecoderEntries, type EncoderTable } from './action-wire.js';

const fixed8 = (type: number): ActionEncoder<Action> => ({
  length: () => 8,
  put: viaWriter((w) => {
    stdHeader(w, type, 8);
    zero(w, 4);
  }),
});

const ethertype8 = (type: number): ActionEncoder<Action & { readonly ethertype: number }> => ({
  length: () => 8,
  put: viaWriter((w, a) => {
    stdHeader(w, type, 8);
    w.u16(a.ethertype);
    zero(w, 2);
  }),
});

const u32Std8 = <A extends Action>(type: number, get: (a: A) => number): ActionEncoder<A> => ({
  length: () => 8,
  put: viaWriter((w, a) => {
    stdHeader(w, type, 8);
    w.u32(get(a));
  }),
});

const ttl8 = (type: number): ActionEncoder<Action & { readonly ttl: number }> => ({
  length: () => 8,
  put: viaWriter((w, a) => {
    stdHeader(w, type, 8);
    w.u8(a.ttl);
    zero(w, 3);
  }),
});

export const standardEncoders = {
  output: {
    length: () => 16,
    put: (d, p, a, limit) => {
      // ofp_action_output: type 0, len 16, port, max_len, 6 pad bytes.
      const port = a.port;
      const maxLen = a.maxLen;
      room(limit, p + 16);
      d.setUint32(p, (OFPAT.OUTPUT << 16) | 16);
      d.setUint32(p + 4, port);
      d.setUint32(p + 8, maxLen << 16);
      d.setUint32(p + 12, 0);
      return p + 16;
    },
  },
  copy_ttl_out: fixed8(OFPAT.COPY_TTL_OUT),
  copy_ttl_in: fixed8(OFPAT.COPY_TTL_IN),
  set_mpls_ttl: ttl8(OFPAT.SET_MPLS_TTL),
  dec_mpls_ttl: fixed8(OFPAT.DEC_MPLS_TTL),
  push_vlan: ethertype8(OFPAT.PUSH_VLAN),
  pop_vlan: fixed8(OFPAT.POP_VLAN),
  push_mpls: ethertype8(OFPAT.PUSH_MPLS),
  pop_mpls: ethertype8(OFPAT.POP_MPLS),
  set_queue: u32Std8(OFPAT.SET_QUEUE, (a) => a.queueId),
  group: u32Std8(OFPAT.GROUP, (a) => a.groupId),
  set_nw_ttl: ttl8(OFPAT.SET_NW_TTL),
  dec_nw_ttl: fixed8(OFPAT.DEC_NW_TTL),
  set_field: {
    length: (a) => pad8(4 + oxmEncodingLength(a.field)),
    put: (d, p, a, limit) => {
      // type, len, the OXM, zero padding to 8 bytes; type and len go out last, as one store.
      const end = putOxm(d, p + 4, a.field, limit);
      const len = pad8(end - p);
      const padded = putZeros(d, end, p + len, limit);
      d.setUint32(p, (OFPAT.SET_FIELD << 16) | len);
      return padded;
    },
  },
  push_pbb: ethertype8(OFPAT.PUSH_PBB),
  pop_pbb: fixed8(OFPAT.POP_PBB),
  experimenter: {
    length: (a) => a.raw.length,
    put: viaWriter((w, a) => w.bytes(a.raw)),
  },
} satisfies Partial<EncoderTable>;

const voidAction = <T extends ActionType>(type: T) => exact(8, () => ({ type }) as Action);
const ethertypeAction = (type: 'push_vlan' | 'push_mpls' | 'pop_mpls' | 'push_pbb') =>
  exact(8, (r) => ({ type, ethertype: r.u16() }));
const ttlAction = (type: 'set_mpls_ttl' | 'set_nw_ttl') => exact(8, (r) => ({ type, ttl: r.u8() }));
export const standardDecoders: DecoderEntries = [
  [
    OFPAT.OUTPUT,
    exact(16, (r) => {
      const port = checkPort(r.u32(), 'output', r.pos - 4);
      return { type: 'output', port, maxLen: r.u16() };
    }),
  ],
  [OFPAT.COPY_TTL_OUT, voidAction('copy_ttl_out')],
  [OFPAT.COPY_TTL_IN, voidAction('copy_ttl_in')],
  [OFPAT.SET_MPLS_TTL, ttlAction('set_mpls_ttl')],
  [OFPAT.DEC_MPLS_TTL, voidAction('dec_mpls_ttl')],
  [OFPAT.PUSH_VLAN, ethertypeAction('push_vlan')],
  [OFPAT.POP_VLAN, voidAction('pop_vlan')],
  [OFPAT.PUSH_MPLS, ethertypeAction('push_mpls')],
  [OFPAT.POP_MPLS, ethertypeAction('pop_mpls')],
  [OFPAT.SET_QUEUE, exact(8, (r) => ({ type: 'set_queue', queueId: r.u32() }))],
  [OFPAT.GROUP, exact(8, (r) => ({ type: 'group', groupId: r.u32() }))],
  [OFPAT.SET_NW_TTL, ttlAction('set_nw_ttl')],
  [OFPAT.DEC_NW_TTL, voidAction('dec_nw_ttl')],
  [
    OFPAT.SET_FIELD,
    atLeast(8, (r) => ({ type: 'set_field', field: pullSetFieldOxm(r, true) })),
  ],
  [OFPAT.PUSH_PBB, ethertypeAction('push_pbb')],
  [OFPAT.POP_PBB, voidAction('pop_pbb')],
];
