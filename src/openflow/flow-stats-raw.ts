// OFPMP_FLOW replies read in place: for callers that keep flow-stats entries as bytes (a sync comparing 100k
// installed flows by their match and instruction bytes) rather than decoding each into a FlowStats object.
import { OFPBMC, OFPBRC, OFPET, OFPMP, OFPT } from './consts.js';
import { CodecError } from './errors.js';
import { OFPMT } from './match.js';

/** ofp_header + ofp_multipart_reply header. */
const MP_REPLY_HEADER_LEN = 16;
/** ofp_flow_stats before its match. */
const FLOW_STATS_FIXED_LEN = 48;

/** The fixed fields of an ofp_flow_stats entry that reconciliation compares. */
export interface FlowStatsFixed {
  tableId: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  /** The cookie's high and low 32 bits (unsigned): no bigint per entry. */
  cookieHi: number;
  cookieLo: number;
}

/**
 * One ofp_flow_stats entry of a reply frame: its fixed fields, and its match and instructions as byte offsets into
 * the frame. The same object is handed to every call of the visitor: copy what must outlive the call.
 */
export interface RawFlowStats extends FlowStatsFixed {
  /** The entry's first byte and the byte after its last. */
  start: number;
  end: number;
  /** The OXM fields (after the ofp_match header, before its padding): [oxmStart, oxmEnd). */
  oxmStart: number;
  oxmEnd: number;
  /** The instructions: [instructionsStart, end). */
  instructionsStart: number;
}

const u32 = (b: Uint8Array, p: number): number => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
const badLen = (what: string, offset: number): CodecError => new CodecError(`flow stats reply: ${what}`, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, offset);

/**
 * Calls `visit` for each entry of one OFPMP_FLOW multipart reply frame (a whole message, as framing.ts cuts them),
 * in order. Every length is checked (entry length, 8-byte alignment, the match inside its entry); malformed input
 * throws a CodecError before `visit` sees the bad entry. The match's OXM fields and the instructions are not
 * decoded: their byte ranges are for the caller to read or compare. `entry`, when given, is the object filled and
 * handed over (a caller's cursor with more to it), so that nothing needs copying out of it.
 */
export function forEachRawFlowStats(frame: Uint8Array, visit: (entry: RawFlowStats, frame: Uint8Array) => void, entry?: RawFlowStats): void {
  const b = frame;
  const end = b.length;
  if (end < MP_REPLY_HEADER_LEN) throw badLen(`frame of ${end} bytes`, 0);
  if (b[1] !== OFPT.MULTIPART_REPLY) throw new CodecError(`flow stats reply: message type ${b[1]}`, OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, 1);
  const mpType = (b[8]! << 8) | b[9]!;
  if (mpType !== OFPMP.FLOW) throw new CodecError(`expected a flow stats reply, got multipart type ${mpType}`, OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, 8);
  const e: RawFlowStats = entry ?? { start: 0, end: 0, tableId: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, cookieHi: 0, cookieLo: 0, oxmStart: 0, oxmEnd: 0, instructionsStart: 0 };
  let p = MP_REPLY_HEADER_LEN;
  while (p < end) {
    if (p + FLOW_STATS_FIXED_LEN + 8 > end) throw badLen(`truncated entry (${end - p} bytes)`, p);
    const len = (b[p]! << 8) | b[p + 1]!;
    const entryEnd = p + len;
    if (len < FLOW_STATS_FIXED_LEN + 8 || len % 8 !== 0 || entryEnd > end) throw badLen(`ofp_flow_stats length ${len}`, p);
    const m = p + FLOW_STATS_FIXED_LEN;
    const matchType = (b[m]! << 8) | b[m + 1]!;
    const matchLen = (b[m + 2]! << 8) | b[m + 3]!;
    if (matchType !== OFPMT.OXM) throw new CodecError(`flow stats reply: match type ${matchType}`, OFPET.BAD_MATCH, OFPBMC.BAD_TYPE, m);
    const padded = (matchLen + 7) & ~7;
    if (matchLen < 4 || m + padded > entryEnd) throw badLen(`match length ${matchLen}`, m);
    e.start = p;
    e.end = entryEnd;
    e.tableId = b[p + 2]!;
    e.priority = (b[p + 12]! << 8) | b[p + 13]!;
    e.idleTimeout = (b[p + 14]! << 8) | b[p + 15]!;
    e.hardTimeout = (b[p + 16]! << 8) | b[p + 17]!;
    e.flags = (b[p + 18]! << 8) | b[p + 19]!;
    e.cookieHi = u32(b, p + 24);
    e.cookieLo = u32(b, p + 28);
    e.oxmStart = m + 4;
    e.oxmEnd = m + matchLen;
    e.instructionsStart = m + padded;
    visit(e, b);
    p = entryEnd;
  }
}
