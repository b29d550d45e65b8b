// The byte writers behind encodeMessageInto (putFlowMod and friends) and the raw flow-stats reader: same bytes as
// the sized Writer path, RangeError when a buffer is too small, and the exports src/runtime can use instead of
// laying out ofp_flow_mod and ofp_flow_stats itself.
import { beforeAll, describe, expect, it } from 'vitest';
import { CodecError } from '../../src/openflow/errors.js';
import { OFPBMC, OFPBRC, OFPET } from '../../src/openflow/consts.js';
import { forEachRawFlowStats, type RawFlowStats } from '../../src/openflow/flow-stats-raw.js';
import { parseFlow } from '../../src/openflow/text/flow-text.js';
import { encodeInstructions } from '../../src/openflow/instructions.js';
import { encodeMatch } from '../../src/openflow/match.js';
import { decodeMessage, encodeMessage, encodeMessageInto, messageEncodingLength } from '../../src/openflow/message.js';
import { putFlowModHead } from '../../src/openflow/messages/flow-mod.js';
import type { FlowMod, FlowStats, Message } from '../../src/openflow/types.js';
import { Writer } from '../../src/openflow/writer.js';
import { knownUnsupported, loadFlowVectors, xidOf } from '../helpers/fixtures-vectors.js';
import { toHex } from '../helpers/hex.js';

const FLOWS = [
  'table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=set_field:1001->tun_id,set_field:10.99.0.2->tun_dst,output:1',
  'table=10,priority=10,ip,nw_dst=192.168.0.7,actions=set_field:12:00:00:ff:ff:ff->eth_src,set_field:02:00:00:00:00:07->eth_dst,output:1',
  'table=50,priority=20,arp,arp_op=1,arp_tpa=192.168.0.3,actions=move:eth_src->eth_dst,set_field:02:00:00:00:00:03->eth_src,set_field:2->arp_op,move:arp_sha->arp_tha,IN_PORT',
  'cookie=0x123456789abcdef0,table=3,priority=7,idle_timeout=30,hard_timeout=60,send_flow_rem,tcp,tp_dst=80,metadata=0x5/0xff,actions=resubmit(,4),load:0x2->NXM_NX_REG0[0..7],ct(commit,zone=5),write_metadata:0x1/0x1,goto_table:9',
  'table=0,priority=1,reg3=0x10/0xf0,tun_id=0x55/0xff,actions=clone(output:2),note:01.02.03,group:7',
];
const msg = (text: string, xid: number): Message => ({ ...parseFlow(text), xid }) as Message;

/** The bytes the sized path (encodingLength, then Writer) gives: what the one-pass writers must reproduce. */
function sized(m: Message): string {
  const w = new Writer(new Uint8Array(messageEncodingLength(m)));
  const fm = m as FlowMod & { xid: number };
  w.u8(4);
  w.u8(14);
  w.u16(w.buf.length);
  w.u32(fm.xid);
  w.u64(fm.cookie);
  w.u64(fm.cookieMask);
  w.u8(fm.tableId);
  w.u8(fm.command);
  w.u16(fm.idleTimeout);
  w.u16(fm.hardTimeout);
  w.u16(fm.priority);
  w.u32(fm.bufferId);
  w.u32(fm.outPort);
  w.u32(fm.outGroup);
  w.u16(fm.flags);
  w.zeros(2);
  encodeMatch(w, fm.match);
  encodeInstructions(w, fm.instructions);
  expect(w.pos).toBe(w.buf.length);
  return toHex(w.buf);
}

