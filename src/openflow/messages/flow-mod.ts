// OFPT_FLOW_MOD: the message the controller sends most; keep encode free of allocations beyond the match's own.
import { OFPT } from '../consts.js';
import { decodeMatch, encodeMatch, matchEncodingLength } from '../match.js';
import { decodeInstructions, encodeInstructions, instructionsEncodingLength } from '../instructions.js';
import { type AnyBodyCodec, type BodyCodec, plain } from './codec.js';

/** ofp_flow_mod: 40 fixed bytes after the header (48 with it), the match, then instructions to the end. */
export const OFP_FLOW_MOD_FIXED_LEN = 40;

export const flowMod: BodyCodec<'flow_mod'> = {
  type: 'flow_mod',
  framing: plain(OFPT.FLOW_MOD),
  encodingLength: (m) => OFP_FLOW_MOD_FIXED_LEN + matchEncodingLength(m.match) + instructionsEncodingLength(m.instructions),
  encode(w, m) {
    w.u64(m.cookie);
    w.u64(m.cookieMask);
    // The 24 bytes after the cookies with one bounds check: this is the message the controller sends most.
    const b = w.buf;
    const p = w.pos;
    if (p + 24 > b.length) throw new RangeError('Writer: overrun');
    const { idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup, flags } = m;
    b[p] = m.tableId;
    b[p + 1] = m.command;
    b[p + 2] = idleTimeout >>> 8;
    b[p + 3] = idleTimeout;
    b[p + 4] = hardTimeout >>> 8;
    b[p + 5] = hardTimeout;
    b[p + 6] = priority >>> 8;
    b[p + 7] = priority;
    b[p + 8] = bufferId >>> 24;
    b[p + 9] = bufferId >>> 16;
    b[p + 10] = bufferId >>> 8;
    b[p + 11] = bufferId;
    b[p + 12] = outPort >>> 24;
    b[p + 13] = outPort >>> 16;
    b[p + 14] = outPort >>> 8;
    b[p + 15] = outPort;
    b[p + 16] = outGroup >>> 24;
    b[p + 17] = outGroup >>> 16;
    b[p + 18] = outGroup >>> 8;
    b[p + 19] = outGroup;
    b[p + 20] = flags >>> 8;
    b[p + 21] = flags;
    b[p + 22] = 0;
    b[p + 23] = 0;
    w.pos = p + 24;
    encodeMatch(w, m.match);
    encodeInstructions(w, m.instructions);
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
