// OFPT_GROUP_MOD and OFPT_METER_MOD.
import { OFPBRC, OFPET, OFPMBT, OFPMC, OFPMF, OFPT } from '../consts.js';
import { OFPMMFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import type { MeterBand } from '../types.js';
import type { Reader } from '../reader.js';
import { type AnyBodyCodec, type BodyCodec, plain } from './codec.js';
import { bandsEncodingLength, bucketsEncodingLength, decodeBands, decodeBuckets, encodeBands, encodeBuckets } from './common.js';

/** ofp_group_mod: 8 fixed bytes after the header (16 with it), then buckets. */
export const groupMod: BodyCodec<'group_mod'> = {
  type: 'group_mod',
  framing: plain(OFPT.GROUP_MOD),
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
    return { type: 'group_mod', xid: h.xid, command, groupType, groupId, buckets: decodeBuckets(r, r.end) };
  },
};

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
