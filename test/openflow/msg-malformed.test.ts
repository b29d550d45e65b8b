import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import { ONF_BUNDLE_BAD_VERSION, ONFERR_ET_BUNDLE } from '../../src/openflow/error-codes.js';
import { CodecError } from '../../src/openflow/errors.js';
import { OFPBIC, OFPBRC, OFPET } from '../../src/openflow/consts.js';
import { OFPGMFC } from '../../src/openflow/error-codes.js';
import { FIXTURES, bytes, header, mpHeader, u16, u32, u64, zeros } from './msg-fixtures.js';

const fixture = (type: string): Uint8Array => FIXTURES.find((f) => f.msg.type === type)!.bytes;

/** A copy of `b` with the u16 at `at` replaced. */
function withU16(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[at] = v >> 8;
  c[at + 1] = v & 0xff;
  return c;
}

const flowMod = fixture('flow_mod');
const bundleHead = (len: number): number[] => [...header(4, len, 1), ...u32(0x4f4e4600), ...u32(2301), ...u32(1), 0, 0, 0, 1];

interface Bad {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Expected code (OFPBRC under OFPET_BAD_REQUEST unless `type` says otherwise); undefined: any CodecError. */
  readonly code?: number;
  /** Expected ONF experimenter error (the bundle errors), instead of `code`. */
  readonly onf?: number;
  readonly type?: number;
}

const BAD: readonly Bad[] = [
  { name: 'shorter than a header', bytes: bytes(4, 0, 0), code: OFPBRC.BAD_LEN },
  { name: 'header length under 8', bytes: bytes(header(20, 7, 1)), code: OFPBRC.BAD_LEN },
  { name: 'header length longer than the frame', bytes: bytes(header(20, 9, 1)), code: OFPBRC.BAD_LEN },
  { name: 'header length shorter than the frame', bytes: bytes(header(20, 8, 1), 0), code: OFPBRC.BAD_LEN },
  { name: 'version 5 features_request', bytes: bytes(header(5, 8, 1, 5)), code: OFPBRC.BAD_VERSION },
  { name: 'version 1 flow_mod', bytes: Uint8Array.from([1, ...flowMod.subarray(1)]), code: OFPBRC.BAD_VERSION },
  { name: 'unknown type 99', bytes: bytes(header(99, 8, 1)), code: OFPBRC.BAD_TYPE },
  { name: 'OF1.4 type 30 in 1.3', bytes: bytes(header(30, 8, 1)), code: OFPBRC.BAD_TYPE },
  { name: 'unknown multipart type', bytes: bytes(mpHeader(18, 16, 1, 99)), code: OFPBRC.BAD_MULTIPART },
  { name: 'multipart shorter than its header', bytes: bytes(header(18, 12, 1), 0, 0, 0, 0), code: OFPBRC.BAD_LEN },
  { name: 'experimenter shorter than its header', bytes: bytes(header(4, 12, 1), u32(0x2320)), code: OFPBRC.BAD_LEN },
  { name: 'truncated features_reply', bytes: fixture('features_reply').subarray(0, 31).map((x, i) => (i === 3 ? 31 : x)), code: OFPBRC.BAD_LEN },
  { name: 'barrier with a trailing byte', bytes: bytes(header(20, 9, 1), 0), code: OFPBRC.BAD_LEN },
  { name: 'echo_reply with no body is fine but error with 2 bytes is not', bytes: bytes(header(1, 10, 1), 0, 1), code: OFPBRC.BAD_LEN },
  { name: 'experimenter error without experimenter id', bytes: bytes(header(1, 14, 1), 0xff, 0xff, 0, 1, 0, 0), code: OFPBRC.BAD_LEN },
  // OVS reads the match whatever the entry's length says, then the instructions the length leaves (OFPBIC_BAD_LEN).
  { name: 'flow_stats entry longer than the body', bytes: withU16(fixture('flow_stats_reply'), 16, 0x200), type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'flow_stats entry shorter than its struct and match', bytes: withU16(fixture('flow_stats_reply'), 16, 48), type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'flow_stats entry length not a multiple of 8', bytes: withU16(fixture('flow_stats_reply'), 16, 95), type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'flow_stats entry shorter than its struct', bytes: withU16(fixture('flow_stats_reply'), 16, 40), code: OFPBRC.BAD_LEN },
  { name: 'table_stats body not a whole number of entries', bytes: bytes(mpHeader(19, 28, 1, 3), zeros(12)), code: OFPBRC.BAD_LEN },
  { name: 'port_desc reply with half a port', bytes: bytes(mpHeader(19, 48, 1, 13), zeros(32)), code: OFPBRC.BAD_LEN },
  { name: 'group_desc bucket longer than the entry', bytes: withU16(fixture('group_desc_reply'), 24, 40), type: OFPET.GROUP_MOD_FAILED, code: OFPGMFC.BAD_BUCKET },
  { name: 'group_mod bucket shorter than 16', bytes: withU16(fixture('group_mod'), 16, 8), type: OFPET.GROUP_MOD_FAILED, code: OFPGMFC.BAD_BUCKET },
  { name: 'meter band shorter than 16', bytes: withU16(fixture('meter_mod'), 18, 12), code: OFPBRC.BAD_LEN },
  { name: 'meter_stats entry len lying', bytes: withU16(fixture('meter_stats_reply'), 20, 64), code: OFPBRC.BAD_LEN },
  { name: 'packet_out actions_len past the end', bytes: withU16(fixture('packet_out'), 16, 0x100), code: OFPBRC.BAD_LEN },
  { name: 'table_features property running past the entry', bytes: withU16(fixture('table_features_reply'), 16 + 64 + 2, 40), code: OFPBRC.BAD_LEN },
  { name: 'table_features entry length under 64', bytes: withU16(fixture('table_features_reply'), 16, 56), code: OFPBRC.BAD_LEN },
  { name: 'queue property shorter than its header', bytes: withU16(fixture('queue_get_config_reply'), 16 + 16 + 2, 4), code: OFPBRC.BAD_LEN },
  { name: 'queue length lying', bytes: withU16(fixture('queue_get_config_reply'), 16 + 8, 64), code: OFPBRC.BAD_LEN },
  { name: 'flow_mod with a lying match length', bytes: withU16(flowMod, 50, 200) },
  { name: 'flow_mod cut inside its fixed part', bytes: withU16(flowMod.subarray(0, 40), 2, 40), code: OFPBRC.BAD_LEN },
  { name: 'bundle_add with a 3-byte embedded message', bytes: bytes(bundleHead(32), 4, 2, 0, 3, 0, 0, 0, 1), onf: ONFERR_ET_BUNDLE.MSG_BAD_LEN },
  { name: 'bundle_add whose embedded length overruns', bytes: bytes(bundleHead(32), header(2, 16, 1)), onf: ONFERR_ET_BUNDLE.MSG_BAD_LEN },
  { name: 'bundle_add with garbage instead of a message', bytes: bytes(bundleHead(32), 0xde, 0xad, 0, 8, 0xbe, 0xef, 0, 0), onf: ONF_BUNDLE_BAD_VERSION },
  { name: 'bundle_add embedding a message of another xid', bytes: bytes(bundleHead(32), header(14, 8, 2)), onf: ONFERR_ET_BUNDLE.MSG_BAD_XID },
  { name: 'bundle_add with an unknown embedded type', bytes: bytes(bundleHead(32), header(99, 8, 1)), onf: ONFERR_ET_BUNDLE.MSG_UNSUP },
  { name: 'bundle_add embedding a truncated flow_mod', bytes: bytes(bundleHead(24 + 16), header(14, 16, 1), zeros(8)), onf: ONFERR_ET_BUNDLE.MSG_UNSUP },
  { name: 'bundle_add embedding an echo_request (not bundlable)', bytes: bytes(bundleHead(24 + 9 + 7), header(2, 9, 1), 0, zeros(7)), onf: ONFERR_ET_BUNDLE.MSG_UNSUP },
  { name: 'bundle_add without an embedded message', bytes: bytes(bundleHead(24)), onf: ONFERR_ET_BUNDLE.MSG_BAD_LEN },
  { name: 'bundle_control with properties not in 8-byte units', bytes: bytes(header(4, 28, 1), u32(0x4f4e4600), u32(2300), u32(1), u16(0), u16(1), zeros(4)), code: OFPBRC.BAD_LEN },
  { name: 'bundle_control cut short', bytes: bytes(header(4, 20, 1), u32(0x4f4e4600), u32(2300), u32(1)), code: OFPBRC.BAD_LEN },
];

