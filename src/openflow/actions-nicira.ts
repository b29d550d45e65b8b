// The Nicira extensions (NXAST_*) and ONF's copy_field that Open vSwitch speaks, binary form: their table entries
// and decoders. Conntrack/NAT and learn have files of their own.

import { OFPAT, NXAST, ONFACT, NXAC2PT } from './action-consts.js';
import { ONF_EXPERIMENTER_ID } from './consts.js';
import { encodeOxm, oxmEncodingLength } from './oxm.js';
import { NXERR, nxError, ONFERR, onfError as propError, pullSetFieldOxm } from './action-check.js';
import type { CodecError } from './errors.js';
import { Reader } from './reader.js';
import type { Action } from './types.js';
import { pad8, putU64, putZeros, room, Writer } from './writer.js';
import {
  atLeast,
  decodeFieldRef,
  decodeFieldRef32,
  encodeFieldRef,
  exact,
  EXT_ACTION_HEADER_LEN,
  fieldRefLength,
  finish,
  NX_HEADER_LEN,
  nxHeader,
  nxVoid,
  ofsNbits,
  putNxHeader,
  viaWriter,
  zero,
  type ActionDecoder,
  type ActionOf,
  type DecoderEntries,
  type EncoderTable,
  type NestedActions,
} from './action-wire.js';

type Controller2 = ActionOf<'nx_controller2'>;

/** NXAST_CONTROLLER2 properties in the order OVS writes them; u16 values carry 2 pad bytes (ofpprop_put_u16). */
function controller2PropsLength(a: Controller2): number {
  if (a.raw) return a.raw.length;
  let n = 0;
  if (a.maxLen !== undefined) n += 8;
  if (a.controllerId !== undefined) n += 8;
  if (a.reason !== undefined) n += 8;
  if (a.userdata !== undefined) n += pad8(4 + a.userdata.length);
  if (a.pause) n += 8;
  if (a.meterId !== undefined) n += 8;
  return n;
}

function encodeController2Props(w: Writer, a: Controller2): void {
  if (a.raw) {
    w.bytes(a.raw);
    return;
  }
  if (a.maxLen !== undefined) prop(w, NXAC2PT.MAX_LEN, 8).u32(a.maxLen * 0x10000);
  if (a.controllerId !== undefined) prop(w, NXAC2PT.CONTROLLER_ID, 8).u32(a.controllerId * 0x10000);
  if (a.reason !== undefined) {
    prop(w, NXAC2PT.REASON, 5).u8(a.reason);
    zero(w, 3);
  }
  if (a.userdata !== undefined) {
    prop(w, NXAC2PT.USERDATA, 4 + a.userdata.length).bytes(a.userdata);
    zero(w, pad8(4 + a.userdata.length) - 4 - a.userdata.length);
  }
  if (a.pause) prop(w, NXAC2PT.PAUSE, 4).zeros(4);
  if (a.meterId !== undefined) prop(w, NXAC2PT.METER_ID, 8).u32(a.meterId);
}

function prop(w: Writer, type: number, len: number): Writer {
  w.u16(type);
  w.u16(len);
  return w;
}

const sampleLength = (a: ActionOf<'nx_sample'>): number => (a.version === 1 ? 24 : 32);
const sampleSubtype = { 1: NXAST.SAMPLE, 2: NXAST.SAMPLE2, 3: NXAST.SAMPLE3 } as const;

