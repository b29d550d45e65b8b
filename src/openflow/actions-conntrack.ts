// Conntrack and NAT (NXAST_CT, NXAST_CT_CLEAR, NXAST_NAT), binary form: their table entries and decoders.

import { NXAST, NX_NAT_RANGE } from './action-consts.js';
import { fieldByHeader } from './oxm-fields.js';
import type { Reader } from './reader.js';
import { checkCtHead } from './action-check.js';
import type { Action, FieldRef } from './types.js';
import { pad8, type Writer } from './writer.js';
import {
  atLeast,
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
    let zoneSrc: FieldRef | undefined;
    if (zoneHeader !== 0) {
      const info = fieldByHeader(zoneHeader);
      zoneSrc = { field: info ? info.name : 'unknown', header: zoneHeader };
    }
    const zoneOfs = zoneSrc ? zone >>> 6 : 0;
    const zoneNBits = zoneSrc ? (zone & 0x3f) + 1 : 0;
    // OVS checks the head before it reads the inner actions.
    checkCtHead(flags, zoneSrc, zoneOfs, zoneNBits);
    const actions = nested.decode(r, r.remaining, depth + 1);
    if (!zoneSrc) return { type: 'nx_ct', flags, zoneOfs: 0, zoneNBits: 0, zoneImm: zone, recircTable, alg, actions };
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

/** The ranges range_present names, as far as the action holds them (checkAction refuses what is missing). */
function decodeNat(r: Reader): Action {
  r.skip(2);
  const flags = r.u16();
  const rangePresent = r.u16();
  const p = rangePresent;
  const a: { -readonly [K in keyof ActionOf<'nx_nat'>]: ActionOf<'nx_nat'>[K] } = { type: 'nx_nat', flags, rangePresent };
  if (p & NX_NAT_RANGE.IPV4_MIN && r.remaining >= 4) a.ipv4Min = r.u32();
  if (p & NX_NAT_RANGE.IPV4_MAX && r.remaining >= 4) a.ipv4Max = r.u32();
  if (p & NX_NAT_RANGE.IPV6_MIN && r.remaining >= 16) a.ipv6Min = r.bytes(16);
  if (p & NX_NAT_RANGE.IPV6_MAX && r.remaining >= 16) a.ipv6Max = r.bytes(16);
  if (p & NX_NAT_RANGE.PROTO_MIN && r.remaining >= 2) a.protoMin = r.u16();
  if (p & NX_NAT_RANGE.PROTO_MAX && r.remaining >= 2) a.protoMax = r.u16();
  r.pos = r.end;
  return a;
}
