// Keyword names shared by the action parser and printer (controller reasons, ct algs, multipath hashes and algorithms).

import { OFPR } from '../consts.js';
import { NX_HASH_FIELDS, NX_MP_ALG } from '../action-consts.js';
import type { Action, ActionType } from '../types.js';

export type ActionOf<T extends ActionType> = Extract<Action, { readonly type: T }>;

export const REASONS: ReadonlyArray<readonly [string, number]> = [
  ['no_match', OFPR.NO_MATCH],
  ['action', OFPR.ACTION],
  ['invalid_ttl', OFPR.INVALID_TTL],
  ['action_set', 3],
  ['group', 4],
  ['packet_out', 5],
];

export const CT_ALGS: ReadonlyArray<readonly [string, number]> = [
  ['ftp', 21],
  ['tftp', 69],
];

export const HASH_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['eth_src', NX_HASH_FIELDS.ETH_SRC],
  ['symmetric_l4', NX_HASH_FIELDS.SYMMETRIC_L4],
  ['symmetric_l3l4', NX_HASH_FIELDS.SYMMETRIC_L3L4],
  ['symmetric_l3l4+udp', NX_HASH_FIELDS.SYMMETRIC_L3L4_UDP],
  ['nw_src', NX_HASH_FIELDS.NW_SRC],
  ['nw_dst', NX_HASH_FIELDS.NW_DST],
  ['symmetric_l3', NX_HASH_FIELDS.SYMMETRIC_L3],
];
export const MP_ALGS: ReadonlyArray<readonly [string, number]> = [
  ['modulo_n', NX_MP_ALG.MODULO_N],
  ['hash_threshold', NX_MP_ALG.HASH_THRESHOLD],
  ['hrw', NX_MP_ALG.HRW],
  ['iter_hash', NX_MP_ALG.ITER_HASH],
];