/** The Nicira and ONF entries; clone encodes and decodes its inner list through `nested` (the registry's). */
export function niciraActions(nested: NestedActions) {
  const encoders = {
    nx_resubmit: {
      length: () => 16,
      put: (d, p, a, limit) => {
        const subtype = a.ct ? NXAST.RESUBMIT_TABLE_CT : a.table === undefined ? NXAST.RESUBMIT : NXAST.RESUBMIT_TABLE;
        const inPort = a.inPort;
        const table = a.table ?? 0;
        room(limit, p + 16);
        putNxHeader(d, p, 16, (subtype << 16) | (inPort & 0xffff));
        d.setUint32(p + 12, table << 24);
        return p + 16;
      },
    },
    nx_reg_move: {
      length: (a) => pad8(16 + fieldRefLength(a.src) + fieldRefLength(a.dst)),
      put: (d, p, a, limit) => putRegMove(d, p, a, limit),
    },
    nx_reg_load: {
      length: () => 24,
      put: (d, p, a, limit) => {
        const ofsNBits = ofsNbits(a.ofs, a.nBits);
        const header = a.dst.header;
        const value = a.value;
        room(limit, p + 24);
        putNxHeader(d, p, 24, (NXAST.REG_LOAD << 16) | (ofsNBits & 0xffff));
        d.setUint32(p + 12, header);
        putU64(d, p + 16, value);
        return p + 24;
      },
    },
    nx_reg_load2: {
      length: (a) => pad8(NX_HEADER_LEN + oxmEncodingLength(a.field)),
      put: viaWriter((w, a) => {
        const start = w.pos;
        nxHeader(w, NXAST.REG_LOAD2, 0);
        encodeOxm(w, a.field);
        finish(w, start);
      }),
    },
    nx_clone: {
      length: (a) => EXT_ACTION_HEADER_LEN + nested.length(a.actions),
      put: viaWriter((w, a) => {
        const start = w.pos;
        nxHeader(w, NXAST.CLONE, 0);
        zero(w, 6);
        nested.encode(w, a.actions);
        finish(w, start);
      }),
    },
    nx_conjunction: {
      length: () => 16,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.CONJUNCTION, 16);
        w.u8(a.clause);
        w.u8(a.nClauses);
        w.u32(a.id);
      }),
    },
    nx_note: {
      length: (a) => pad8(NX_HEADER_LEN + a.note.length),
      put: viaWriter((w, a) => {
        const body = NX_HEADER_LEN + a.note.length;
        const len = pad8(body);
        nxHeader(w, NXAST.NOTE, len);
        w.bytes(a.note);
        zero(w, len - body);
      }),
    },
    nx_dec_ttl: {
      length: (a) => (a.controllerIds ? pad8(16 + 2 * a.controllerIds.length) : 16),
      put: viaWriter((w, a) => {
        const ids = a.controllerIds;
        if (!ids) {
          nxHeader(w, NXAST.DEC_TTL, 16);
          zero(w, 6);
          return;
        }
        const body = 16 + 2 * ids.length;
        nxHeader(w, NXAST.DEC_TTL_CNT_IDS, pad8(body));
        w.u16(ids.length);
        zero(w, 4);
        for (let i = 0; i < ids.length; i++) w.u16(ids[i]!);
        zero(w, pad8(body) - body);
      }),
    },
    nx_controller: {
      length: () => 16,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.CONTROLLER, 16);
        w.u16(a.maxLen);
        w.u16(a.controllerId);
        w.u8(a.reason);
        zero(w, 1);
      }),
    },
    nx_controller2: {
      length: (a) => EXT_ACTION_HEADER_LEN + controller2PropsLength(a),
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.CONTROLLER2, EXT_ACTION_HEADER_LEN + controller2PropsLength(a));
        zero(w, 6);
        encodeController2Props(w, a);
      }),
    },
    nx_output_reg: {
      length: () => 24,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.OUTPUT_REG, 24);
        w.u16(ofsNbits(a.ofs, a.nBits));
        w.u32(a.src.header);
        w.u16(a.maxLen);
        zero(w, 6);
      }),
    },
    nx_check_pkt_larger: {
      length: () => 24,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.CHECK_PKT_LARGER, 24);
        w.u16(a.pktLen);
        w.u16(a.ofs);
        encodeFieldRef(w, a.dst);
        zero(w, 10 - fieldRefLength(a.dst));
      }),
    },
    nx_output_reg2: {
      length: () => 24,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.OUTPUT_REG2, 24);
        w.u16(ofsNbits(a.ofs, a.nBits));
        w.u16(a.maxLen);
        encodeFieldRef(w, a.src);
        zero(w, 10 - fieldRefLength(a.src));
      }),
    },
    nx_multipath: {
      length: () => 32,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.MULTIPATH, 32);
        w.u16(a.fields);
        w.u16(a.basis);
        zero(w, 2);
        w.u16(a.algorithm);
        w.u16(a.maxLink);
        w.u32(a.arg);
        zero(w, 2);
        w.u16(ofsNbits(a.ofs, a.nBits));
        w.u32(a.dst.header);
      }),
    },
    nx_exit: nxVoid(NXAST.EXIT),
    nx_sample: {
      length: sampleLength,
      put: viaWriter((w, a) => {
        nxHeader(w, sampleSubtype[a.version], sampleLength(a));
        w.u16(a.probability);
        w.u32(a.collectorSetId);
        w.u32(a.obsDomainId);
        w.u32(a.obsPointId);
        if (a.version === 1) return;
        w.u16(a.samplingPort ?? 0);
        w.u8(a.version === 3 ? (a.direction ?? 0) : 0);
        zero(w, 5);
      }),
    },
    nx_fin_timeout: {
      length: () => 16,
      put: viaWriter((w, a) => {
        nxHeader(w, NXAST.FIN_TIMEOUT, 16);
        w.u16(a.finIdleTimeout);
        w.u16(a.finHardTimeout);
        zero(w, 2);
      }),
    },
    onf_copy_field: {
      length: (a) => pad8(20 + fieldRefLength(a.src) + fieldRefLength(a.dst)),
      put: viaWriter((w, a) => {
        const body = 20 + fieldRefLength(a.src) + fieldRefLength(a.dst);
        w.u16(OFPAT.EXPERIMENTER);
        w.u16(pad8(body));
        w.u32(ONF_EXPERIMENTER_ID);
        w.u16(ONFACT.COPY_FIELD);
        zero(w, 2);
        w.u16(a.nBits);
        w.u16(a.srcOffset);
        w.u16(a.dstOffset);
        zero(w, 2);
        encodeFieldRef(w, a.src);
        encodeFieldRef(w, a.dst);
        zero(w, pad8(body) - body);
      }),
    },
  } satisfies Partial<EncoderTable>;

  const nxDecoders: DecoderEntries = [
    [NXAST.RESUBMIT, resubmitDecoder(NXAST.RESUBMIT)],
    [NXAST.RESUBMIT_TABLE, resubmitDecoder(NXAST.RESUBMIT_TABLE)],
    [NXAST.RESUBMIT_TABLE_CT, resubmitDecoder(NXAST.RESUBMIT_TABLE_CT)],
    [NXAST.REG_MOVE, atLeast(24, decodeRegMove)],
    [NXAST.REG_LOAD, exact(24, decodeRegLoad)],
    [
      NXAST.REG_LOAD2,
      atLeast(16, (r) => ({ type: 'nx_reg_load2', field: pullSetFieldOxm(r, false) })),
    ],
    [NXAST.CLONE, atLeast(16, (r, _s, depth) => (r.skip(6), { type: 'nx_clone', actions: nested.decode(r, r.remaining, depth + 1) }))],
    [
      NXAST.CONJUNCTION,
      exact(16, (r) => {
        const clause = r.u8();
        const nClauses = r.u8();
        return { type: 'nx_conjunction', clause, nClauses, id: r.u32() };
      }),
    ],
    [NXAST.NOTE, atLeast(16, (r) => ({ type: 'nx_note', note: r.bytes(r.remaining) }))],
    [NXAST.DEC_TTL, exact(16, () => ({ type: 'nx_dec_ttl' }))],
    [NXAST.DEC_TTL_CNT_IDS, atLeast(16, decodeDecTtlCntIds)],
    [
      NXAST.CONTROLLER,
      exact(16, (r) => {
        const maxLen = r.u16();
        const controllerId = r.u16();
        return { type: 'nx_controller', maxLen, controllerId, reason: r.u8() };
      }),
    ],
    [NXAST.CONTROLLER2, atLeast(16, decodeController2)],
    [
      NXAST.OUTPUT_REG,
      exact(24, (r) => {
        const on = r.u16();
        const src = decodeFieldRef32(r, 'output_reg src');
        const maxLen = r.u16();
        return { type: 'nx_output_reg', ofs: on >>> 6, nBits: (on & 0x3f) + 1, src, maxLen };
      }),
    ],
    [NXAST.OUTPUT_REG2, exact(24, decodeOutputReg2)],
    [NXAST.CHECK_PKT_LARGER, exact(24, decodeCheckPktLarger)],
    [
      NXAST.MULTIPATH,
      exact(32, (r) => {
        const fields = r.u16();
        const basis = r.u16();
        r.skip(2);
        const algorithm = r.u16();
        const maxLink = r.u16();
        const arg = r.u32();
        r.skip(2);
        const on = r.u16();
        const dst = decodeFieldRef32(r, 'multipath dst');
        return { type: 'nx_multipath', fields, basis, algorithm, maxLink, arg, ofs: on >>> 6, nBits: (on & 0x3f) + 1, dst };
      }),
    ],
    [NXAST.EXIT, exact(16, () => ({ type: 'nx_exit' }))],
    [NXAST.SAMPLE, decodeSample(1)],
    [NXAST.SAMPLE2, decodeSample(2)],
    [NXAST.SAMPLE3, decodeSample(3)],
    [
      NXAST.FIN_TIMEOUT,
      exact(16, (r) => {
        const finIdleTimeout = r.u16();
        return { type: 'nx_fin_timeout', finIdleTimeout, finHardTimeout: r.u16() };
      }),
    ],
  ];

  const onfDecoders: DecoderEntries = [
    [
      ONFACT.COPY_FIELD,
      atLeast(24, (r) => {
        r.skip(2);
        const nBits = r.u16();
        const srcOffset = r.u16();
        const dstOffset = r.u16();
        r.skip(2);
        const src = decodeFieldRef(r, 'copy_field src');
        const dst = decodeFieldRef(r, 'copy_field dst');
        return { type: 'onf_copy_field', nBits, srcOffset, dstOffset, src, dst };
      }),
    ],
  ];

  return { encoders, nxDecoders, onfDecoders };
}

