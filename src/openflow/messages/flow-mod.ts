// OFPT_FLOW_MOD: the message the controller sends most; keep encode free of allocations beyond the match's own.
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION, OFPT } from '../consts.js';
import { decodeMatch, matchEncodingLength, putMatch } from '../match.js';
import { decodeInstructions, instructionsEncodingLength, putInstructions } from '../instructions.js';
import { putU64 } from '../writer.js';
import type { FlowMod } from '../types.js';
import { type AnyBodyCodec, type BodyCodec, plain } from './codec.js';

/** ofp_flow_mod: 40 fixed bytes after the header (48 with it), the match, then instructions to the end. */
export const OFP_FLOW_MOD_FIXED_LEN = 40;

/** Everything of a FLOW_MOD but its match and instructions: what putFlowModHead writes. */
export type FlowModHead = Omit<FlowMod, 'type' | 'match' | 'instructions'> & { readonly xid: number };

/**
 * Writes the ofp_header (with `length`, the whole message's) and the 40 fixed bytes of an ofp_flow_mod at `p` in
 * `d`; returns p + 48, where the match goes. For callers that hold a flow's match and instructions already encoded
 * (then `length` is known); putFlowMod patches it in after the body instead.
 */
export function putFlowModHead(d: DataView, p: number, m: FlowModHead, length: number): number {
  d.setUint16(p, (OFP_VERSION << 8) | OFPT.FLOW_MOD);
  d.setUint16(p + 2, length);
  d.setUint32(p + 4, m.xid);
  putFixed(d, p + OFP_HEADER_LEN, m);
  return p + OFP_HEADER_LEN + OFP_FLOW_MOD_FIXED_LEN;
}

/** The 40 bytes after the ofp_header: cookie, cookie_mask, table, command, timeouts, priority, ids, flags, pad. */
function putFixed(d: DataView, p: number, m: FlowModHead): void {
  putU64(d, p, m.cookie);
  putU64(d, p + 8, m.cookieMask);
  d.setUint16(p + 16, ((m.tableId & 0xff) << 8) | (m.command & 0xff));
  d.setUint16(p + 18, m.idleTimeout);
  d.setUint16(p + 20, m.hardTimeout);
  d.setUint16(p + 22, m.priority);
  d.setUint32(p + 24, m.bufferId);
  d.setUint32(p + 28, m.outPort);
  d.setUint32(p + 32, m.outGroup);
  d.setUint32(p + 36, m.flags << 16);
}

/**
 * Writes a whole FLOW_MOD message (header included) at `p` in `d` in one pass, patching the length in at the end;
 * returns the end. Throws RangeError when it does not fit in `d` or in an OpenFlow message.
 */
export function putFlowMod(d: DataView, p: number, m: FlowMod & { readonly xid: number }): number {
  const end = putInstructions(d, putMatch(d, putFlowModHead(d, p, m, 0), m.match), m.instructions);
  const len = end - p;
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`flow_mod: ${len} bytes is longer than an OpenFlow message can be`);
  d.setUint16(p + 2, len);
  return end;
}

export const flowMod: BodyCodec<'flow_mod'> = {
  type: 'flow_mod',
  framing: plain(OFPT.FLOW_MOD),
  encodingLength: (m) => OFP_FLOW_MOD_FIXED_LEN + matchEncodingLength(m.match) + instructionsEncodingLength(m.instructions),
  encode(w, m) {
    const d = w.view;
    putFixed(d, w.pos, m);
    w.pos = putInstructions(d, putMatch(d, w.pos + OFP_FLOW_MOD_FIXED_LEN, m.match), m.instructions);
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
    const instructions = decodeInstructions(r, r.remaining);
    return { type: 'flow_mod', xid: h.xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup, flags, match, instructions };
  },
};

export const flowModCodecs: readonly AnyBodyCodec[] = [flowMod];
