// OpenFlow 1.3 actions plus the Nicira (NXAST_*) and ONF extensions Open vSwitch speaks, binary form.
//
// Two registries: encoders keyed by `Action['type']` (a mapped type, so every variant must have exactly one entry,
// its length and its writer: the one place its wire format is written) and decoders
// keyed by wire code (standard OFPAT, Nicira subtype, ONF subtype). Several wire codes can decode to one action
// type (e.g. NXAST_RESUBMIT / RESUBMIT_TABLE / RESUBMIT_TABLE_CT all become 'nx_resubmit'); each encoder picks the
// code from the action's fields so that encode(decode(b)) reproduces b.
//
// Lengths are validated the way ofp-actions.c does: every action is at least 8 bytes, a multiple of 8, inside the
// buffer, and within its own type's minimum/maximum; otherwise CodecError(OFPET_BAD_ACTION, OFPBAC_BAD_LEN).
// The encode path allocates nothing: lengths are arithmetic on the action, writes go straight into the buffer.

import { OFPET, OFPBAC, NX_VENDOR_ID, ONF_EXPERIMENTER_ID } from './consts.js';
import { OFPAT, NXAST, ONFACT, NX_NAT_RANGE, NXAC2PT } from './action-consts.js';
import { CodecError } from './errors.js';
import { Reader } from './reader.js';
import { pad8, putU64, putZeros, room, Writer, writerAt } from './writer.js';
import { decodeOxm, encodeOxm, oxmEncodingLength, putOxm } from './oxm.js';
import { fieldByHeader } from './oxm-fields.js';
import type { Action, ActionType, FieldRef } from './types.js';
import { checkPort } from './ports.js';

type ActionOf<T extends ActionType> = Extract<Action, { readonly type: T }>;

/** Deepest clone/ct nesting accepted on decode; deeper input is rejected instead of recursing further. */
export const MAX_ACTION_NESTING = 16;
/** Largest possible action: a u16 length rounded down to the 8-byte alignment. */
const MAX_ACTION_LEN = 0xfff8;
const NX_HEADER_LEN = 10; // type, len, vendor, subtype
const EXT_ACTION_HEADER_LEN = 16; // nx header + 6 pad bytes

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const badLen = (msg: string, offset?: number): CodecError => new CodecError(msg, OFPET.BAD_ACTION, OFPBAC.BAD_LEN, offset);