function putRegMove(d: DataView, p: number, a: ActionOf<'nx_reg_move'>, limit: number): number {
  const src = a.src;
  const dst = a.dst;
  const nBits = a.nBits;
  const ofs = (a.srcOfs << 16) | (a.dstOfs & 0xffff);
  const srcHeader = src.header;
  const dstHeader = dst.header;
  if (srcHeader >>> 16 === 0xffff || dstHeader >>> 16 === 0xffff) return putRegMoveExp(d, p, a, limit);
  // Two 32-bit headers: 24 bytes, no padding.
  room(limit, p + 24);
  putNxHeader(d, p, 24, (NXAST.REG_MOVE << 16) | (nBits & 0xffff));
  d.setUint32(p + 12, ofs);
  d.setUint32(p + 16, srcHeader);
  d.setUint32(p + 20, dstHeader);
  return p + 24;
}

/** reg_move with a 64-bit (experimenter) header on either side. */
function putRegMoveExp(d: DataView, p: number, a: ActionOf<'nx_reg_move'>, limit: number): number {
  const src = a.src;
  const dst = a.dst;
  const srcExp = src.header >>> 16 === 0xffff;
  const dstExp = dst.header >>> 16 === 0xffff;
  const len = pad8(24 + (srcExp ? 4 : 0) + (dstExp ? 4 : 0));
  room(limit, p + len);
  putNxHeader(d, p, len, (NXAST.REG_MOVE << 16) | (a.nBits & 0xffff));
  d.setUint16(p + 12, a.srcOfs);
  d.setUint16(p + 14, a.dstOfs);
  let q = p + 16;
  d.setUint32(q, src.header);
  q += 4;
  if (srcExp) {
    d.setUint32(q, src.experimenter ?? 0);
    q += 4;
  }
  d.setUint32(q, dst.header);
  q += 4;
  if (dstExp) {
    d.setUint32(q, dst.experimenter ?? 0);
    q += 4;
  }
  return putZeros(d, q, p + len, limit);
}