describe('malformed input', () => {
  for (const bad of BAD) {
    it(bad.name, () => {
      let err: unknown;
      try {
        decodeMessage(bad.bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      if (bad.onf !== undefined) expect([(err as CodecError).ofpType, (err as CodecError).ofpCode, (err as CodecError).experimenter]).toEqual([OFPET.EXPERIMENTER, bad.onf, 0x4f4e4600]);
      if (bad.code !== undefined) {
        expect((err as CodecError).ofpType).toBe(bad.type ?? OFPET.BAD_REQUEST);
        expect({ code: (err as CodecError).ofpCode, message: (err as Error).message }).toMatchObject({ code: bad.code });
      }
    });
  }

  it('random bytes only ever raise CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(60), (body, t) => {
        const b = Uint8Array.from([4, t, ...u16(body.length + 8), 0, 0, 0, 1, ...body]);
        try {
          decodeMessage(b);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('corrupted fixtures only ever raise CodecError, and what decodes re-encodes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIXTURES.map((f) => f.bytes)), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (orig, flips) => {
        const b = Uint8Array.from(orig);
        for (const [at, v] of flips) {
          const i = 8 + (at % Math.max(1, b.length - 8));
          if (i < b.length) b[i] = v;
        }
        let m;
        try {
          m = decodeMessage(b);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
          return;
        }
        // Padding is not kept, so only the re-decoded message must agree.
        expect(decodeMessage(new Uint8Array(encodeMessage(m)))).toEqual(m);
      }),
      { numRuns: 3000 },
    );
  });

  it('u64 helper sanity', () => {
    expect(u64(0x0102030405060708n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
