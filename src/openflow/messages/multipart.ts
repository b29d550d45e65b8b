// OFPT_MULTIPART_REQUEST / OFPT_MULTIPART_REPLY bodies, one request and one reply codec per OFPMP type. The
// multipart header (type, flags, pad) is written and read by message.ts; `flags` arrives in the Header.
import { OFPBIC, OFPBRC, OFPET, OFPMBT, OFPMP, OFPT } from '../consts.js';
import { OFPFMFC, OFPMMFC } from '../error-codes.js';
import { KNOWN_FLAGS } from './flow-mod.js';
import { CodecError, withPartial } from '../errors.js';
import type { FlowStats, GroupDesc, GroupStats, Match, MessageOf, MessageType, MeterConfig, MeterStats, PortStats, QueueStats, TableFeatures, TableStats } from '../types.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { decodeMatch, encodeMatch, matchEncodingLength } from '../match.js';
import { decodeInstructions, encodeInstructions, instructionsEncodingLength } from '../instructions.js';
import { type AnyBodyCodec, type BodyCodec, type Framing, type Header, badLen, decodeFixedList, emptyBody } from './codec.js';
import { checkPort } from '../ports.js';
import {
  OFP_PORT_LEN,
  bandsEncodingLength,
  bucketsEncodingLength,
  decodeBands,
  decodeBuckets,
  decodePort,
  decodeProps,
  encodeBands,
  encodeBuckets,
  encodePort,
  encodeProps,
  propsEncodingLength,
} from './common.js';

const request = (mpType: number): Framing => ({ kind: 'multipart', ofpType: OFPT.MULTIPART_REQUEST, mpType });
const reply = (mpType: number): Framing => ({ kind: 'multipart', ofpType: OFPT.MULTIPART_REPLY, mpType });

/** Struct sizes from the OF1.3.5 spec, each without the 8/16-byte message header. */
export const MP_SIZES = {
  desc: 1056,
  flowStatsRequest: 32, // + match
  flowStats: 48, // + match + instructions
  aggregateReply: 24,
  tableStats: 24,
  portStats: 112,
  queueStats: 40,
  groupStats: 40, // + 16 per bucket
  bucketCounter: 16,
  groupDesc: 8, // + buckets
  groupFeatures: 40,
  meterStats: 40, // + 16 per band
  bandStats: 16,
  meterConfig: 8, // + bands
  meterFeatures: 16,
  tableFeatures: 64, // + properties
} as const;

const mp = <T extends MessageType>(type: T, h: Header, fields: object): MessageOf<T> => ({ type, xid: h.xid, flags: h.flags, ...fields }) as MessageOf<T>;

// ---- desc -----------------------------------------------------------------------------------------------------

const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;

export const descRequest = emptyBody('desc_request', request(OFPMP.DESC));
export const descReply: BodyCodec<'desc_reply'> = {
  type: 'desc_reply',
  framing: reply(OFPMP.DESC),
  lengthRule: { min: MP_SIZES.desc, multiple: 0 },
  encodingLength: () => MP_SIZES.desc,
  encode(w, m) {
    w.fixedString(m.mfrDesc, DESC_STR_LEN);
    w.fixedString(m.hwDesc, DESC_STR_LEN);
    w.fixedString(m.swDesc, DESC_STR_LEN);
    w.fixedString(m.serialNum, SERIAL_NUM_LEN);
    w.fixedString(m.dpDesc, DESC_STR_LEN);
  },
  decode: (r, h) =>
    mp('desc_reply', h, {
      mfrDesc: r.fixedString(DESC_STR_LEN),
      hwDesc: r.fixedString(DESC_STR_LEN),
      swDesc: r.fixedString(DESC_STR_LEN),
      serialNum: r.fixedString(SERIAL_NUM_LEN),
      dpDesc: r.fixedString(DESC_STR_LEN),
    }),
};

// ---- flow and aggregate ----------------------------------------------------------------------------------------

interface FlowStatsRequestFields {
  readonly tableId: number;
  readonly outPort: number;
  readonly outGroup: number;
  readonly cookie: bigint;
  readonly cookieMask: bigint;
  readonly match: Match;
}