const resubmitDecoder = (subtype: number): ActionDecoder =>
  exact(16, (r) => {
    const inPort = r.u16();
    const table = r.u8();
    if (subtype === NXAST.RESUBMIT) return { type: 'nx_resubmit', inPort };
    if (subtype === NXAST.RESUBMIT_TABLE) return { type: 'nx_resubmit', inPort, table };
    return { type: 'nx_resubmit', inPort, table, ct: true };
  });

function decodeRegLoad(r: Reader): Action {
  const on = r.u16();
  const dst = decodeFieldRef32(r, 'reg_load dst');
  const value = r.u64();
  return { type: 'nx_reg_load', ofs: on >>> 6, nBits: (on & 0x3f) + 1, dst, value };
}

function decodeRegMove(r: Reader): Action {
  const nBits = r.u16();
  const srcOfs = r.u16();
  const dstOfs = r.u16();
  const src = decodeFieldRef(r, 'reg_move src');
  const dst = decodeFieldRef(r, 'reg_move dst');
  return { type: 'nx_reg_move', nBits, srcOfs, dstOfs, src, dst };
}

function decodeDecTtlCntIds(r: Reader): Action {
  const n = r.u16();
  r.skip(4);
  // Only the ids that fit are read: checkAction refuses a count that does not fit (after the padding check).
  const controllerIds: number[] = [];
  for (let i = 0; i < n && r.remaining >= 2; i++) controllerIds.push(r.u16());
  return { type: 'nx_dec_ttl', controllerIds };
}

