// Switch features and configuration: features, get/set config, table_mod, port_mod.
import { OFPET, OFPT } from '../consts.js';
import { OFPSCFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import type { MessageOf } from '../types.js';
import { type AnyBodyCodec, type BodyCodec, emptyBody, plain } from './codec.js';
import { readHwAddr, writeHwAddr } from './common.js';
import { checkPort } from '../ports.js';

export const featuresRequest = emptyBody('features_request', plain(OFPT.FEATURES_REQUEST));

/** ofp_switch_features: 32 bytes with the header. OF1.3 dropped the port list (see OFPMP_PORT_DESC). */
export const featuresReply: BodyCodec<'features_reply'> = {
  type: 'features_reply',
  framing: plain(OFPT.FEATURES_REPLY),
  lengthRule: { min: 24, multiple: 0 },
  encodingLength: () => 24,
  encode(w, m) {
    w.u64(m.datapathId);
    w.u32(m.nBuffers);
    w.u8(m.nTables);
    w.u8(m.auxiliaryId);
    w.zeros(2);
    w.u32(m.capabilities);
    w.zeros(4); // reserved
  },
  decode(r, h) {
    const datapathId = r.u64();
    const nBuffers = r.u32();
    const nTables = r.u8();
    const auxiliaryId = r.u8();
    r.skip(2);
    const capabilities = r.u32();
    r.skip(4, 'reserved');
    return { type: 'features_reply', xid: h.xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
  },
};

export const getConfigRequest = emptyBody('get_config_request', plain(OFPT.GET_CONFIG_REQUEST));

/** ofp_switch_config: 12 bytes with the header. */
/** OFPC_FRAG_MASK: the fragment handling bits of ofp_switch_config flags. */
const FRAG_MASK = 3;

function switchConfig<T extends 'get_config_reply' | 'set_config'>(type: T, ofpType: number): BodyCodec<T> {
  return {
    type,
    framing: plain(ofpType),
    lengthRule: { min: 4, multiple: 0 },
    encodingLength: () => 4,
    encode(w, m: { readonly flags: number; readonly missSendLen: number }) {
      w.u16(m.flags);
      w.u16(m.missSendLen);
    },
    decode: (r, h) => {
      const flags = r.u16();
      // OVS takes only the fragment-handling bits in an OF1.3 SET_CONFIG (OFPC_INVALID_TTL_TO_CONTROLLER is 1.1/1.2).
      if (type === 'set_config' && flags & ~FRAG_MASK) throw new CodecError(`set_config: unknown flags 0x${(flags & ~FRAG_MASK).toString(16)}`, OFPET.SWITCH_CONFIG_FAILED, OFPSCFC.BAD_FLAGS, 8);
      return { type, xid: h.xid, flags, missSendLen: r.u16() } as MessageOf<T>;
    },
  };
}

export const getConfigReply = switchConfig('get_config_reply', OFPT.GET_CONFIG_REPLY);
export const setConfig = switchConfig('set_config', OFPT.SET_CONFIG);

/** ofp_table_mod: 16 bytes with the header. */
export const tableMod: BodyCodec<'table_mod'> = {
  type: 'table_mod',
  framing: plain(OFPT.TABLE_MOD),
  encodingLength: () => 8,
  encode(w, m) {
    w.u8(m.tableId);
    w.zeros(3);
    w.u32(m.config);
  },
  decode(r, h) {
    const tableId = r.u8();
    r.skip(3);
    return { type: 'table_mod', xid: h.xid, tableId, config: r.u32() };
  },
};

/** ofp_port_mod: 40 bytes with the header. */
export const portMod: BodyCodec<'port_mod'> = {
  type: 'port_mod',
  framing: plain(OFPT.PORT_MOD),
  lengthRule: { min: 32, multiple: 0 },
  encodingLength: () => 32,
  encode(w, m) {
    w.u32(m.portNo);
    w.zeros(4);
    writeHwAddr(w, m.hwAddr);
    w.zeros(2);
    w.u32(m.config);
    w.u32(m.mask);
    w.u32(m.advertise);
    w.zeros(4);
  },
  decode(r, h) {
    const portNo = checkPort(r.u32(), 'port_mod port_no', r.pos - 4);
    r.skip(4);
    const hwAddr = readHwAddr(r);
    r.skip(2);
    const config = r.u32();
    const mask = r.u32();
    const advertise = r.u32();
    r.skip(4);
    return { type: 'port_mod', xid: h.xid, portNo, hwAddr, config, mask, advertise };
  },
};

export const switchConfigCodecs: readonly AnyBodyCodec[] = [featuresRequest, featuresReply, getConfigRequest, getConfigReply, setConfig, tableMod, portMod];