/** ofp_flow_stats_request and ofp_aggregate_stats_request share one layout. */
function flowStatsRequestLike<T extends 'flow_stats_request' | 'aggregate_stats_request'>(type: T, mpType: number): BodyCodec<T> {
  return {
    type,
    framing: request(mpType),
    lengthRule: { min: MP_SIZES.flowStatsRequest, multiple: 8 },
    encodingLength: (m: { readonly match: Match }) => MP_SIZES.flowStatsRequest + matchEncodingLength(m.match),
    encode(w: Writer, m: FlowStatsRequestFields) {
      w.u8(m.tableId);
      w.zeros(3);
      w.u32(m.outPort);
      w.u32(m.outGroup);
      w.zeros(4);
      w.u64(m.cookie);
      w.u64(m.cookieMask);
      encodeMatch(w, m.match);
    },
    decode(r, h) {
      const tableId = r.u8();
      r.skip(3);
      const outPort = checkPort(r.u32(), 'out_port', r.pos - 4);
      const outGroup = r.u32();
      r.skip(4);
      const cookie = r.u64();
      const cookieMask = r.u64();
      const match = decodeMatch(r);
      // ofputil_decode_ofpst11_flow_request reads no further: bytes after the match (whole 8-byte units, by the
      // length rule) are ignored, as OVS ignores them.
      r.pos = r.end;
      return mp(type, h, { tableId, outPort, outGroup, cookie, cookieMask, match });
    },
  };
}

export const flowStatsRequest = flowStatsRequestLike('flow_stats_request', OFPMP.FLOW);
export const aggregateStatsRequest = flowStatsRequestLike('aggregate_stats_request', OFPMP.AGGREGATE);

function encodeFlowStats(w: Writer, f: FlowStats): void {
  const start = w.pos;
  w.u16(0); // length, patched below
  w.u8(f.tableId);
  w.zeros(1);
  w.u32(f.durationSec);
  w.u32(f.durationNsec);
  w.u16(f.priority);
  w.u16(f.idleTimeout);
  w.u16(f.hardTimeout);
  w.u16(f.flags);
  w.zeros(4);
  w.u64(f.cookie);
  w.u64(f.packetCount);
  w.u64(f.byteCount);
  encodeMatch(w, f.match);
  encodeInstructions(w, f.instructions);
  w.patchU16(start, w.pos - start);
}

/**
 * Hot path (10k-flow dumps): no sub-reader per entry. Read as OVS reads an entry (ofputil_decode_flow_stats_reply):
 * the fixed part and its length (OFPBRC_BAD_LEN), the match, the flags (OFPFMFC_BAD_FLAGS), then the instructions
 * the length leaves (OFPBIC_BAD_LEN when that is not a whole number of instructions inside the message).
 */
function decodeFlowStats(r: Reader): FlowStats {
  const start = r.pos;
  if (r.remaining < MP_SIZES.flowStats) throw badLen(`ofp_flow_stats: ${r.remaining} bytes left over`, start);
  const length = r.u16();
  if (length < MP_SIZES.flowStats) throw badLen(`ofp_flow_stats length ${length}`, start);
  const tableId = r.u8();
  r.pos += 1;
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const priority = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const flags = r.u16();
  r.pos += 4;
  const cookie = r.u64();
  const packetCount = r.u64();
  const byteCount = r.u64();
  const match = decodeMatch(r);
  if (flags & ~KNOWN_FLAGS) throw new CodecError(`ofp_flow_stats: flags 0x${flags.toString(16)} OVS does not know`, OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS, start + 18);
  const instructionsLen = start + length - r.pos;
  if (instructionsLen < 0 || r.pos + instructionsLen > r.end) throw new CodecError(`ofp_flow_stats: length ${length} leaves ${instructionsLen} bytes of instructions`, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN, start);
  const instructions = decodeInstructions(r, instructionsLen);
  return { tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount, match, instructions };
}

const flowStatsLength = (f: FlowStats): number => MP_SIZES.flowStats + matchEncodingLength(f.match) + instructionsEncodingLength(f.instructions);

