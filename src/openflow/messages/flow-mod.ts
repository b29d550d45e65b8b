// OFPT_FLOW_MOD: the message the controller sends most; keep encode free of allocations beyond the match's own.
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION, OFPET, OFPFC, OFPT } from '../consts.js';
import { OFPFMFC } from '../error-codes.js';
import { CodecError } from '../errors.js';
import { checkPort } from '../ports.js';
import { checkCtTupleMatch, checkInstructionsAgainstMatch } from '../action-match-check.js';
import { matchedFlow } from '../match-check.js';
import { decodeMatch, matchEncodingLength, putMatch } from '../match.js';
import { decodeInstructions, instructionsEncodingLength, putInstructions } from '../instructions.js';
import { putU64, room } from '../writer.js';
import type { FlowMod } from '../types.js';
import { type AnyBodyCodec, type BodyCodec, plain } from './codec.js';

/** ofp_flow_mod: 40 fixed bytes after the header (48 with it), the match, then instructions to the end. */
export const OFP_FLOW_MOD_FIXED_LEN = 40;
/** Header and fixed part: where the match starts, what putFlowModHead writes. */
export const OFP_FLOW_MOD_HEAD_LEN = OFP_HEADER_LEN + OFP_FLOW_MOD_FIXED_LEN;

/** Everything of a FLOW_MOD but its match and instructions: what putFlowModHead writes. */
export type FlowModHead = Omit<FlowMod, 'type' | 'match' | 'instructions'> & { readonly xid: number };

/** Bytes 0..3 of a FLOW_MOD's ofp_header (version, type, length) but the length. */
const FLOW_MOD_WORD0 = (OFP_VERSION << 24) | (OFPT.FLOW_MOD << 16);

/**
 * Writes the ofp_header (with `length`, the whole message's) and the 40 fixed bytes of an ofp_flow_mod at `p` in
 * `d`; returns p + 48, where the match goes. For callers that hold a flow's match and instructions already encoded
 * (then `length` is known); putFlowMod writes the header after the body instead.
 */
export function putFlowModHead(d: DataView, p: number, m: FlowModHead, length: number): number {
  const xid = m.xid;
  putFixed(d, p + OFP_HEADER_LEN, m, d.byteLength);
  d.setUint32(p, FLOW_MOD_WORD0 | (length & 0xffff));
  d.setUint32(p + 4, xid);
  return p + OFP_FLOW_MOD_HEAD_LEN;
}

/**
 * The 40 bytes after the ofp_header: cookie, cookie_mask, table, command, timeouts, priority, ids, flags, pad.
 * Every field is read before the first store: V8 forgets what it knew about objects (their maps, so every later
 * property read checks again) at each DataView store. Neighbouring 16-bit fields go out as one 32-bit store.
 */
function putFixed(d: DataView, p: number, m: FlowModHead, limit: number): void {
  const cookie = m.cookie;
  const cookieMask = m.cookieMask;
  const tableCommandIdle = ((m.tableId & 0xff) << 24) | ((m.command & 0xff) << 16) | (m.idleTimeout & 0xffff);
  const hardPriority = (m.hardTimeout << 16) | (m.priority & 0xffff);
  const bufferId = m.bufferId;
  const outPort = m.outPort;
  const outGroup = m.outGroup;
  const flagsPad = m.flags << 16;
  room(limit, p + OFP_FLOW_MOD_FIXED_LEN);
  putU64(d, p, cookie);
  putU64(d, p + 8, cookieMask);
  d.setUint32(p + 16, tableCommandIdle);
  d.setUint32(p + 20, hardPriority);
  d.setUint32(p + 24, bufferId);
  d.setUint32(p + 28, outPort);
  d.setUint32(p + 32, outGroup);
  d.setUint32(p + 36, flagsPad);
}

/**
 * Writes a whole FLOW_MOD message (header included) at `p` (>= 0) in `d` in one pass, the header (which holds the
 * length) last; returns the end. `limit` is d.byteLength. Throws RangeError when it does not fit in `d` or in an
 * OpenFlow message.
 */
export function putFlowMod(d: DataView, p: number, m: FlowMod & { readonly xid: number }, limit: number): number {
  const xid = m.xid;
  const match = m.match;
  const instructions = m.instructions;
  putFixed(d, p + OFP_HEADER_LEN, m, limit);
  const end = putInstructions(d, putMatch(d, p + OFP_FLOW_MOD_HEAD_LEN, match, limit), instructions, limit);
  const len = end - p;
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`flow_mod: ${len} bytes is longer than an OpenFlow message can be`);
  d.setUint32(p, FLOW_MOD_WORD0 | len);
  d.setUint32(p + 4, xid);
  return end;
}

export const flowMod: BodyCodec<'flow_mod'> = {
  type: 'flow_mod',
  framing: plain(OFPT.FLOW_MOD),
  lengthRule: { min: OFP_FLOW_MOD_FIXED_LEN, multiple: 8 },
  encodingLength: (m) => OFP_FLOW_MOD_FIXED_LEN + matchEncodingLength(m.match) + instructionsEncodingLength(m.instructions),
  encode(w, m) {
    const d = w.view;
    const limit = w.buf.length;
    putFixed(d, w.pos, m, limit);
    w.pos = putInstructions(d, putMatch(d, w.pos + OFP_FLOW_MOD_FIXED_LEN, m.match, limit), m.instructions, limit);
  },
  decode(r, h) {
    const cookie = r.u64();
    const cookieMask = r.u64();
    const tableId = r.u8();
    const command = r.u8();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const priority = r.u16();
    const bufferId = r.u32();
    const outPort = r.u32();
    const outGroup = r.u32();
    const flags = r.u16();
    r.skip(2);
    const match = decodeMatch(r);
    // ofputil_decode_flow_mod's order: table, out_port, the conntrack tuple, command, instructions, flags, then the
    // actions against the match.
    if (tableId === OFPTT_ALL && command !== OFPFC.DELETE && command !== OFPFC.DELETE_STRICT) throw flowModError(`table ${tableId} for command ${command}`, OFPFMFC.BAD_TABLE_ID);
    checkPort(outPort, 'out_port', 36);
    const state = matchedFlow(match.length);
    checkCtTupleMatch(state);
    if (command > OFPFC.DELETE_STRICT) throw flowModError(`unknown command ${command}`, OFPFMFC.BAD_COMMAND);
    const instructions = decodeInstructions(r, r.remaining);
    if (flags & ~KNOWN_FLAGS) throw flowModError(`flags 0x${flags.toString(16)} OVS does not know`, OFPFMFC.BAD_FLAGS);
    checkInstructionsAgainstMatch(instructions, state, tableId);
    return { type: 'flow_mod', xid: h.xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup, flags, match, instructions };
  },
};

/** OFPFF_SEND_FLOW_REM, CHECK_OVERLAP, RESET_COUNTS, NO_PKT_COUNTS, NO_BYT_COUNTS. */
export const KNOWN_FLAGS = 0x1f;
const OFPTT_ALL = 0xff;
const flowModError = (what: string, code: number): CodecError => new CodecError(`flow_mod: ${what}`, OFPET.FLOW_MOD_FAILED, code, 8);

export const flowModCodecs: readonly AnyBodyCodec[] = [flowMod];
