// Structures shared by several messages: ofp_port, hardware addresses, group buckets, meter bands and the generic
// property TLVs of table features and queues.
import type { Reader } from '../reader.js';
import { type Writer, pad8 } from '../writer.js';
import type { Bucket, MeterBand, Port } from '../types.js';
import { OFPET, OFPMBT, OFPP } from '../consts.js';
import { OFPGMFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import { actionsEncodingLength, decodeActions, encodeActions } from '../actions.js';
import { badLen } from './codec.js';
import { checkPort } from '../ports.js';

// ---- hardware addresses -------------------------------------------------------------------------------------

const HEX = '0123456789abcdef';

export function readHwAddr(r: Reader): string {
  const b = r.bytes(6, 'hw_addr');
  let s = '';
  for (let i = 0; i < 6; i++) {
    const v = b[i]!;
    if (i > 0) s += ':';
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

const HW_ADDR = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i;

export function writeHwAddr(w: Writer, s: string): void {
  const m = HW_ADDR.exec(s);
  if (!m) throw new RangeError(`not a hardware address: ${JSON.stringify(s)}`);
  for (let i = 1; i <= 6; i++) w.u8(parseInt(m[i]!, 16));
}

// ---- ofp_port (64 bytes) ------------------------------------------------------------------------------------

export const OFP_PORT_LEN = 64;
export const OFP_MAX_PORT_NAME_LEN = 16;

export function encodePort(w: Writer, p: Port): void {
  w.u32(p.portNo);
  w.zeros(4);
  writeHwAddr(w, p.hwAddr);
  w.zeros(2);
  w.fixedString(p.name, OFP_MAX_PORT_NAME_LEN);
  w.u32(p.config);
  w.u32(p.state);
  w.u32(p.curr);
  w.u32(p.advertised);
  w.u32(p.supported);
  w.u32(p.peer);
  w.u32(p.currSpeed);
  w.u32(p.maxSpeed);
}

export function decodePort(r: Reader): Port {
  r.need(OFP_PORT_LEN, 'ofp_port');
  const portNo = checkPort(r.u32(), 'ofp_port', r.pos - 4);
  r.skip(4);
  const hwAddr = readHwAddr(r);
  r.skip(2);
  const name = r.fixedString(OFP_MAX_PORT_NAME_LEN, 'port name');
  return {
    portNo,
    hwAddr,
    name,
    config: r.u32(),
    state: r.u32(),
    curr: r.u32(),
    advertised: r.u32(),
    supported: r.u32(),
    peer: r.u32(),
    currSpeed: r.u32(),
    maxSpeed: r.u32(),
  };
}

// ---- ofp_bucket (16 bytes + actions) ------------------------------------------------------------------------

export const OFP_BUCKET_LEN = 16;

export function bucketsEncodingLength(buckets: readonly Bucket[]): number {
  let n = 0;
  for (const b of buckets) n += OFP_BUCKET_LEN + actionsEncodingLength(b.actions);
  return n;
}

export function encodeBuckets(w: Writer, buckets: readonly Bucket[]): void {
  for (const b of buckets) {
    const start = w.pos;
    w.u16(0); // len, patched below
    w.u16(b.weight);
    w.u32(b.watchPort);
    w.u32(b.watchGroup);
    w.zeros(4);
    encodeActions(w, b.actions);
    w.patchU16(start, w.pos - start);
  }
}

/**
 * Buckets up to `end` (exclusive), read as OVS reads them (ofputil_pull_ofp11_buckets): a bucket shorter than its
 * header or longer than what is left is OFPGMFC_BAD_BUCKET; its actions come before its watch port, which must be a
 * port OVS can map (OFPGMFC_BAD_WATCH).
 */
export function decodeBuckets(r: Reader, end: number): Bucket[] {
  const out: Bucket[] = [];
  while (r.pos < end) {
    const start = r.pos;
    const left = end - start;
    if (left < OFP_BUCKET_LEN) throw new CodecError(`ofp_bucket: ${left} bytes left, a bucket needs ${OFP_BUCKET_LEN}`, OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_BUCKET, start);
    const len = r.u16();
    if (len < OFP_BUCKET_LEN || len > left) throw new CodecError(`ofp_bucket: length ${len} (${left} bytes left)`, OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_BUCKET, start);
    const weight = r.u16();
    const watchPort = r.u32();
    const watchGroup = r.u32();
    r.skip(4);
    const actionsLen = len - OFP_BUCKET_LEN;
    if (actionsLen % 8 !== 0) throw badLen(`ofp_bucket: ${actionsLen} bytes of actions, not a multiple of 8`, start);
    const actions = decodeActions(r, actionsLen);
    if (watchPort >= 0xff00 && watchPort < OFPP.MAX) throw new CodecError(`ofp_bucket: watch_port ${watchPort} is not a port`, OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_WATCH, start + 4);
    out.push({ weight, watchPort, watchGroup, actions });
  }
  return out;
}

// ---- ofp_meter_band_* (16 bytes each for the standard types) ------------------------------------------------

const BAND_HEAD_LEN = 12; // type, len, rate, burst_size
const BAND_LEN = 16;

export function bandEncodingLength(b: MeterBand): number {
  if (b.type === OFPMBT.EXPERIMENTER) return BAND_LEN + (b.raw?.length ?? 0);
  if (b.raw) return BAND_HEAD_LEN + b.raw.length;
  return BAND_LEN;
}

export function bandsEncodingLength(bands: readonly MeterBand[]): number {
  let n = 0;
  for (const b of bands) n += bandEncodingLength(b);
  return n;
}

export function encodeBands(w: Writer, bands: readonly MeterBand[]): void {
  for (const b of bands) {
    w.u16(b.type);
    w.u16(bandEncodingLength(b));
    w.u32(b.rate);
    w.u32(b.burstSize);
    if (b.type === OFPMBT.EXPERIMENTER) {
      w.u32(b.experimenter ?? 0);
      if (b.raw) w.bytes(b.raw);
    } else if (b.raw) {
      w.bytes(b.raw);
    } else if (b.type === OFPMBT.DSCP_REMARK) {
      w.u8(b.precLevel ?? 0);
      w.zeros(3);
    } else {
      w.zeros(4);
    }
  }
}

/**
 * Bands up to `end`. Drop and DSCP-remark bands of the standard 16 bytes are decoded; any other band (unknown
 * type, or a standard type with an odd length) keeps its bytes after rate/burst_size in `raw`, so it re-encodes
 * exactly.
 */
export function decodeBands(r: Reader, end: number): MeterBand[] {
  const out: MeterBand[] = [];
  while (r.pos < end) {
    const start = r.pos;
    r.need(BAND_HEAD_LEN, 'ofp_meter_band');
    const type = r.u16();
    const len = r.u16();
    if (len < BAND_LEN || len % 8 !== 0 || start + len > end) throw badLen(`ofp_meter_band len ${len}`, start);
    const rate = r.u32();
    const burstSize = r.u32();
    if (type === OFPMBT.EXPERIMENTER) {
      const experimenter = r.u32();
      const rest = start + len - r.pos;
      out.push(rest > 0 ? { type, rate, burstSize, experimenter, raw: r.bytes(rest) } : { type, rate, burstSize, experimenter });
    } else if (len === BAND_LEN && type === OFPMBT.DROP) {
      r.skip(4);
      out.push({ type, rate, burstSize });
    } else if (len === BAND_LEN && type === OFPMBT.DSCP_REMARK) {
      const precLevel = r.u8();
      r.skip(3);
      out.push({ type, rate, burstSize, precLevel });
    } else {
      out.push({ type, rate, burstSize, raw: r.bytes(len - BAND_HEAD_LEN) });
    }
  }
  return out;
}

// ---- property TLVs: type u16, length u16 (excluding padding), data, zero padding to 8 -----------------------

export interface Prop {
  readonly type: number;
  readonly data: Uint8Array;
}

export function propsEncodingLength(props: readonly Prop[]): number {
  let n = 0;
  for (const p of props) n += pad8(4 + p.data.length);
  return n;
}

export function encodeProps(w: Writer, props: readonly Prop[]): void {
  for (const p of props) {
    w.u16(p.type);
    w.u16(4 + p.data.length);
    w.bytes(p.data);
    w.zeros(pad8(4 + p.data.length) - 4 - p.data.length);
  }
}

export function decodeProps(r: Reader, end: number, what: string): Prop[] {
  const out: Prop[] = [];
  while (r.pos < end) {
    const start = r.pos;
    r.need(4, what);
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || start + pad8(len) > end) throw badLen(`${what} len ${len}`, start);
    out.push({ type, data: r.bytes(len - 4) });
    r.skip(pad8(len) - len);
  }
  return out;
}