export const flowStatsReply: BodyCodec<'flow_stats_reply'> = {
  type: 'flow_stats_reply',
  framing: reply(OFPMP.FLOW),
  encodingLength(m) {
    let n = 0;
    for (const f of m.flows) n += flowStatsLength(f);
    return n;
  },
  encode(w, m) {
    for (const f of m.flows) encodeFlowStats(w, f);
  },
  decode(r, h) {
    const flows: FlowStats[] = [];
    try {
      while (r.pos < r.end) flows.push(decodeFlowStats(r));
    } catch (e) {
      throw withPartial(e, () => mp('flow_stats_reply', h, { flows }));
    }
    return mp('flow_stats_reply', h, { flows });
  },
};

export const aggregateStatsReply: BodyCodec<'aggregate_stats_reply'> = {
  type: 'aggregate_stats_reply',
  framing: reply(OFPMP.AGGREGATE),
  encodingLength: () => MP_SIZES.aggregateReply,
  encode(w, m) {
    w.u64(m.packetCount);
    w.u64(m.byteCount);
    w.u32(m.flowCount);
    w.zeros(4);
  },
  decode(r, h) {
    const packetCount = r.u64();
    const byteCount = r.u64();
    const flowCount = r.u32();
    r.skip(4);
    return mp('aggregate_stats_reply', h, { packetCount, byteCount, flowCount });
  },
};

// ---- fixed-size stats lists: table, port, queue, port desc ------------------------------------------------------

/** A reply whose body is a list of fixed-size records under one key. */
function fixedListReply<T extends MessageType, E>(
  type: T,
  mpType: number,
  key: string,
  size: number,
  encodeOne: (w: Writer, e: E) => void,
  decodeOne: (r: Reader) => E,
): BodyCodec<T> {
  const list = (m: MessageOf<T>): readonly E[] => (m as unknown as Record<string, readonly E[]>)[key]!;
  return {
    type,
    framing: reply(mpType),
    // OVS's raw for each is an array of the record (ofpraw_check_length): a ragged body is refused before any record.
    lengthRule: { min: 0, multiple: size },
    encodingLength: (m) => list(m).length * size,
    encode(w, m) {
      for (const e of list(m)) encodeOne(w, e);
    },
    decode(r, h) {
      const out: E[] = [];
      try {
        decodeFixedList(r, size, type, decodeOne, out);
      } catch (e) {
        throw withPartial(e, () => mp(type, h, { [key]: out }));
      }
      return mp(type, h, { [key]: out });
    },
  };
}

export const tableStatsRequest = emptyBody('table_stats_request', request(OFPMP.TABLE));
export const tableStatsReply = fixedListReply<'table_stats_reply', TableStats>(
  'table_stats_reply',
  OFPMP.TABLE,
  'tables',
  MP_SIZES.tableStats,
  (w, t) => {
    w.u8(t.tableId);
    w.zeros(3);
    w.u32(t.activeCount);
    w.u64(t.lookupCount);
    w.u64(t.matchedCount);
  },
  (r) => {
    const tableId = r.u8();
    r.skip(3);
    return { tableId, activeCount: r.u32(), lookupCount: r.u64(), matchedCount: r.u64() };
  },
);

/** Requests whose body is one 32-bit id followed by 4 bytes of padding (port, group, meter). */
function idRequest<T extends 'port_stats_request' | 'group_stats_request' | 'meter_stats_request' | 'meter_config_request'>(
  type: T,
  mpType: number,
  key: 'portNo' | 'groupId' | 'meterId',
): BodyCodec<T> {
  return {
    type,
    framing: request(mpType),
    lengthRule: { min: 8, multiple: 0 },
    encodingLength: () => 8,
    encode(w, m) {
      w.u32((m as unknown as Record<string, number>)[key]!);
      w.zeros(4);
    },
    decode(r, h) {
      const id = key === 'portNo' ? checkPort(r.u32(), 'port_no', r.pos - 4) : r.u32();
      r.skip(4);
      return mp(type, h, { [key]: id });
    },
  };
}

