// Malformed input table: every entry must make decodeMessage (or the frame splitter) throw CodecError carrying the
// OFPT_ERROR type/code a peer would be answered with, never anything else and never a partial result.
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../src/openflow/errors.js';
import { FrameSplitter } from '../../src/openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import {
  applyActions,
  be16,
  be32,
  be64,
  bundleAdd,
  flowMod,
  match,
  mpRequest,
  ofMsg,
  outputAction,
  u8,
} from '../helpers/fixtures-ofp.js';

// ofp_error_type and the codes used below (spec numbers, so the table reads on its own).
const BAD_REQUEST = 1;
const BAD_ACTION = 2;
const BAD_INSTRUCTION = 3;
const BAD_MATCH = 4;
const BRC = { BAD_VERSION: 0, BAD_TYPE: 1, BAD_MULTIPART: 2, BAD_LEN: 6 } as const;
const BAC = { BAD_TYPE: 0, BAD_LEN: 1, BAD_ARGUMENT: 5 } as const;
const BIC = { UNKNOWN_INST: 0, BAD_LEN: 7 } as const;
const BMC = { BAD_TYPE: 0, BAD_LEN: 1, BAD_FIELD: 6 } as const;

const cat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);
/** Rewrites the u16 at `off` (e.g. a length field) in a copy of `b`. */
const setU16 = (b: Buffer, off: number, v: number): Buffer => {
  const c = Buffer.from(b);
  c.writeUInt16BE(v, off);
  return c;
};

/** NXAST_CLONE around `inner` actions: ffff len 00002320 002a pad6. */
const nxClone = (inner: Buffer): Buffer => cat(be16(0xffff), be16(16 + inner.length), be32(0x2320), be16(42), Buffer.alloc(6), inner);
/** NXAST_RESUBMIT_TABLE (subtype 14): in_port u16, table u8, pad3. */
const nxResubmitTable = (table: number): Buffer => cat(be16(0xffff), be16(16), be32(0x2320), be16(14), be16(0xfff8), u8(table, 0, 0, 0));
const fm = (instructions: Buffer, m: Buffer = match()): Buffer => flowMod(7, { priority: 1, match: m, instructions });
/** The match starts 48 bytes into a FLOW_MOD (8 header + 40 fixed fields). */
const MATCH_AT = 48;


/** One ofp_flow_stats entry (OF1.3) with an empty match and no instructions: 56 bytes. */
const flowStatsEntry = (len = 56): Buffer => cat(be16(len), u8(0, 0), be32(0), be32(0), be16(1), be16(0), be16(0), be16(0), Buffer.alloc(4), be64(0n), be64(0n), be64(0n), match());
const mpReply = (mpType: number, body: Buffer, flags = 0): Buffer => ofMsg(19, 9, cat(be16(mpType), be16(flags), Buffer.alloc(4), body));

/** 1000 clones nested, innermost a resubmit. */
function deepClones(depth: number): Buffer {
  let a = nxResubmitTable(1);
  for (let i = 0; i < depth; i++) a = nxClone(a);
  return a;
}

interface Case {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly type: number;
  readonly code: number;
}

