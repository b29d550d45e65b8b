// OFPT_GROUP_MOD and OFPT_METER_MOD.
import { OFPBRC, OFPET, OFPG, OFPMBT, OFPMC, OFPMF, OFPP, OFPT } from '../consts.js';
import { OFPGMFC, OFPMMFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import type { Bucket, MeterBand } from '../types.js';
import type { Reader } from '../reader.js';
import { type AnyBodyCodec, type BodyCodec, plain } from './codec.js';
import { bandsEncodingLength, bucketsEncodingLength, decodeBands, decodeBuckets, encodeBands, encodeBuckets } from './common.js';

/** ofp_group_mod: 8 fixed bytes after the header (16 with it), then buckets. */
export const groupMod: BodyCodec<'group_mod'> = {
  type: 'group_mod',
  framing: plain(OFPT.GROUP_MOD),
  lengthRule: { min: 8, multiple: 8 },
  encodingLength: (m) => 8 + bucketsEncodingLength(m.buckets),
  encode(w, m) {
    w.u16(m.command);
    w.u8(m.groupType);
    w.zeros(1);
    w.u32(m.groupId);
    encodeBuckets(w, m.buckets);
  },
  decode(r, h) {
    const command = r.u16();
    const groupType = r.u8();
    r.skip(1);
    const groupId = r.u32();
    const buckets = decodeBuckets(r, r.end);
    checkGroupMod(command, groupType, buckets);
    return { type: 'group_mod', xid: h.xid, command, groupType, groupId, buckets };
  },
};

/** ofp_group_mod_command as OVS reads it in any version: OpenFlow 1.5's bucket commands and OVS's add-or-modify too. */
const OFPGC = { ADD: 0, MODIFY: 1, DELETE: 2, INSERT_BUCKET: 3, REMOVE_BUCKET: 5, ADD_OR_MOD: 0x8000 } as const;
/** ofp_group_type */
const OFPGT = { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 } as const;

const groupError = (what: string, code: number): CodecError => new CodecError(`group_mod: ${what}`, OFPET.GROUP_MOD_FAILED, code, 8);

/**
 * A group mod checked as OVS checks it after its buckets (ofputil_pull_ofp11_group_mod, ofputil_check_group_mod):
 * no buckets on delete, the type, the command, one bucket for indirect, weights only for select, watch ports and
 * groups only (and always) for fast failover.
 */
function checkGroupMod(command: number, type: number, buckets: readonly Bucket[]): void {
  if (command === OFPGC.DELETE && buckets.length > 0) throw groupError('delete with buckets', OFPGMFC.INVALID_GROUP);
  if (type === OFPGT.INDIRECT) {
    if (command !== OFPGC.DELETE && buckets.length !== 1) throw groupError(`indirect group with ${buckets.length} buckets`, OFPGMFC.INVALID_GROUP);
  } else if (type !== OFPGT.ALL && type !== OFPGT.SELECT && type !== OFPGT.FF) {
    throw groupError(`unknown group type ${type}`, OFPGMFC.BAD_TYPE);
  }
  if (command === OFPGC.REMOVE_BUCKET) {
    if (buckets.length > 0) throw groupError('remove_bucket with buckets', OFPGMFC.BAD_BUCKET);
  } else if (command !== OFPGC.ADD && command !== OFPGC.MODIFY && command !== OFPGC.ADD_OR_MOD && command !== OFPGC.DELETE && command !== OFPGC.INSERT_BUCKET) {
    throw groupError(`unknown command ${command}`, OFPGMFC.BAD_COMMAND);
  }
  for (const b of buckets) {
    // OVS 3.1 lets a bucket it inserts carry a weight in any group type.
    if (b.weight && type !== OFPGT.SELECT && command !== OFPGC.INSERT_BUCKET) throw groupError(`bucket weight ${b.weight} outside a select group`, OFPGMFC.INVALID_GROUP);
    const live = b.watchPort !== OFPP.ANY || b.watchGroup !== OFPG.ANY;
    if ((type === OFPGT.ALL || type === OFPGT.INDIRECT) && live) throw groupError('watch port or group outside a fast-failover group', OFPGMFC.WATCH_UNSUPPORTED);
    if (type === OFPGT.FF && !live) throw groupError('fast-failover bucket without a watch port or group', OFPGMFC.INVALID_GROUP);
  }
}

/** ofp_meter_mod: 8 fixed bytes after the header (16 with it), then bands. */
export const meterMod: BodyCodec<'meter_mod'> = {
  type: 'meter_mod',
  framing: plain(OFPT.METER_MOD),
  lengthRule: { min: 8, multiple: 8 },
  encodingLength: (m) => 8 + bandsEncodingLength(m.bands),
  encode(w, m) {
    w.u16(m.command);
    w.u16(m.flags);
    w.u32(m.meterId);
    encodeBands(w, m.bands);
  },
  decode(r, h) {
    const command = r.u16();
    const flags = r.u16();
    const meterId = r.u32();
    return { type: 'meter_mod', xid: h.xid, command, flags, meterId, bands: meterModBands(r, command, flags) };
  },
};

const BAND_LEN = 16;
const meterError = (what: string, code: number, offset: number): CodecError => new CodecError(`meter_mod: ${what}`, OFPET.METER_MOD_FAILED, code, offset);

/**
 * A meter mod's bands, validated as OVS validates them (ofputil_decode_meter_mod): a known command; for ADD and
 * MODIFY, not both kbps and pktps, and only 16-byte drop / dscp_remark bands. OVS ignores a DELETE's flags and
 * bands; bands that do not parse are dropped here too (re-encoding then gives a DELETE without them).
 */
function meterModBands(r: Reader, command: number, flags: number): MeterBand[] {
  if (command !== OFPMC.ADD && command !== OFPMC.MODIFY && command !== OFPMC.DELETE) throw meterError(`unknown command ${command}`, OFPMMFC.BAD_COMMAND, 8);
  if (command === OFPMC.DELETE) {
    try {
      return decodeBands(r, r.end);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      r.pos = r.end;
      return [];
    }
  }
  if (flags & OFPMF.KBPS && flags & OFPMF.PKTPS) throw meterError('both kbps and pktps', OFPMMFC.BAD_FLAGS, 10);
  for (let p = r.pos; p < r.end; p += BAND_LEN) {
    if (r.end - p < BAND_LEN) throw new CodecError(`meter_mod: ${r.end - p} bytes after the last band`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, p);
    const type = r.u16At(p);
    const len = r.u16At(p + 2);
    if (len !== BAND_LEN) throw new CodecError(`meter_mod: band length ${len}, not ${BAND_LEN}`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, p + 2);
    if (type !== OFPMBT.DROP && type !== OFPMBT.DSCP_REMARK) throw meterError(`band type ${type} (only drop and dscp_remark)`, OFPMMFC.BAD_BAND, p);
  }
  return decodeBands(r, r.end);
}

export const groupMeterCodecs: readonly AnyBodyCodec[] = [groupMod, meterMod];