export const portStatsRequest = idRequest('port_stats_request', OFPMP.PORT_STATS, 'portNo');
export const portStatsReply = fixedListReply<'port_stats_reply', PortStats>(
  'port_stats_reply',
  OFPMP.PORT_STATS,
  'ports',
  MP_SIZES.portStats,
  (w, p) => {
    w.u32(p.portNo);
    w.zeros(4);
    w.u64(p.rxPackets);
    w.u64(p.txPackets);
    w.u64(p.rxBytes);
    w.u64(p.txBytes);
    w.u64(p.rxDropped);
    w.u64(p.txDropped);
    w.u64(p.rxErrors);
    w.u64(p.txErrors);
    w.u64(p.rxFrameErr);
    w.u64(p.rxOverErr);
    w.u64(p.rxCrcErr);
    w.u64(p.collisions);
    w.u32(p.durationSec);
    w.u32(p.durationNsec);
  },
  (r) => {
    // OVS maps the port to its 16-bit space (ofputil_port_from_ofp11) and rejects what does not map.
    const portNo = checkPort(r.u32(), 'port stats port_no', r.pos - 4);
    r.skip(4);
    return {
      portNo,
      rxPackets: r.u64(),
      txPackets: r.u64(),
      rxBytes: r.u64(),
      txBytes: r.u64(),
      rxDropped: r.u64(),
      txDropped: r.u64(),
      rxErrors: r.u64(),
      txErrors: r.u64(),
      rxFrameErr: r.u64(),
      rxOverErr: r.u64(),
      rxCrcErr: r.u64(),
      collisions: r.u64(),
      durationSec: r.u32(),
      durationNsec: r.u32(),
    };
  },
);

export const queueStatsRequest: BodyCodec<'queue_stats_request'> = {
  type: 'queue_stats_request',
  framing: request(OFPMP.QUEUE),
  lengthRule: { min: 8, multiple: 0 },
  encodingLength: () => 8,
  encode(w, m) {
    w.u32(m.portNo);
    w.u32(m.queueId);
  },
  decode: (r, h) => mp('queue_stats_request', h, { portNo: checkPort(r.u32(), 'port_no', r.pos), queueId: r.u32() }),
};

export const queueStatsReply = fixedListReply<'queue_stats_reply', QueueStats>(
  'queue_stats_reply',
  OFPMP.QUEUE,
  'queues',
  MP_SIZES.queueStats,
  (w, q) => {
    w.u32(q.portNo);
    w.u32(q.queueId);
    w.u64(q.txBytes);
    w.u64(q.txPackets);
    w.u64(q.txErrors);
    w.u32(q.durationSec);
    w.u32(q.durationNsec);
  },
  (r) => ({ portNo: checkPort(r.u32(), 'queue stats port_no', r.pos - 4), queueId: r.u32(), txBytes: r.u64(), txPackets: r.u64(), txErrors: r.u64(), durationSec: r.u32(), durationNsec: r.u32() }),
);

export const portDescRequest = emptyBody('port_desc_request', request(OFPMP.PORT_DESC));
export const portDescReply = fixedListReply('port_desc_reply', OFPMP.PORT_DESC, 'ports', OFP_PORT_LEN, encodePort, decodePort);

// ---- variable-length lists: group, group desc, meter, meter config, table features --------------------------

/**
 * A reply whose body is a list of records that each start with their own u16 length at `lengthAt` bytes into
 * the record. The encoder patches the length after writing; the decoder hands each record's end to decodeOne.
 */
function varListReply<T extends MessageType, E>(
  type: T,
  mpType: number,
  key: string,
  lengthOf: (e: E) => number,
  encodeOne: (w: Writer, e: E) => void,
  decodeOne: (r: Reader, end: number) => E,
  minLen: number,
  lengthAt: number,
  framing: Framing = reply(mpType),
): BodyCodec<T> {
  const list = (m: MessageOf<T>): readonly E[] => (m as unknown as Record<string, readonly E[]>)[key]!;
  return {
    type,
    framing,
    encodingLength(m) {
      let n = 0;
      for (const e of list(m)) n += lengthOf(e);
      return n;
    },
    encode(w, m) {
      for (const e of list(m)) {
        const start = w.pos;
        encodeOne(w, e);
        w.patchU16(start + lengthAt, w.pos - start);
      }
    },
    decode(r, h) {
      const out: E[] = [];
      try {
        while (r.pos < r.end) {
          const start = r.pos;
          r.need(minLen, type);
          const len = r.u16At(start + lengthAt);
          if (len < minLen || len % 8 !== 0 || start + len > r.end) throw badLen(`${type} entry length ${len}`, start);
          out.push(decodeOne(r, start + len));
          if (r.pos !== start + len) throw badLen(`${type} entry length ${len}`, start);
        }
      } catch (e) {
        throw withPartial(e, () => mp(type, h, { [key]: out }));
      }
      return mp(type, h, { [key]: out });
    },
  };
}

