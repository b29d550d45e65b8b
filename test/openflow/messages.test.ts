import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, encodeMessageInto, messageEncodingLength, messageTypes } from '../../src/openflow/message.js';
import { FIXTURES, bytes, header, mpHeader, u16, u32 } from './msg-fixtures.js';
import type { Message } from '../../src/openflow/types.js';
import { toHex } from '../helpers/hex.js';


function ofpPrint(b: Uint8Array): string {
  const r = spawnSync('ovs-ofctl', ['ofp-print', toHex(b)], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

const hasOvs = ((): boolean => {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('message fixtures', () => {
  it('cover every message type in the registry', () => {
    const covered = new Set(FIXTURES.map((f) => f.msg.type));
    expect(messageTypes.filter((t) => !covered.has(t))).toEqual([]);
  });

  for (const f of FIXTURES) {
    describe(f.name, () => {
      it('encodes to the fixture bytes', () => {
        expect(toHex(encodeMessage(f.msg))).toBe(toHex(f.bytes));
        expect(messageEncodingLength(f.msg)).toBe(f.bytes.length);
      });

      it('decodes from the fixture bytes', () => {
        expect(decodeMessage(f.bytes)).toEqual(f.msg);
      });

      it('round-trips both ways and at an offset', () => {
        const decoded = decodeMessage(f.bytes);
        expect(decodeMessage(new Uint8Array(encodeMessage(decoded)))).toEqual(decoded);
        expect(toHex(encodeMessage(decoded))).toBe(toHex(f.bytes));
        const big = new Uint8Array(f.bytes.length + 13).fill(0xee);
        expect(encodeMessageInto(f.msg, big, 7)).toBe(f.bytes.length);
        expect(toHex(big.subarray(7, 7 + f.bytes.length))).toBe(toHex(f.bytes));
        expect(big[6]).toBe(0xee);
        expect(big[7 + f.bytes.length]).toBe(0xee);
        // Decoding from a view inside a larger (pooled-like) buffer.
        expect(decodeMessage(big.subarray(7, 7 + f.bytes.length))).toEqual(f.msg);
      });

      it.skipIf(!hasOvs)('is understood by ovs-ofctl ofp-print', () => {
        const out = ofpPrint(f.bytes);
        if (typeof f.ovs === 'string') expect(out).toContain(f.ovs);
        else expect(out).toMatch(f.ovs);
        if (!f.ovsRejects) expect(out).not.toContain('decode error');
      });
    });
  }
});

describe('struct sizes (OF1.3.5)', () => {
  const size = (type: string): number => FIXTURES.find((f) => f.msg.type === type)!.bytes.length;
  it('fixed-size messages', () => {
    expect(size('features_reply')).toBe(32); // ofp_switch_features
    expect(size('get_config_reply')).toBe(12); // ofp_switch_config
    expect(size('port_status')).toBe(80); // ofp_port_status (ofp_port is 64)
    expect(size('port_mod')).toBe(40); // ofp_port_mod
    expect(size('table_mod')).toBe(16); // ofp_table_mod
    expect(size('role_request')).toBe(24); // ofp_role_request
    expect(size('get_async_reply')).toBe(32); // ofp_async_config
    expect(size('desc_reply')).toBe(16 + 1056); // ofp_desc
    expect(size('aggregate_stats_reply')).toBe(16 + 24); // ofp_aggregate_stats_reply
    expect(size('table_stats_reply')).toBe(16 + 24); // ofp_table_stats
    expect(size('port_stats_reply')).toBe(16 + 112); // ofp_port_stats
    expect(size('queue_stats_reply')).toBe(16 + 40); // ofp_queue_stats
    expect(size('group_features_reply')).toBe(16 + 40); // ofp_group_features
    expect(size('meter_features_reply')).toBe(16 + 16); // ofp_meter_features
    expect(size('port_desc_reply')).toBe(16 + 64); // ofp_port
    expect(size('queue_get_config_request')).toBe(16);
    expect(size('barrier_request')).toBe(8);
  });
  it('messages with a match: fixed part as in the spec (empty match is 8 bytes)', () => {
    const emptyFlowMod = { ...(FIXTURES.find((f) => f.msg.type === 'flow_mod')!.msg as Extract<Message, { type: 'flow_mod' }>), match: [], instructions: [] };
    expect(messageEncodingLength(emptyFlowMod)).toBe(56); // ofp_flow_mod
    const pin = { ...(FIXTURES.find((f) => f.msg.type === 'packet_in')!.msg as Extract<Message, { type: 'packet_in' }>), match: [], data: new Uint8Array(0) };
    expect(messageEncodingLength(pin)).toBe(34); // ofp_packet_in: 32 + 2 bytes of pad
    const fr = { ...(FIXTURES.find((f) => f.msg.type === 'flow_removed')!.msg as Extract<Message, { type: 'flow_removed' }>), match: [] };
    expect(messageEncodingLength(fr)).toBe(56); // ofp_flow_removed
    expect(messageEncodingLength({ type: 'flow_stats_request', xid: 0, flags: 0, tableId: 0, outPort: 0, outGroup: 0, cookie: 0n, cookieMask: 0n, match: [] })).toBe(56);
    expect(messageEncodingLength({ type: 'flow_stats_reply', xid: 0, flags: 0, flows: [{ tableId: 0, durationSec: 0, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [], instructions: [] }] })).toBe(16 + 56); // ofp_flow_stats
    expect(messageEncodingLength({ type: 'packet_out', xid: 0, bufferId: 0, inPort: 0, actions: [], data: new Uint8Array(0) })).toBe(24); // ofp_packet_out
    expect(messageEncodingLength({ type: 'group_mod', xid: 0, command: 0, groupType: 0, groupId: 0, buckets: [{ weight: 0, watchPort: 0, watchGroup: 0, actions: [] }] })).toBe(16 + 16); // ofp_group_mod + ofp_bucket
    expect(messageEncodingLength({ type: 'meter_mod', xid: 0, command: 0, flags: 0, meterId: 0, bands: [] })).toBe(16); // ofp_meter_mod
    expect(messageEncodingLength({ type: 'table_features_reply', xid: 0, flags: 0, tables: [{ tableId: 0, name: '', metadataMatch: 0n, metadataWrite: 0n, config: 0, maxEntries: 0, properties: [] }] })).toBe(16 + 64); // ofp_table_features
  });
});

describe('decoding details', () => {
  it('returns byte payloads as views, not copies', () => {
    const f = FIXTURES.find((x) => x.msg.type === 'echo_request')!;
    const m = decodeMessage(f.bytes) as Extract<Message, { type: 'echo_request' }>;
    expect(m.data.buffer).toBe(f.bytes.buffer);
  });

  it('keeps a hello with a non-canonical bitmap raw (lossless)', () => {
    const b = bytes(header(0, 24, 1), [0, 1, 0, 12, 0, 0, 0, 0x10, 0, 0, 0, 0 /* two words, second zero */], [0, 0, 0, 0]);
    const m = decodeMessage(b);
    expect(m).toEqual({ type: 'hello', xid: 1, version: 4, extra: b.subarray(8) });
    expect(toHex(encodeMessage(m))).toBe(toHex(b));
  });

  it('keeps a hello body that is not elements at all (old versions allowed anything)', () => {
    const b = bytes(header(0, 11, 1, 1), [1, 2, 3]);
    expect(toHex(encodeMessage(decodeMessage(b)))).toBe(toHex(b));
  });

  it('accepts a multipart reply split across messages (flags kept)', () => {
    const f = FIXTURES.find((x) => x.msg.type === 'flow_stats_reply')!;
    expect((decodeMessage(f.bytes) as { flags: number }).flags).toBe(1);
  });

  it('decodes an embedded message of a bundle_add with its own xid', () => {
    const f = FIXTURES.find((x) => x.msg.type === 'bundle_add')!;
    const m = decodeMessage(f.bytes) as Extract<Message, { type: 'bundle_add' }>;
    expect((m.message as Message).type).toBe('flow_mod');
  });

  it('reads the multipart header before the body', () => {
    const b = bytes(mpHeader(19, 16, 1, 3, 1));
    expect(decodeMessage(b)).toEqual({ type: 'table_stats_reply', xid: 1, flags: 1, tables: [] });
  });

  it('refuses to encode more than 65535 bytes', () => {
    expect(() => encodeMessage({ type: 'echo_request', xid: 0, data: new Uint8Array(65536) })).toThrow(RangeError);
  });

  it('encodeMessageInto refuses a buffer without room', () => {
    expect(() => encodeMessageInto({ type: 'barrier_request', xid: 0 }, new Uint8Array(10), 3)).toThrow(RangeError);
  });

  it('has u16/u32 helpers that agree with the encoder', () => {
    expect(u16(0x1234)).toEqual([0x12, 0x34]);
    expect(u32(0xdeadbeef)).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });
});
