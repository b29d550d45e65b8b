// OFPT_GROUP_MOD and OFPT_METER_MOD.
import { OFPT } from '../consts.js';
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
    return { type: 'meter_mod', xid: h.xid, command, flags, meterId, bands: decodeBands(r, r.end) };
  },
};

export const groupMeterCodecs: readonly AnyBodyCodec[] = [groupMod, meterMod];