export const groupStatsRequest = idRequest('group_stats_request', OFPMP.GROUP, 'groupId');
export const groupStatsReply = varListReply<'group_stats_reply', GroupStats>(
  'group_stats_reply',
  OFPMP.GROUP,
  'groups',
  (g) => MP_SIZES.groupStats + MP_SIZES.bucketCounter * g.buckets.length,
  (w, g) => {
    w.u16(0);
    w.zeros(2);
    w.u32(g.groupId);
    w.u32(g.refCount);
    w.zeros(4);
    w.u64(g.packetCount);
    w.u64(g.byteCount);
    w.u32(g.durationSec);
    w.u32(g.durationNsec);
    for (const b of g.buckets) {
      w.u64(b.packetCount);
      w.u64(b.byteCount);
    }
  },
  (r, end) => {
    r.skip(4); // length, pad
    const groupId = r.u32();
    const refCount = r.u32();
    r.skip(4);
    const packetCount = r.u64();
    const byteCount = r.u64();
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const buckets: { packetCount: bigint; byteCount: bigint }[] = [];
    if ((end - r.pos) % MP_SIZES.bucketCounter !== 0) throw badLen('ofp_bucket_counter list', r.pos);
    while (r.pos < end) buckets.push({ packetCount: r.u64(), byteCount: r.u64() });
    return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, buckets };
  },
  MP_SIZES.groupStats,
  0,
);

export const groupDescRequest = emptyBody('group_desc_request', request(OFPMP.GROUP_DESC));
const groupDescReplyBase = varListReply<'group_desc_reply', GroupDesc>(
  'group_desc_reply',
  OFPMP.GROUP_DESC,
  'groups',
  (g) => MP_SIZES.groupDesc + bucketsEncodingLength(g.buckets),
  (w, g) => {
    w.u16(0);
    w.u8(g.groupType);
    w.zeros(1);
    w.u32(g.groupId);
    encodeBuckets(w, g.buckets);
  },
  (r, end) => {
    r.skip(2);
    const groupType = r.u8();
    r.skip(1);
    const groupId = r.u32();
    return { groupType, groupId, buckets: decodeBuckets(r, end) };
  },
  MP_SIZES.groupDesc,
  0,
);

/**
 * OFPMP_GROUP_DESC replies read as OVS reads them (ofputil_decode_ofp11_group_desc_reply): the body is 8-byte
 * aligned; an entry needs its 8 fixed bytes and a length that fits (OFPBRC_BAD_LEN), then its buckets.
 */
export const groupDescReply: BodyCodec<'group_desc_reply'> = {
  ...groupDescReplyBase,
  lengthRule: { min: 0, multiple: 8 },
  decode(r, h) {
    const groups: GroupDesc[] = [];
    while (r.pos < r.end) {
      const start = r.pos;
      if (r.end - start < MP_SIZES.groupDesc) throw badLen(`group_desc_reply: ${r.end - start} bytes left over`, start);
      const len = r.u16();
      if (len < MP_SIZES.groupDesc || start + len > r.end) throw badLen(`group_desc_reply entry length ${len}`, start);
      const groupType = r.u8();
      r.skip(1);
      const groupId = r.u32();
      groups.push({ groupType, groupId, buckets: decodeBuckets(r, start + len) });
    }
    return mp('group_desc_reply', h, { groups });
  },
};