/** Like Reader.need, but a shortfall inside an action is OFPBAC_BAD_LEN. */
function need(r: Reader, n: number, what: string): void {
  r.need(n, what, OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
}

/** Writes `n` zero bytes (the pad bytes actions need). */
const zero = (w: Writer, n: number): void => w.zeros(n);

function stdHeader(w: Writer, type: number, len: number): void {
  const b = w.buf;
  const p = w.pos;
  if (p + 4 > b.length) throw new RangeError('Writer: overrun');
  b[p] = type >>> 8;
  b[p + 1] = type;
  b[p + 2] = len >>> 8;
  b[p + 3] = len;
  w.pos = p + 4;
}

function nxHeader(w: Writer, subtype: number, len: number): void {
  const b = w.buf;
  const p = w.pos;
  if (p + NX_HEADER_LEN > b.length) throw new RangeError('Writer: overrun');
  b[p] = 0xff;
  b[p + 1] = 0xff;
  b[p + 2] = len >>> 8;
  b[p + 3] = len;
  b[p + 4] = NX_VENDOR_ID >>> 24;
  b[p + 5] = NX_VENDOR_ID >>> 16;
  b[p + 6] = NX_VENDOR_ID >>> 8;
  b[p + 7] = NX_VENDOR_ID;
  b[p + 8] = subtype >>> 8;
  b[p + 9] = subtype;
  w.pos = p + NX_HEADER_LEN;
}

/**
 * Ends a variable-length action that began at `start` with a placeholder length: pads it with zeros to 8 bytes and
 * patches its length, so the encoder does not walk nested actions twice to size them first.
 */
function finish(w: Writer, start: number): void {
  const body = w.pos - start;
  const len = pad8(body);
  zero(w, len - body);
  w.patchU16(start + 2, len);
}

/** `ofs_nbits` as Nicira packs a bit range: offset in the high 10 bits, (n_bits - 1) in the low 6. */
export const ofsNbits = (ofs: number, nBits: number): number => (ofs << 6) | (nBits - 1);

const fieldRefLength = (f: FieldRef): number => ((f.header >>> 16) === 0xffff ? 8 : 4);

function encodeFieldRef(w: Writer, f: FieldRef): void {
  w.u32(f.header);
  if ((f.header >>> 16) === 0xffff) w.u32(f.experimenter ?? 0);
}

function decodeFieldRef(r: Reader, what: string): FieldRef {
  need(r, 4, what);
  const header = r.u32();
  if ((header >>> 16) !== 0xffff) {
    const info = fieldByHeader(header);
    return { field: info ? info.name : 'unknown', header };
  }
  need(r, 4, `${what} experimenter`);
  const experimenter = r.u32();
  const info = fieldByHeader(header, experimenter);
  return { field: info ? info.name : 'unknown', header, experimenter };
}

/**
 * A field reference that is always a 32-bit header (NXAST_REG_LOAD, OUTPUT_REG, MULTIPATH: OVS reads them with
 * mf_from_nxm_header, never nx_pull_header). A class-0xffff header here is an unknown field, not an experimenter
 * header with 4 more bytes: only the newer actions (output_reg2, reg_move, copy_field) carry 64-bit headers.
 */
function decodeFieldRef32(r: Reader, what: string): FieldRef {
  need(r, 4, what);
  const header = r.u32();
  const info = (header >>> 16) === 0xffff ? undefined : fieldByHeader(header);
  return { field: info ? info.name : 'unknown', header };
}

/** Rejects a bit range that does not fit the referenced field (only checkable for fields we know). */
function checkSubfield(f: FieldRef, ofs: number, nBits: number, what: string): void {
  const info = f.field === 'unknown' ? undefined : fieldByHeader(f.header, f.experimenter);
  if (nBits < 1 || (info && ofs + nBits > info.nBits)) {
    throw new CodecError(`${what}: bits ${ofs}..${ofs + nBits - 1} do not fit ${f.field}`, OFPET.BAD_ACTION, OFPBAC.BAD_SET_ARGUMENT);
  }
}

function checkZeros(r: Reader, what: string): void {
  const rest = r.bytes(r.remaining, what);
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] !== 0) throw new CodecError(`${what}: nonzero padding`, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT, r.pos - rest.length + i);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoders, one per Action variant

/** How one action is written: the one place its wire format is encoded. */
interface ActionEncoder<A extends Action> {
  /** The whole TLV's length in bytes (a multiple of 8). */
  readonly length: (a: A) => number;
  /**
   * Writes the whole TLV, header included, at `p` in `d` (`limit` is d.byteLength); returns the end. The actions
   * flows are made of most store straight into the DataView, one 32-bit store per four bytes, after one `room`
   * check; the rarer ones go through a Writer (viaWriter).
   */
  readonly put: (d: DataView, p: number, a: A, limit: number) => number;
}

type EncoderTable = { readonly [T in ActionType]: ActionEncoder<ActionOf<T>> };

/** An action's `put` written with a Writer's checked field writes. */
const viaWriter =
  <A extends Action>(encode: (w: Writer, a: A) => void): ActionEncoder<A>['put'] =>
  (d, p, a) => {
    const w = writerAt(d, p);
    encode(w, a);
    return w.pos;
  };

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

const nxVoid = (subtype: number): ActionEncoder<Action> => ({
  length: () => 16,
  put: viaWriter((w) => {
    nxHeader(w, subtype, 16);
    zero(w, 6);
  }),
});

const natRangeLength = (present: number): number =>
  (present & NX_NAT_RANGE.IPV4_MIN ? 4 : 0) +
  (present & NX_NAT_RANGE.IPV4_MAX ? 4 : 0) +
  (present & NX_NAT_RANGE.IPV6_MIN ? 16 : 0) +
  (present & NX_NAT_RANGE.IPV6_MAX ? 16 : 0) +
  (present & NX_NAT_RANGE.PROTO_MIN ? 2 : 0) +
  (present & NX_NAT_RANGE.PROTO_MAX ? 2 : 0);

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