describe('FLOW_MOD one-pass writer', () => {
  it('writes what the Writer path writes, into Uint8Arrays and Buffers, at any offset', () => {
    for (const [i, text] of FLOWS.entries()) {
      const m = msg(text, 100 + i);
      const want = sized(m);
      expect(toHex(encodeMessage(m))).toBe(want);
      for (const buf of [new Uint8Array(600), Buffer.alloc(600), Buffer.alloc(700).subarray(13, 613)]) {
        const n = encodeMessageInto(m, buf, 37);
        expect(toHex(buf.subarray(37, 37 + n))).toBe(want);
      }
    }
  });

  it('throws RangeError when the buffer is one byte short, and fits exactly', () => {
    for (const text of FLOWS) {
      const m = msg(text, 1);
      const len = messageEncodingLength(m);
      expect(() => encodeMessageInto(m, new Uint8Array(len + 4), 5)).toThrow(RangeError);
      expect(encodeMessageInto(m, new Uint8Array(len + 5), 5)).toBe(len);
      expect(() => encodeMessageInto(m, new Uint8Array(len), -1)).toThrow(RangeError);
    }
  });

  it('embeds a FLOW_MOD in a bundle_add with the same bytes', () => {
    const m = msg(FLOWS[2]!, 9);
    const add = encodeMessage({ type: 'bundle_add', xid: 9, bundleId: 3, bundleFlags: 1, message: m, properties: new Uint8Array(0) });
    expect(toHex(add.subarray(24))).toBe(sized(m));
    expect(decodeMessage(add)).toMatchObject({ type: 'bundle_add', message: { type: 'flow_mod', xid: 9 } });
  });

  it('putFlowModHead writes the 48 bytes in front of a match and instructions encoded elsewhere', () => {
    const m = msg(FLOWS[3]!, 77);
    const want = encodeMessage(m);
    const buf = Buffer.alloc(want.length + 8);
    const body = want.subarray(48);
    const at = putFlowModHead(new DataView(buf.buffer, buf.byteOffset, buf.length), 8, m as FlowMod & { xid: number }, want.length);
    expect(at).toBe(56);
    body.copy(buf, at);
    expect(toHex(buf.subarray(8))).toBe(toHex(want));
  });
});

describe('FLOW_MOD one-pass writer on every flow text OVS accepts', () => {
  // The flows of test/fixtures/flow-vectors.json (every keyword and field the codec supports), each decoded from the
  // FLOW_MOD OVS sent and parsed from its text: both must encode to OVS's bytes. parseFlow rejects the texts of
  // knownUnsupported on purpose (ovs-agreement.test.ts checks that); every other text must parse, or beforeAll fails.
  const vectors = loadFlowVectors().positive;
  const parsable = vectors.filter((v) => !(v.text in knownUnsupported));
  const cases: { m: Message; want: string }[] = [];
  beforeAll(() => {
    for (const v of vectors) cases.push({ m: decodeMessage(Buffer.from(v.hex, 'hex')), want: v.hex });
    for (const v of parsable) cases.push({ m: msg(v.text, xidOf(v.hex)), want: v.hex });
  });

  it('has every vector, each parsed from its text but the known-unsupported ones', () => {
    expect(vectors.length - parsable.length, 'every known-unsupported text is among the vectors').toBe(Object.keys(knownUnsupported).length);
    expect(cases).toHaveLength(vectors.length + parsable.length);
    expect(cases.length).toBeGreaterThanOrEqual(150);
  });

  it('writes the bytes OVS sends, and not one byte outside them', () => {
    for (const { m, want } of cases) {
      expect(toHex(encodeMessage(m))).toBe(want);
      const buf = Buffer.alloc(want.length / 2 + 64, 0xaa);
      const n = encodeMessageInto(m, buf, 29);
      expect(toHex(buf.subarray(29, 29 + n))).toBe(want);
      expect(buf.subarray(0, 29).every((b) => b === 0xaa) && buf.subarray(29 + n).every((b) => b === 0xaa)).toBe(true);
    }
  });

  it('throws RangeError for every buffer too short by any number of bytes', () => {
    for (const { m } of cases) {
      const len = messageEncodingLength(m);
      for (let short = 1; short <= len; short++) {
        expect(() => encodeMessageInto(m, new Uint8Array(len - short + 3), 3)).toThrow(RangeError);
      }
    }
  });
});