export const groupFeaturesRequest = emptyBody('group_features_request', request(OFPMP.GROUP_FEATURES));
export const groupFeaturesReply: BodyCodec<'group_features_reply'> = {
  type: 'group_features_reply',
  framing: reply(OFPMP.GROUP_FEATURES),
  lengthRule: { min: MP_SIZES.groupFeatures, multiple: 0 },
  encodingLength: () => MP_SIZES.groupFeatures,
  encode(w, m) {
    w.u32(m.types);
    w.u32(m.capabilities);
    for (const v of m.maxGroups) w.u32(v);
    for (const v of m.actions) w.u32(v);
  },
  decode: (r, h) =>
    mp('group_features_reply', h, {
      types: r.u32(),
      capabilities: r.u32(),
      maxGroups: [r.u32(), r.u32(), r.u32(), r.u32()],
      actions: [r.u32(), r.u32(), r.u32(), r.u32()],
    }),
};

export const meterStatsRequest = idRequest('meter_stats_request', OFPMP.METER, 'meterId');
export const meterStatsReply = varListReply<'meter_stats_reply', MeterStats>(
  'meter_stats_reply',
  OFPMP.METER,
  'meters',
  (m) => MP_SIZES.meterStats + MP_SIZES.bandStats * m.bands.length,
  (w, m) => {
    w.u32(m.meterId);
    w.u16(0);
    w.zeros(6);
    w.u32(m.flowCount);
    w.u64(m.packetInCount);
    w.u64(m.byteInCount);
    w.u32(m.durationSec);
    w.u32(m.durationNsec);
    for (const b of m.bands) {
      w.u64(b.packetBandCount);
      w.u64(b.byteBandCount);
    }
  },
  (r, end) => {
    const meterId = r.u32();
    r.skip(8); // len, pad
    const flowCount = r.u32();
    const packetInCount = r.u64();
    const byteInCount = r.u64();
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const bands: { packetBandCount: bigint; byteBandCount: bigint }[] = [];
    if ((end - r.pos) % MP_SIZES.bandStats !== 0) throw badLen('ofp_meter_band_stats list', r.pos);
    while (r.pos < end) bands.push({ packetBandCount: r.u64(), byteBandCount: r.u64() });
    return { meterId, flowCount, packetInCount, byteInCount, durationSec, durationNsec, bands };
  },
  MP_SIZES.meterStats,
  4,
);

/** sizeof(struct ofp13_meter_band_drop): the only band length OVS takes. */
const METER_BAND_LEN = 16;

export const meterConfigRequest = idRequest('meter_config_request', OFPMP.METER_CONFIG, 'meterId');
// OVS: OFPST13_METER_CONFIG_REPLY is uint8_t[8][], a body of whole 8-byte units, checked before any meter.
export const meterConfigReply: BodyCodec<'meter_config_reply'> = { ...meterConfigReplyList(), lengthRule: { min: 0, multiple: 8 } };

function meterConfigReplyList(): BodyCodec<'meter_config_reply'> {
  return varListReply<'meter_config_reply', MeterConfig>(
  'meter_config_reply',
  OFPMP.METER_CONFIG,
  'meters',
  (m) => MP_SIZES.meterConfig + bandsEncodingLength(m.bands),
  (w, m) => {
    w.u16(0);
    w.u16(m.flags);
    w.u32(m.meterId);
    encodeBands(w, m.bands);
  },
  (r, end) => {
    r.skip(2);
    const flags = r.u16();
    const meterId = r.u32();
    // ofputil_pull_bands: every band 16 bytes and drop or dscp_remark, in order; then nothing left over.
    let p = r.pos;
    for (; end - p >= METER_BAND_LEN; p += METER_BAND_LEN) {
      if (r.u16At(p + 2) !== METER_BAND_LEN) throw new CodecError(`ofp_meter_config: band length ${r.u16At(p + 2)}`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, p + 2);
      const type = r.u16At(p);
      if (type !== OFPMBT.DROP && type !== OFPMBT.DSCP_REMARK) throw new CodecError(`ofp_meter_config: band type ${type} (only drop and dscp_remark)`, OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND, p);
    }
    if (p !== end) throw new CodecError(`ofp_meter_config: ${end - p} bytes after the last band`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, p);
    return { flags, meterId, bands: decodeBands(r, end) };
  },
  MP_SIZES.meterConfig,
  0,
  );
}