const encoders: EncoderTable = {
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
    length: (a) => EXT_ACTION_HEADER_LEN + actionsEncodingLength(a.actions),
    put: viaWriter((w, a) => {
      const start = w.pos;
      nxHeader(w, NXAST.CLONE, 0);
      zero(w, 6);
      encodeActions(w, a.actions);
      finish(w, start);
    }),
  },
  nx_ct: {
    length: (a) => 24 + actionsEncodingLength(a.actions),
    put: viaWriter((w, a) => {
      const start = w.pos;
      nxHeader(w, NXAST.CT, 0);
      w.u16(a.flags);
      w.u32(a.zoneSrc ? a.zoneSrc.header : 0);
      w.u16(a.zoneSrc ? ofsNbits(a.zoneOfs, a.zoneNBits) : a.zoneImm);
      w.u8(a.recircTable);
      zero(w, 3);
      w.u16(a.alg);
      encodeActions(w, a.actions);
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
  nx_conjunction: {
    length: () => 16,
    put: viaWriter((w, a) => {
      nxHeader(w, NXAST.CONJUNCTION, 16);
      w.u8(a.clause);
      w.u8(a.nClauses);
      w.u32(a.id);
    }),
  },
  nx_learn: {
    length: (a) => pad8(32 + a.specs.length),
    put: viaWriter((w, a) => {
      const len = pad8(32 + a.specs.length);
      nxHeader(w, NXAST.LEARN, len);
      w.u16(a.idleTimeout);
      w.u16(a.hardTimeout);
      w.u16(a.priority);
      w.u64(a.cookie);
      w.u16(a.flags);
      w.u8(a.tableId);
      zero(w, 1);
      w.u16(a.finIdleTimeout);
      w.u16(a.finHardTimeout);
      w.bytes(a.specs);
      zero(w, len - 32 - a.specs.length);
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
  experimenter: {
    length: (a) => a.raw.length,
    put: viaWriter((w, a) => w.bytes(a.raw)),
  },
};

function writeIpv6(w: Writer, addr: Uint8Array | undefined): void {
  if (addr) w.bytes(addr.subarray(0, 16));
  if (!addr || addr.length < 16) zero(w, 16 - (addr ? Math.min(addr.length, 16) : 0));
}

/**
 * The table's entry for an action. The three actions flows are mostly made of are picked by comparing the type
 * string first: a keyed load for every action (megamorphic, so their `put` is not inlined either) measured 1.6x
 * the CPU time per seed FLOW_MOD.
 */
function encoderFor<A extends Action>(a: A): ActionEncoder<A> {
  const t = a.type;
  if (t === 'set_field') return encoders.set_field as unknown as ActionEncoder<A>;
  if (t === 'output') return encoders.output as unknown as ActionEncoder<A>;
  if (t === 'nx_reg_move') return encoders.nx_reg_move as unknown as ActionEncoder<A>;
  return entryOf(t) as ActionEncoder<A>;
}

function entryOf(type: string): ActionEncoder<Action> {
  if (!Object.hasOwn(encoders, type)) throw new TypeError(`unknown action type ${JSON.stringify(type)}`);
  return (encoders as Readonly<Record<string, ActionEncoder<Action>>>)[type]!;
}

/** Total bytes `encodeActions` writes for `actions`. */
export function actionsEncodingLength(actions: readonly Action[]): number {
  let n = 0;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    n += encoderFor(a).length(a);
  }
  return n;
}

/** Length of a single action TLV. */
export function actionEncodingLength(a: Action): number {
  return encoderFor(a).length(a);
}

export function encodeActions(w: Writer, actions: readonly Action[]): void {
  w.pos = putActions(w.view, w.pos, actions, w.buf.length);
}

/** Writes `actions` at `p` in `d` (`limit` is d.byteLength); returns the end. */
export function putActions(d: DataView, p: number, actions: readonly Action[], limit: number): number {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    p = encoderFor(a).put(d, p, a, limit);
  }
  return p;
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

/**
 * The 10-byte Nicira action header (type 0xffff, len, vendor, subtype) and the action's first two bytes after it,
 * as three 32-bit stores: `subtypeAndNext` is subtype << 16 | those two bytes.
 */
function putNxHeader(d: DataView, p: number, len: number, subtypeAndNext: number): void {
  d.setInt32(p, 0xffff0000 | len);
  d.setInt32(p + 4, NX_VENDOR_ID);
  d.setInt32(p + 8, subtypeAndNext);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoders, keyed by wire code

interface ActionDecoder {
  /** Smallest and largest valid TLV length (equal for fixed-size actions). */
  readonly min: number;
  readonly max: number;
  /**
   * Decodes the body. `r` is bounded to this action and positioned just after the header (type+len for standard
   * actions; type+len+vendor+subtype for experimenter ones). `start` is the action's first byte in `r.buf`.
   */
  readonly decode: (r: Reader, start: number, depth: number) => Action;
}

const exact = (len: number, decode: ActionDecoder['decode']): ActionDecoder => ({ min: len, max: len, decode });
const atLeast = (min: number, decode: ActionDecoder['decode']): ActionDecoder => ({ min, max: MAX_ACTION_LEN, decode });

const voidAction = <T extends ActionType>(type: T) => exact(8, () => ({ type }) as Action);
const ethertypeAction = (type: 'push_vlan' | 'push_mpls' | 'pop_mpls' | 'push_pbb') =>
  exact(8, (r) => ({ type, ethertype: r.u16() }));
const ttlAction = (type: 'set_mpls_ttl' | 'set_nw_ttl') => exact(8, (r) => ({ type, ttl: r.u8() }));

const standardDecoders = new Map<number, ActionDecoder>([
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
    atLeast(8, (r) => {
      const field = decodeOxm(r);
      if (r.remaining >= 8) throw badLen(`set_field: ${r.remaining} bytes after the OXM (at most 7 of padding)`, r.pos);
      return { type: 'set_field', field };
    }),
  ],
  [OFPAT.PUSH_PBB, ethertypeAction('push_pbb')],
  [OFPAT.POP_PBB, voidAction('pop_pbb')],
]);

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
  const ofs = on >>> 6;
  const nBits = (on & 0x3f) + 1;
  checkSubfield(dst, ofs, nBits, 'reg_load');
  if (nBits < 64 && value >> BigInt(nBits) !== 0n) {
    throw new CodecError(`reg_load: value 0x${value.toString(16)} wider than ${nBits} bits`, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT);
  }
  return { type: 'nx_reg_load', ofs, nBits, dst, value };
}

function decodeRegMove(r: Reader): Action {
  const nBits = r.u16();
  const srcOfs = r.u16();
  const dstOfs = r.u16();
  const src = decodeFieldRef(r, 'reg_move src');
  const dst = decodeFieldRef(r, 'reg_move dst');
  checkZeros(r, 'reg_move');
  checkSubfield(src, srcOfs, nBits, 'reg_move src');
  checkSubfield(dst, dstOfs, nBits, 'reg_move dst');
  return { type: 'nx_reg_move', nBits, srcOfs, dstOfs, src, dst };
}

function decodeCt(r: Reader, start: number, depth: number): Action {
  const flags = r.u16();
  const zoneHeader = r.u32();
  const zone = r.u16();
  const recircTable = r.u8();
  r.skip(3);
  const alg = r.u16();
  const actions = decodeActionList(r, r.remaining, depth + 1);
  if (zoneHeader === 0) {
    return { type: 'nx_ct', flags, zoneOfs: 0, zoneNBits: 0, zoneImm: zone, recircTable, alg, actions };
  }
  const info = fieldByHeader(zoneHeader);
  const zoneSrc: FieldRef = { field: info ? info.name : 'unknown', header: zoneHeader };
  const zoneOfs = zone >>> 6;
  const zoneNBits = (zone & 0x3f) + 1;
  return { type: 'nx_ct', flags, zoneSrc, zoneOfs, zoneNBits, zoneImm: 0, recircTable, alg, actions };
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

function decodeDecTtlCntIds(r: Reader): Action {
  const n = r.u16();
  r.skip(4);
  need(r, 2 * n, `dec_ttl: ${n} controller ids`);
  const controllerIds: number[] = [];
  for (let i = 0; i < n; i++) controllerIds.push(r.u16());
  if (r.remaining >= 8) throw badLen(`dec_ttl: ${r.remaining} bytes after the controller ids`, r.pos);
  return { type: 'nx_dec_ttl', controllerIds };
}

function decodeController2(r: Reader): Action {
  r.skip(6);
  const props = r.bytes(r.remaining);
  const pr = new Reader(props);
  const a: { -readonly [K in keyof Controller2]: Controller2[K] } = { type: 'nx_controller2' };
  while (pr.remaining > 0) {
    need(pr, 4, 'controller2 property');
    const start = pr.pos;
    const type = pr.u16();
    const len = pr.u16();
    if (len < 4 || start + pad8(len) > pr.end) throw badLen(`controller2 property ${type}: bad length ${len}`, start);
    const value = pr.bytes(len - 4);
    pr.skip(pad8(len) - len);
    if (type === NXAC2PT.MAX_LEN && len >= 6) a.maxLen = (value[0]! << 8) | value[1]!;
    else if (type === NXAC2PT.CONTROLLER_ID && len >= 6) a.controllerId = (value[0]! << 8) | value[1]!;
    else if (type === NXAC2PT.REASON && len >= 5) a.reason = value[0]!;
    else if (type === NXAC2PT.USERDATA) a.userdata = value;
    else if (type === NXAC2PT.PAUSE) a.pause = true;
    else if (type === NXAC2PT.METER_ID && len >= 8) a.meterId = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
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
  checkZeros(r, 'output_reg2');
  const ofs = on >>> 6;
  const nBits = (on & 0x3f) + 1;
  checkSubfield(src, ofs, nBits, 'output_reg2');
  return { type: 'nx_output_reg2', ofs, nBits, src, maxLen };
}

/** struct nx_action_check_pkt_larger: pkt_len, offset, the 1-bit destination's header (4 or 8 bytes), zeros. */
function decodeCheckPktLarger(r: Reader): Action {
  const pktLen = r.u16();
  const ofs = r.u16();
  const dst = decodeFieldRef(r, 'check_pkt_larger dst');
  checkZeros(r, 'check_pkt_larger');
  checkSubfield(dst, ofs, 1, 'check_pkt_larger');
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

const nxDecoders = new Map<number, ActionDecoder>([
  [NXAST.RESUBMIT, resubmitDecoder(NXAST.RESUBMIT)],
  [NXAST.RESUBMIT_TABLE, resubmitDecoder(NXAST.RESUBMIT_TABLE)],
  [NXAST.RESUBMIT_TABLE_CT, resubmitDecoder(NXAST.RESUBMIT_TABLE_CT)],
  [NXAST.REG_MOVE, atLeast(24, decodeRegMove)],
  [NXAST.REG_LOAD, exact(24, decodeRegLoad)],
  [
    NXAST.REG_LOAD2,
    atLeast(16, (r) => {
      const field = decodeOxm(r);
      checkZeros(r, 'reg_load2');
      return { type: 'nx_reg_load2', field };
    }),
  ],
  [NXAST.CLONE, atLeast(16, (r, _s, depth) => (r.skip(6), { type: 'nx_clone', actions: decodeActionList(r, r.remaining, depth + 1) }))],
  [NXAST.CT, atLeast(24, decodeCt)],
  [NXAST.CT_CLEAR, exact(16, () => ({ type: 'nx_ct_clear' }))],
  [NXAST.NAT, atLeast(16, decodeNat)],
  [
    NXAST.CONJUNCTION,
    exact(16, (r) => {
      const clause = r.u8();
      const nClauses = r.u8();
      return { type: 'nx_conjunction', clause, nClauses, id: r.u32() };
    }),
  ],
  [
    NXAST.LEARN,
    atLeast(32, (r) => {
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const priority = r.u16();
      const cookie = r.u64();
      const flags = r.u16();
      const tableId = r.u8();
      r.skip(1);
      const finIdleTimeout = r.u16();
      const finHardTimeout = r.u16();
      const specs = r.bytes(r.remaining);
      return { type: 'nx_learn', idleTimeout, hardTimeout, priority, cookie, flags, tableId, finIdleTimeout, finHardTimeout, specs };
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
      checkZeros(r, 'output_reg');
      const ofs = on >>> 6;
      const nBits = (on & 0x3f) + 1;
      checkSubfield(src, ofs, nBits, 'output_reg');
      return { type: 'nx_output_reg', ofs, nBits, src, maxLen };
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
      const ofs = on >>> 6;
      const nBits = (on & 0x3f) + 1;
      checkSubfield(dst, ofs, nBits, 'multipath');
      return { type: 'nx_multipath', fields, basis, algorithm, maxLink, arg, ofs, nBits, dst };
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
]);

const onfDecoders = new Map<number, ActionDecoder>([
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
      checkZeros(r, 'copy_field');
      checkSubfield(src, srcOffset, nBits, 'copy_field src');
      checkSubfield(dst, dstOffset, nBits, 'copy_field dst');
      return { type: 'onf_copy_field', nBits, srcOffset, dstOffset, src, dst };
    }),
  ],
]);

/** Subtype registries by experimenter id; experimenters not listed here are kept raw without a subtype. */
const experimenterDecoders = new Map<number, Map<number, ActionDecoder>>([
  [NX_VENDOR_ID, nxDecoders],
  [ONF_EXPERIMENTER_ID, onfDecoders],
]);

/** Rejects a length outside the decoder's bounds; `experimenter` and `subtype` only name the action in the error. */
function checkLength(d: ActionDecoder, len: number, type: number, at: number, experimenter?: number): void {
  if (len >= d.min && len <= d.max) return;
  const what = experimenter === undefined ? `action type ${type}` : `experimenter 0x${experimenter.toString(16)} subtype ${type}`;
  if (len < d.min) throw badLen(`${what}: length ${len} below minimum ${d.min}`, at);
  throw badLen(`${what}: length ${len} above maximum ${d.max}`, at);
}

/** The whole TLV of an action kept verbatim: a view, like Reader.bytes. */
const rawAction = (r: Reader, start: number, len: number): Uint8Array => new Uint8Array(r.buf.buffer, r.buf.byteOffset + start, len);

/** Decodes one action TLV at `r.pos`; `r` must be bounded to the action list. */
function decodeOne(r: Reader, depth: number): Action {
  const start = r.pos;
  if (r.remaining < 8) throw badLen(`action: ${r.remaining} bytes left, an action needs at least 8`, start);
  const type = r.u16At(start);
  const len = r.u16At(start + 2);
  if (len < 8) throw badLen(`action type ${type}: length ${len} below 8`, start);
  if (len % 8 !== 0) throw badLen(`action type ${type}: length ${len} not a multiple of 8`, start);
  if (len > r.remaining) throw badLen(`action type ${type}: length ${len} overruns the ${r.remaining} bytes left`, start);
  const body = r.sub(len, 'action', OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
  body.pos += 4;

  if (type !== OFPAT.EXPERIMENTER) {
    const d = standardDecoders.get(type);
    if (!d) throw new CodecError(`unknown action type ${type}`, OFPET.BAD_ACTION, OFPBAC.BAD_TYPE, start);
    checkLength(d, len, type, start);
    return d.decode(body, start, depth);
  }

  const experimenter = body.u32();
  const subtypes = experimenterDecoders.get(experimenter);
  if (!subtypes) return { type: 'experimenter', experimenter, raw: rawAction(r, start, len) };
  if (len < 16) throw badLen(`experimenter 0x${experimenter.toString(16)} action: length ${len} below 16`, start);
  const subtype = body.u16();
  const d = subtypes.get(subtype);
  if (!d) return { type: 'experimenter', experimenter, subtype, raw: rawAction(r, start, len) };
  checkLength(d, len, subtype, start, experimenter);
  return d.decode(body, start, depth);
}

function decodeActionList(r: Reader, length: number, depth: number): Action[] {
  if (depth > MAX_ACTION_NESTING) {
    throw new CodecError(`actions nested more than ${MAX_ACTION_NESTING} deep`, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT, r.pos);
  }
  const list = r.sub(length, 'actions', OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
  const out: Action[] = [];
  while (list.remaining > 0) out.push(decodeOne(list, depth));
  return out;
}

/** Decodes `length` bytes of actions at `r.pos` and moves `r` past them. */
export function decodeActions(r: Reader, length: number): Action[] {
  return decodeActionList(r, length, 0);
}