const cases: Case[] = [
  // ---- header and framing
  { name: 'empty buffer', bytes: new Uint8Array(0), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'truncated header (4 bytes)', bytes: u8(4, 0, 0, 8), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'truncated header (7 bytes)', bytes: ofMsg(2, 1).subarray(0, 7), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'header length < 8', bytes: setU16(ofMsg(2, 1), 2, 4), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'header length 0', bytes: setU16(ofMsg(20, 1), 2, 0), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'outer length longer than the frame', bytes: setU16(ofMsg(2, 1, Buffer.alloc(8)), 2, 24), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'outer length shorter than the frame', bytes: setU16(ofMsg(2, 1, Buffer.alloc(8)), 2, 8), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'wrong version (0x05)', bytes: ofMsg(5, 1, Buffer.alloc(0), 5), type: BAD_REQUEST, code: BRC.BAD_VERSION },
  { name: 'wrong version (0x01 FLOW_MOD)', bytes: setU16(fm(Buffer.alloc(0)), 0, 0x010e), type: BAD_REQUEST, code: BRC.BAD_VERSION },
  { name: 'unknown type 48', bytes: ofMsg(48, 1), type: BAD_REQUEST, code: BRC.BAD_TYPE },
  { name: 'unknown type 255', bytes: ofMsg(255, 1), type: BAD_REQUEST, code: BRC.BAD_TYPE },
  { name: 'unknown multipart type', bytes: mpRequest(0x99, 1), type: BAD_REQUEST, code: BRC.BAD_MULTIPART },
  { name: 'multipart header truncated', bytes: ofMsg(18, 1, Buffer.alloc(4)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'fixed-size body too long (FEATURES_REQUEST + 8)', bytes: ofMsg(5, 1, Buffer.alloc(8)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'fixed-size body too short (FEATURES_REPLY 24)', bytes: ofMsg(6, 1, Buffer.alloc(16)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'ERROR shorter than type+code', bytes: ofMsg(1, 1, Buffer.alloc(2)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'FLOW_MOD cut inside its fixed fields', bytes: ofMsg(14, 1, Buffer.alloc(30)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  // ---- match / OXM
  { name: 'match length < 4', bytes: setU16(fm(Buffer.alloc(0)), MATCH_AT + 2, 2), type: BAD_MATCH, code: BMC.BAD_LEN },
  { name: 'match length past the end of the message', bytes: setU16(fm(Buffer.alloc(0)), MATCH_AT + 2, 200), type: BAD_MATCH, code: BMC.BAD_LEN },
  // OVS's ofputil_pull_ofp11_match: an OpenFlow 1.1 standard match is 88 bytes long or OFPBMC_BAD_LEN.
  { name: 'match of type STANDARD (OF1.1)', bytes: setU16(fm(Buffer.alloc(0)), MATCH_AT, 0), type: BAD_MATCH, code: BMC.BAD_LEN },
  { name: 'match of an unknown type', bytes: setU16(fm(Buffer.alloc(0)), MATCH_AT, 2), type: BAD_MATCH, code: BMC.BAD_TYPE },
  {
    name: 'OXM length past the match end (eth_dst says 6, 2 given)',
    bytes: fm(Buffer.alloc(0), pad8ed(cat(be16(1), be16(4 + 6), u8(0x80, 0x00, 0x06, 0x06), u8(2, 0)))),
    type: BAD_MATCH,
    code: BMC.BAD_LEN,
  },
  {
    // OVS looks a field up by class, field and length: another length is another (unknown) field.
    name: 'OXM length wrong for its field (eth_dst with 4 bytes)',
    bytes: fm(Buffer.alloc(0), match(cat(u8(0x80, 0x00, 0x06, 0x04), be32(0x02000000)))),
    type: BAD_MATCH,
    code: BMC.BAD_FIELD,
  },
  {
    name: 'OXM masked field with odd length (eth_dst/mask 11 bytes)',
    bytes: fm(Buffer.alloc(0), match(cat(u8(0x80, 0x00, 0x07, 0x0b), Buffer.alloc(11)))),
    type: BAD_MATCH,
    code: BMC.BAD_FIELD,
  },
  {
    name: 'OXM header cut (3 bytes left in match)',
    bytes: fm(Buffer.alloc(0), pad8ed(cat(be16(1), be16(4 + 3), u8(0x80, 0x00, 0x06)))),
    type: BAD_MATCH,
    code: BMC.BAD_LEN,
  },
  {
    name: 'match padding missing (match length 10, message ends)',
    // OVS frames a FLOW_MOD in 8-byte units (ofpraw "uint8_t[8][]"): the short message is refused first.
    bytes: flowMod(7, { priority: 1, match: cat(be16(1), be16(4 + 5), u8(0x80, 0x00, 0x14, 0x01), u8(6)) }),
    type: BAD_REQUEST,
    code: BRC.BAD_LEN,
  },
  // ---- instructions / actions
  { name: 'instruction length past the end', bytes: fm(setU16(applyActions(outputAction(1)), 2, 64)), type: BAD_INSTRUCTION, code: BIC.BAD_LEN },
  { name: 'instruction length 0', bytes: fm(cat(be16(4), be16(0), Buffer.alloc(4))), type: BAD_INSTRUCTION, code: BIC.BAD_LEN },
  { name: 'instruction length not a multiple of 8 (so is the FLOW_MOD)', bytes: fm(cat(be16(1), be16(12), u8(5, 0, 0, 0), Buffer.alloc(4))), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'instruction header cut (4 bytes; the FLOW_MOD is not 8-byte framed)', bytes: fm(cat(be16(1), be16(8))), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'instruction length not a multiple of 8 in an aligned FLOW_MOD', bytes: fm(cat(be16(1), be16(12), u8(5, 0, 0, 0), Buffer.alloc(16))), type: BAD_INSTRUCTION, code: BIC.BAD_LEN },
  { name: 'the same instruction twice (OFPBIC_DUP_INST)', bytes: fm(cat(be16(1), be16(8), u8(5, 0, 0, 0), be16(1), be16(8), u8(6, 0, 0, 0))), type: 0xffff, code: 2600 /* ONF OFPBIC_DUP_INST */ },
  { name: 'unknown instruction type 0x77', bytes: fm(cat(be16(0x77), be16(8), Buffer.alloc(4))), type: BAD_INSTRUCTION, code: BIC.UNKNOWN_INST },
  {
    name: 'misaligned action (output with length 12)',
    bytes: fm(applyActions(cat(be16(0), be16(12), be32(1), be16(0), u8(0, 0), Buffer.alloc(4)))),
    type: BAD_ACTION,
    code: BAC.BAD_LEN,
  },
  { name: 'action length overruns the instruction', bytes: fm(applyActions(setU16(outputAction(1), 2, 32))), type: BAD_ACTION, code: BAC.BAD_LEN },
  { name: 'action length 0', bytes: fm(applyActions(cat(be16(0), be16(0), Buffer.alloc(4)))), type: BAD_ACTION, code: BAC.BAD_LEN },
  { name: 'output action too short (8)', bytes: fm(applyActions(cat(be16(0), be16(8), be32(1)))), type: BAD_ACTION, code: BAC.BAD_LEN },
  { name: 'unknown standard action type 0x1234', bytes: fm(applyActions(cat(be16(0x1234), be16(8), Buffer.alloc(4)))), type: BAD_ACTION, code: BAC.BAD_TYPE },
  { name: 'experimenter action shorter than its header', bytes: fm(applyActions(cat(be16(0xffff), be16(8), be32(0x2320)))), type: BAD_ACTION, code: BAC.BAD_LEN },
  {
    name: 'NXAST_CT with length 16 (needs 24)',
    bytes: fm(applyActions(cat(be16(0xffff), be16(16), be32(0x2320), be16(35), Buffer.alloc(6)))),
    type: BAD_ACTION,
    code: BAC.BAD_LEN,
  },
  {
    // The action's own length is fine; its OXM lies. OVS answers with the OXM's error too (nx_pull_entry's
    // OFPBMC_BAD_LEN, ofp-actions.c decode_OFPAT_RAW12_SET_FIELD), so BAD_MATCH is right here.
    name: 'set_field whose OXM overruns the action',
    bytes: fm(applyActions(cat(be16(25), be16(8), u8(0x80, 0x00, 0x06, 0x06)))),
    type: BAD_MATCH,
    code: BMC.BAD_LEN,
  },
  { name: 'clone whose inner action overruns it', bytes: fm(applyActions(setU16(nxClone(outputAction(1)), 16 + 2, 40))), type: BAD_ACTION, code: BAC.BAD_LEN },
  { name: 'nested clone depth 1000', bytes: fm(applyActions(deepClones(1000))), type: BAD_ACTION, code: BAC.BAD_ARGUMENT },
  { name: 'nested clone depth 17', bytes: fm(applyActions(deepClones(17))), type: BAD_ACTION, code: BAC.BAD_ARGUMENT },
  { name: 'write_actions with a lying action length', bytes: fm(cat(be16(3), be16(24), Buffer.alloc(4), setU16(outputAction(1), 2, 8))), type: BAD_ACTION, code: BAC.BAD_LEN },
  {
    name: 'PACKET_OUT actions_len past the end',
    bytes: ofMsg(13, 1, cat(be32(0xffffffff), be32(0xfffffffd), be16(64), Buffer.alloc(6), outputAction(1))),
    type: BAD_REQUEST,
    code: BRC.BAD_LEN,
  },
  // ---- multipart bodies
  { name: 'flow stats entry length past the end (its instructions overrun: OFPBIC_BAD_LEN)', bytes: mpReply(1, flowStatsEntry(200)), type: BAD_INSTRUCTION, code: BIC.BAD_LEN },
  { name: 'flow stats entry truncated (last of two cut)', bytes: mpReply(1, cat(flowStatsEntry(), flowStatsEntry().subarray(0, 40))), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'flow stats entry length < minimum', bytes: mpReply(1, flowStatsEntry(16).subarray(0, 16)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'port desc entry truncated (60 of 64)', bytes: mpReply(13, Buffer.alloc(60)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'table stats with a partial entry', bytes: mpReply(3, Buffer.alloc(24 + 8)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  { name: 'port stats request body cut', bytes: mpRequest(4, 1, be16(1)), type: BAD_REQUEST, code: BRC.BAD_LEN },
  // ---- bundles
  // ofputil_decode_bundle_add's checks, as ONF bundle errors (experimenter 0x4f4e4600).
  { name: 'bundle_add whose inner length overruns', bytes: bundleAdd(5, 1, setU16(ofMsg(20, 5), 2, 64)), type: 0xffff, code: 2308 /* OFPBFC_MSG_BAD_LEN */ },
  { name: 'bundle_add containing garbage (inner type 200)', bytes: bundleAdd(5, 1, ofMsg(200, 5, Buffer.alloc(8))), type: 0xffff, code: 2310 /* OFPBFC_MSG_UNSUP */ },
  { name: 'bundle_add containing a FLOW_MOD of another xid', bytes: bundleAdd(5, 1, fm(applyActions(outputAction(1)))), type: 0xffff, code: 2309 /* OFPBFC_MSG_BAD_XID */ },
  { name: 'bundle_add with inner length < 8', bytes: bundleAdd(5, 1, setU16(ofMsg(20, 5), 2, 4)), type: 0xffff, code: 2308 },
  { name: 'bundle_add cut inside its fixed fields', bytes: ofMsg(4, 5, cat(be32(0x4f4e4600), be32(2301), be32(1))), type: BAD_REQUEST, code: BRC.BAD_LEN },
];

function pad8ed(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('malformed messages', () => {
  it('the table is not trivially small', () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name -> CodecError($type, $code)', ({ bytes, type, code }) => {
    const e = thrown(() => decodeMessage(bytes));
    expect(e, 'decodeMessage should throw').toBeInstanceOf(CodecError);
    const ce = e as CodecError;
    expect({ type: ce.ofpType, code: ce.ofpCode }, ce.message).toEqual({ type, code });
  });

  it.each(cases)('$name: same result from a pooled Buffer at an odd byteOffset', ({ bytes, type, code }) => {
    const pool = Buffer.alloc(bytes.length + 13, 0xee);
    pool.set(bytes, 7);
    const e = thrown(() => decodeMessage(pool.subarray(7, 7 + bytes.length)));
    expect(e).toBeInstanceOf(CodecError);
    expect([(e as CodecError).ofpType, (e as CodecError).ofpCode]).toEqual([type, code]);
  });
});

describe('lenient on purpose', () => {
  it('a bundle_add whose FLOW_MOD body the codec refuses keeps it as bytes (OVS prints its error inside)', () => {
    const b = bundleAdd(7, 1, fm(applyActions(setU16(outputAction(1), 2, 32))));
    const m = decodeMessage(b);
    expect(m.type === 'bundle_add' && m.message instanceof Uint8Array).toBe(true);
    expect(Buffer.from(encodeMessage(m)).equals(b)).toBe(true);
  });


  it('a HELLO element whose length overruns is kept raw (version negotiation must not fail on it)', () => {
    const b = ofMsg(0, 1, cat(be16(1), be16(16), be32(0x10)));
    const m = decodeMessage(b);
    expect(m.type).toBe('hello');
    expect(Buffer.from(encodeMessage(m)).equals(b)).toBe(true);
  });
});

describe('malformed frames (framing)', () => {
  const push = (s: FrameSplitter, chunk: Uint8Array): Uint8Array[] => [...s.push(chunk)];

  it('a header claiming length < 8 is BAD_LEN and the splitter stays failed', () => {
    const s = new FrameSplitter();
    const e = thrown(() => push(s, setU16(ofMsg(2, 1), 2, 7)));
    expect(e).toBeInstanceOf(CodecError);
    expect([(e as CodecError).ofpType, (e as CodecError).ofpCode]).toEqual([BAD_REQUEST, BRC.BAD_LEN]);
    expect(thrown(() => push(s, ofMsg(2, 2)))).toBeInstanceOf(CodecError);
  });

  it('a header claiming more than maxMessageSize is BAD_LEN (no waiting for 64 KiB)', () => {
    const s = new FrameSplitter({ maxMessageSize: 1024 });
    const e = thrown(() => push(s, setU16(ofMsg(2, 1), 2, 4096)));
    expect(e).toBeInstanceOf(CodecError);
    expect((e as CodecError).ofpCode).toBe(BRC.BAD_LEN);
  });

  it('a lying length split across chunks is caught once the header completes', () => {
    const s = new FrameSplitter();
    const bad = setU16(ofMsg(2, 1), 2, 3);
    expect(push(s, bad.subarray(0, 3))).toEqual([]);
    expect(thrown(() => push(s, bad.subarray(3)))).toBeInstanceOf(CodecError);
  });

  it('a truncated frame is held, not emitted', () => {
    const s = new FrameSplitter();
    const m = ofMsg(2, 1, Buffer.alloc(20));
    expect(push(s, m.subarray(0, 27))).toEqual([]);
    expect(s.buffered).toBe(27);
    expect(push(s, m.subarray(27)).map((f) => Buffer.from(f).toString('hex'))).toEqual([m.toString('hex')]);
  });
});