export const meterFeaturesRequest = emptyBody('meter_features_request', request(OFPMP.METER_FEATURES));
export const meterFeaturesReply: BodyCodec<'meter_features_reply'> = {
  type: 'meter_features_reply',
  framing: reply(OFPMP.METER_FEATURES),
  encodingLength: () => MP_SIZES.meterFeatures,
  encode(w, m) {
    w.u32(m.maxMeter);
    w.u32(m.bandTypes);
    w.u32(m.capabilities);
    w.u8(m.maxBands);
    w.u8(m.maxColor);
    w.zeros(2);
  },
  decode(r, h) {
    const maxMeter = r.u32();
    const bandTypes = r.u32();
    const capabilities = r.u32();
    const maxBands = r.u8();
    const maxColor = r.u8();
    r.skip(2);
    return mp('meter_features_reply', h, { maxMeter, bandTypes, capabilities, maxBands, maxColor });
  },
};

// ---- table features (request and reply share the body) ---------------------------------------------------------

const OFP_MAX_TABLE_NAME_LEN = 32;

function tableFeatures<T extends 'table_features_request' | 'table_features_reply'>(type: T, framing: Framing): BodyCodec<T> {
  return varListReply<T, TableFeatures>(
    type,
    OFPMP.TABLE_FEATURES,
    'tables',
    (t) => MP_SIZES.tableFeatures + propsEncodingLength(t.properties),
    (w, t) => {
      w.u16(0);
      w.u8(t.tableId);
      w.zeros(5);
      w.fixedString(t.name, OFP_MAX_TABLE_NAME_LEN);
      w.u64(t.metadataMatch);
      w.u64(t.metadataWrite);
      w.u32(t.config);
      w.u32(t.maxEntries);
      encodeProps(w, t.properties);
    },
    (r, end) => {
      r.skip(2);
      const tableId = r.u8();
      r.skip(5);
      const name = r.fixedString(OFP_MAX_TABLE_NAME_LEN, 'table name');
      const metadataMatch = r.u64();
      const metadataWrite = r.u64();
      const config = r.u32();
      const maxEntries = r.u32();
      return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties: decodeProps(r, end, 'ofp_table_feature_prop') };
    },
    MP_SIZES.tableFeatures,
    0,
    framing,
  );
}

export const tableFeaturesRequest = tableFeatures('table_features_request', request(OFPMP.TABLE_FEATURES));
export const tableFeaturesReply = tableFeatures('table_features_reply', reply(OFPMP.TABLE_FEATURES));

// ---- experimenter multipart ---------------------------------------------------------------------------------------

function experimenterStats<T extends 'experimenter_stats_request' | 'experimenter_stats_reply'>(type: T, framing: Framing): BodyCodec<T> {
  return {
    type,
    framing,
    encodingLength: (m: { readonly data: Uint8Array }) => 8 + m.data.length,
    encode(w, m: { readonly experimenter: number; readonly expType: number; readonly data: Uint8Array }) {
      w.u32(m.experimenter);
      w.u32(m.expType);
      w.bytes(m.data);
    },
    decode: (r, h) => mp(type, h, { experimenter: r.u32(), expType: r.u32(), data: r.bytes(r.remaining) }),
  };
}

export const experimenterStatsRequest = experimenterStats('experimenter_stats_request', request(OFPMP.EXPERIMENTER));
export const experimenterStatsReply = experimenterStats('experimenter_stats_reply', reply(OFPMP.EXPERIMENTER));

export const multipartCodecs: readonly AnyBodyCodec[] = [
  descRequest,
  descReply,
  flowStatsRequest,
  flowStatsReply,
  aggregateStatsRequest,
  aggregateStatsReply,
  tableStatsRequest,
  tableStatsReply,
  portStatsRequest,
  portStatsReply,
  queueStatsRequest,
  queueStatsReply,
  groupStatsRequest,
  groupStatsReply,
  groupDescRequest,
  groupDescReply,
  groupFeaturesRequest,
  groupFeaturesReply,
  meterStatsRequest,
  meterStatsReply,
  meterConfigRequest,
  meterConfigReply,
  meterFeaturesRequest,
  meterFeaturesReply,
  tableFeaturesRequest,
  tableFeaturesReply,
  portDescRequest,
  portDescReply,
  experimenterStatsRequest,
  experimenterStatsReply,
];