describe('forEachRawFlowStats', () => {
  const flows: FlowStats[] = FLOWS.map((text, i) => {
    const f = parseFlow(text);
    return {
      tableId: f.tableId,
      durationSec: 10 + i,
      durationNsec: 5,
      priority: f.priority,
      idleTimeout: f.idleTimeout,
      hardTimeout: f.hardTimeout,
      flags: f.flags,
      cookie: f.cookie,
      packetCount: BigInt(i),
      byteCount: BigInt(100 * i),
      match: f.match,
      instructions: f.instructions,
    };
  });
  const reply = encodeMessage({ type: 'flow_stats_reply', xid: 5, flags: 0, flows });

  it('gives each entry its fields and the byte ranges of its match and instructions', () => {
    const seen: (Omit<RawFlowStats, 'start' | 'end' | 'oxmStart' | 'oxmEnd' | 'instructionsStart'> & { oxm: string; instructions: string })[] = [];
    forEachRawFlowStats(reply, (e, b) => {
      seen.push({
        tableId: e.tableId,
        priority: e.priority,
        idleTimeout: e.idleTimeout,
        hardTimeout: e.hardTimeout,
        flags: e.flags,
        cookieHi: e.cookieHi,
        cookieLo: e.cookieLo,
        oxm: toHex(b.subarray(e.oxmStart, e.oxmEnd)),
        instructions: toHex(b.subarray(e.instructionsStart, e.end)),
      });
    });
    expect(seen).toEqual(
      flows.map((f) => {
        const w = new Writer(new Uint8Array(4096));
        encodeMatch(w, f.match);
        const matchLen = (w.buf[2]! << 8) | w.buf[3]!;
        const oxm = toHex(w.buf.subarray(4, matchLen));
        const iw = new Writer(new Uint8Array(4096));
        encodeInstructions(iw, f.instructions);
        return {
          tableId: f.tableId,
          priority: f.priority,
          idleTimeout: f.idleTimeout,
          hardTimeout: f.hardTimeout,
          flags: f.flags,
          cookieHi: Number(f.cookie >> 32n),
          cookieLo: Number(f.cookie & 0xffffffffn),
          oxm,
          instructions: toHex(iw.buf.subarray(0, iw.pos)),
        };
      }),
    );
  });

  const bad = (mutate: (b: Buffer) => Buffer): CodecError => {
    try {
      forEachRawFlowStats(mutate(Buffer.from(reply)), () => undefined);
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      return e as CodecError;
    }
    throw new Error('no error');
  };

  it('rejects malformed replies with the error a switch would send', () => {
    expect(bad((b) => b.subarray(0, 12))).toMatchObject({ ofpType: OFPET.BAD_REQUEST, ofpCode: OFPBRC.BAD_LEN });
    expect(bad((b) => (b.writeUInt16BE(2, 8), b))).toMatchObject({ ofpType: OFPET.BAD_REQUEST, ofpCode: OFPBRC.BAD_MULTIPART });
    expect(bad((b) => (b.writeUInt8(18, 1), b))).toMatchObject({ ofpType: OFPET.BAD_REQUEST, ofpCode: OFPBRC.BAD_TYPE });
    expect(bad((b) => b.subarray(0, b.length - 8))).toMatchObject({ ofpType: OFPET.BAD_REQUEST, ofpCode: OFPBRC.BAD_LEN });
    expect(bad((b) => (b.writeUInt16BE(b.readUInt16BE(16) + 4, 16), b))).toMatchObject({ ofpType: OFPET.BAD_REQUEST, ofpCode: OFPBRC.BAD_LEN });
    expect(bad((b) => (b.writeUInt16BE(0, 16 + 48), b))).toMatchObject({ ofpType: OFPET.BAD_MATCH, ofpCode: OFPBMC.BAD_TYPE });
    expect(bad((b) => (b.writeUInt16BE(0x4000, 16 + 48 + 2), b))).toMatchObject({ ofpType: OFPET.BAD_REQUEST, ofpCode: OFPBRC.BAD_LEN });
  });

  it('visits nothing in an empty reply', () => {
    let n = 0;
    forEachRawFlowStats(encodeMessage({ type: 'flow_stats_reply', xid: 1, flags: 0, flows: [] }), () => n++);
    expect(n).toBe(0);
  });
});
