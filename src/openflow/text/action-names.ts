// Keyword names shared by the action parser and printer (controller reasons, ct algs, multipath hashes and algorithms,
// the instructions' order).

import { OFPR } from '../consts.js';
import { INSTRUCTION_ORDER, NX_HASH_FIELDS, NX_MP_ALG, OFPIT } from '../action-consts.js';
import type { Action, ActionType, Instruction } from '../types.js';

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

/** Each ordered instruction's keyword (its `Instruction['type']`) by OFPIT code. */
const INSTRUCTION_KEYWORD: Readonly<Record<(typeof INSTRUCTION_ORDER)[number], Exclude<Instruction['type'], 'experimenter'>>> = {
  [OFPIT.METER]: 'meter',
  [OFPIT.APPLY_ACTIONS]: 'apply_actions',
  [OFPIT.CLEAR_ACTIONS]: 'clear_actions',
  [OFPIT.WRITE_ACTIONS]: 'write_actions',
  [OFPIT.WRITE_METADATA]: 'write_metadata',
  [OFPIT.GOTO_TABLE]: 'goto_table',
};

/**
 * The instruction keywords' places in INSTRUCTION_ORDER (action-consts.ts declares the order once: the order OVS
 * executes, lists and requires in text). Only these six keywords: any other word is an action of apply_actions.
 */
export const INSTRUCTION_KEYWORD_RANK: ReadonlyMap<string, number> = new Map<string, number>(
  INSTRUCTION_ORDER.map((code, rank) => [INSTRUCTION_KEYWORD[code], rank]),
);

/** An instruction's place in that order; experimenter instructions come after all of them. */
export const instructionRank = (type: Instruction['type']): number => INSTRUCTION_KEYWORD_RANK.get(type) ?? INSTRUCTION_ORDER.length;