function decodeController2(r: Reader, start: number): Action {
  if (!r.buf.subarray(r.pos, r.pos + 6).every((x) => x === 0)) throw nxError('controller: nonzero padding', NXERR.MUST_BE_ZERO, start + 10);
  r.skip(6);
  const props = r.bytes(r.remaining);
  const pr = new Reader(props);
  const a: { -readonly [K in keyof Controller2]: Controller2[K] } = { type: 'nx_controller2' };
  // Properties as OVS pulls them (ofpprop_pull, ofpprop_parse_*): length faults are OFPBPC_BAD_LEN, types it does not
  // know OFPBPC_BAD_TYPE (OFPBPC_BAD_EXP_TYPE for experimenter properties).
  while (pr.remaining > 0) {
    const start = pr.pos;
    if (pr.remaining < 4) throw propError(`controller2: ${pr.remaining} bytes of a property`, ONFERR.BPC_BAD_LEN, start);
    const type = pr.u16();
    const len = pr.u16();
    if (len < 4 || start + pad8(len) > pr.end) throw propError(`controller2 property ${type}: bad length ${len}`, ONFERR.BPC_BAD_LEN, start);
    const value = pr.bytes(len - 4);
    pr.skip(pad8(len) - len);
    const short = (n: number): CodecError => propError(`controller2 property ${type}: ${value.length} bytes, needs ${n}`, ONFERR.BPC_BAD_LEN, start);
    if (type === NXAC2PT.MAX_LEN) {
      if (value.length < 2) throw short(2);
      a.maxLen = (value[0]! << 8) | value[1]!;
    } else if (type === NXAC2PT.CONTROLLER_ID) {
      if (value.length < 2) throw short(2);
      a.controllerId = (value[0]! << 8) | value[1]!;
    } else if (type === NXAC2PT.REASON) {
      if (value.length < 1) throw short(1);
      a.reason = value[0]!;
    } else if (type === NXAC2PT.USERDATA) a.userdata = value;
    else if (type === NXAC2PT.PAUSE) a.pause = true;
    else if (type === NXAC2PT.METER_ID) {
      if (value.length !== 4) throw short(4);
      a.meterId = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
    } else if (type === 0xffff) {
      if (len < 12) throw propError(`controller2: experimenter property of length ${len}`, ONFERR.BPC_BAD_LEN, start);
      throw propError('controller2: experimenter property', ONFERR.BPC_BAD_EXP_TYPE, start);
    } else throw propError(`controller2: unknown property type ${type}`, ONFERR.BPC_BAD_TYPE, start);
  }
  // Keep the properties verbatim unless re-encoding the typed fields reproduces them exactly (order, padding,
  // unknown properties): that is what makes encode(decode(b)) === b.
  if (!reencodes(a, props)) a.raw = props;
  return a;
}

function reencodes(a: Controller2, props: Uint8Array): boolean {
  const len = controller2PropsLength(a);
  if (len !== props.length) return false;
  const probe = new Uint8Array(len);
  encodeController2Props(new Writer(probe), a);
  for (let i = 0; i < len; i++) if (probe[i] !== props[i]) return false;
  return true;
}

function decodeOutputReg2(r: Reader): Action {
  const on = r.u16();
  const maxLen = r.u16();
  const src = decodeFieldRef(r, 'output_reg2 src');
  return { type: 'nx_output_reg2', ofs: on >>> 6, nBits: (on & 0x3f) + 1, src, maxLen };
}

/** struct nx_action_check_pkt_larger: pkt_len, offset, the 1-bit destination's header (4 or 8 bytes), zeros. */
function decodeCheckPktLarger(r: Reader): Action {
  const pktLen = r.u16();
  const ofs = r.u16();
  const dst = decodeFieldRef(r, 'check_pkt_larger dst');
  return { type: 'nx_check_pkt_larger', pktLen, ofs, dst };
}

function decodeSample(version: 1 | 2 | 3): ActionDecoder {
  return exact(version === 1 ? 24 : 32, (r) => {
    const probability = r.u16();
    const collectorSetId = r.u32();
    const obsDomainId = r.u32();
    const obsPointId = r.u32();
    if (version === 1) return { type: 'nx_sample', version, probability, collectorSetId, obsDomainId, obsPointId };
    const samplingPort = r.u16();
    const direction = r.u8();
    if (version === 2) return { type: 'nx_sample', version, probability, collectorSetId, obsDomainId, obsPointId, samplingPort };
    return { type: 'nx_sample', version, probability, collectorSetId, obsDomainId, obsPointId, samplingPort, direction };
  });
}
