// Conntrack and NAT (NXAST_CT, NXAST_CT_CLEAR, NXAST_NAT), binary form: their table entries and decoders.

import { NXAST, NX_NAT_RANGE } from './action-consts.js';
import { fieldByHeader } from './oxm-fields.js';
import type { Reader } from './reader.js';
import type { Action, FieldRef } from './types.js';
import { pad8, type Writer } from './writer.js';
import {
  atLeast,
  badLen,
  exact,
  finish,
  nxHeader,
  nxVoid,
  ofsNbits,
  viaWriter,
  zero,
  type ActionOf,
  type DecoderEntries,
  type EncoderTable,
  type NestedActions,
} from './action-wire.js';

const natRangeLength = (present: number): number =>
  (present & NX_NAT_RANGE.IPV4_MIN ? 4 : 0) +
  (present & NX_NAT_RANGE.IPV4_MAX ? 4 : 0) +
  (present & NX_NAT_RANGE.IPV6_MIN ? 16 : 0) +
  (present & NX_NAT_RANGE.IPV6_MAX ? 16 : 0) +
  (present & NX_NAT_RANGE.PROTO_MIN ? 2 : 0) +
  (present & NX_NAT_RANGE.PROTO_MAX ? 2 : 0);

/** The conntrack entries; ct encodes and decodes its inner list through `nested` (the registry's). */
export function conntrackActions(nested: NestedActions) {
  const encoders = {
    nx_ct: {
      length: (a) => 24 + nested.length(a.actions),
      put: viaWriter((w, a) => {
        const start = w.pos;
        nxHeader(w, NXAST.CT, 0);
        w.u16(a.flags);
        w.u32(a.zoneSrc ? a.zoneSrc.header : 0);
        w.u16(a.zoneSrc ? ofsNbits(a.zoneOfs, a.zoneNBits) : a.zoneImm);
        w.u8(a.recircTable);
        zero(w, 3);
        w.u16(a.alg);
        nested.encode(w, a.actions);
        finish(w, start);
      }),
    },
    nx_ct_clear: nxVoid(NXAST.CT_CLEAR),
    nx_nat: {
      length: (a) => pad8(16 + natRangeLength(a.rangePresent)),
      put: viaWriter((w, a) => {
        const body = 16 + natRangeLength(a.rangePresent);
        nxHeader(w, NXAST.NAT, pad8(body));
        zero(w, 2);
        w.u16(a.flags);
        w.u16(a.rangePresent);
        const p = a.rangePresent;
        if (p & NX_NAT_RANGE.IPV4_MIN) w.u32(a.ipv4Min ?? 0);
        if (p & NX_NAT_RANGE.IPV4_MAX) w.u32(a.ipv4Max ?? 0);
        if (p & NX_NAT_RANGE.IPV6_MIN) writeIpv6(w, a.ipv6Min);
        if (p & NX_NAT_RANGE.IPV6_MAX) writeIpv6(w, a.ipv6Max);
        if (p & NX_NAT_RANGE.PROTO_MIN) w.u16(a.protoMin ?? 0);
        if (p & NX_NAT_RANGE.PROTO_MAX) w.u16(a.protoMax ?? 0);
        zero(w, pad8(body) - body);
      }),
    },
  } satisfies Partial<EncoderTable>;

  function decodeCt(r: Reader, start: number, depth: number): Action {
    const flags = r.u16();
    const zoneHeader = r.u32();
    const zone = r.u16();
    const recircTable = r.u8();
    r.skip(3);
    const alg = r.u16();
    const actions = nested.decode(r, r.remaining, depth + 1);
    if (zoneHeader === 0) {
      return { type: 'nx_ct', flags, zoneOfs: 0, zoneNBits: 0, zoneImm: zone, recircTable, alg, actions };
    }
    const info = fieldByHeader(zoneHeader);
    const zoneSrc: FieldRef = { field: info ? info.name : 'unknown', header: zoneHeader };
    const zoneOfs = zone >>> 6;
    const zoneNBits = (zone & 0x3f) + 1;
    return { type: 'nx_ct', flags, zoneSrc, zoneOfs, zoneNBits, zoneImm: 0, recircTable, alg, actions };
  }

  const nxDecoders: DecoderEntries = [
    [NXAST.CT, atLeast(24, decodeCt)],
    [NXAST.CT_CLEAR, exact(16, () => ({ type: 'nx_ct_clear' }))],
    [NXAST.NAT, atLeast(16, decodeNat)],
  ];

  return { encoders, nxDecoders };
}

function writeIpv6(w: Writer, addr: Uint8Array | undefined): void {
  if (addr) w.bytes(addr.subarray(0, 16));
  if (!addr || addr.length < 16) zero(w, 16 - (addr ? Math.min(addr.length, 16) : 0));
}

function decodeNat(r: Reader): Action {
  r.skip(2);
  const flags = r.u16();
  const rangePresent = r.u16();
  const body = 16 + natRangeLength(rangePresent);
  if (r.end - r.pos + 16 !== pad8(body)) throw badLen(`nat: length ${r.end - r.pos + 16} does not match its ranges (${pad8(body)})`, r.pos);
  const p = rangePresent;
  const a: { -readonly [K in keyof ActionOf<'nx_nat'>]: ActionOf<'nx_nat'>[K] } = { type: 'nx_nat', flags, rangePresent };
  if (p & NX_NAT_RANGE.IPV4_MIN) a.ipv4Min = r.u32();
  if (p & NX_NAT_RANGE.IPV4_MAX) a.ipv4Max = r.u32();
  if (p & NX_NAT_RANGE.IPV6_MIN) a.ipv6Min = r.bytes(16);
  if (p & NX_NAT_RANGE.IPV6_MAX) a.ipv6Max = r.bytes(16);
  if (p & NX_NAT_RANGE.PROTO_MIN) a.protoMin = r.u16();
  if (p & NX_NAT_RANGE.PROTO_MAX) a.protoMax = r.u16();
  return a;
}
