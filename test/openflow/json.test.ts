import { describe, expect, it } from 'vitest';
import { messageFromJSON, messageToJSON } from '../../src/openflow/text/json.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import { FIXTURES } from './msg-fixtures.js';
import { toHex } from '../helpers/hex.js';


describe('JSON form', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: message -> JSON -> message, and JSON is stable`, () => {
      const j = messageToJSON(f.msg);
      const text = JSON.stringify(j); // plain JSON: no bigints, no typed arrays
      const back = messageFromJSON(JSON.parse(text));
      expect(toHex(encodeMessage(back))).toBe(toHex(f.bytes));
      expect(JSON.stringify(messageToJSON(back))).toBe(text);
      expect(messageToJSON(decodeMessage(f.bytes))).toEqual(j);
    });
  }

  it('shows bigints as hex ids / decimal counters, bytes as hex, match fields in ovs-ofctl syntax', () => {
    const fm = FIXTURES.find((f) => f.msg.type === 'flow_mod')!.msg;
    expect(messageToJSON(fm)).toMatchObject({ type: 'flow_mod', cookie: '0x10', match: [{ field: 'in_port', value: '1' }] });
    const fr = FIXTURES.find((f) => f.msg.type === 'flow_removed')!.msg;
    expect(messageToJSON(fr)).toMatchObject({ packetCount: '3', byteCount: '300' });
    const echo = FIXTURES.find((f) => f.msg.type === 'echo_request')!.msg;
    expect(messageToJSON(echo)).toEqual({ type: 'echo_request', xid: 5, data: '616263' });
  });

  it('accepts hand-written JSON with defaults, numbers for bigints and masks in values', () => {
    const m = messageFromJSON({
      type: 'flow_mod',
      cookie: 5,
      cookieMask: '0',
      tableId: 0,
      command: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 10,
      bufferId: 0xffffffff,
      outPort: 0xffffffff,
      outGroup: 0xffffffff,
      flags: 0,
      match: [{ field: 'eth_type', value: '0x800' }, { field: 'ipv4_dst', value: '10.0.0.0/8' }],
      instructions: [{ type: 'write_metadata', metadata: '0x1', mask: '0xff' }],
    });
    expect(m).toMatchObject({ xid: 0, cookie: 5n, instructions: [{ metadata: 1n, mask: 0xffn }] });
    const match = (m as { match: readonly { field: string; mask?: Uint8Array }[] }).match;
    expect(match[1]!.mask).toEqual(Uint8Array.from([255, 0, 0, 0]));
    expect(messageFromJSON({ type: 'desc_request' })).toEqual({ type: 'desc_request', xid: 0, flags: 0 });
    // port_mod's mask is a plain number, not a bigint.
    expect(messageFromJSON({ type: 'port_mod', portNo: 1, hwAddr: 'aa:bb:cc:dd:ee:ff', config: 1, mask: 1, advertise: 0 })).toMatchObject({ mask: 1 });
  });

  it('keeps fields ovs-ofctl syntax cannot carry exactly as raw hex (lossless)', () => {
    // An all-ones mask (normalised away by the text syntax) still survives: value and mask are separate texts.
    const allOnes = { type: 'packet_in', xid: 0, bufferId: 0, totalLen: 0, reason: 0, tableId: 0, cookie: 0n, data: new Uint8Array(0), match: [{ field: 'metadata', value: new Uint8Array(8), mask: new Uint8Array(8).fill(0xff) }] } as const;
    expect(messageFromJSON(JSON.parse(JSON.stringify(messageToJSON(allOnes))))).toEqual(allOnes);
    // A value of the wrong width has no ovs-ofctl text: raw hex.
    const odd = { ...allOnes, match: [{ field: 'in_port', value: Uint8Array.from([0, 1]) }] };
    const j = messageToJSON(odd);
    expect(j).toMatchObject({ match: [{ field: 'in_port', raw: true, value: '0001' }] });
    expect(messageFromJSON(JSON.parse(JSON.stringify(j)))).toEqual(odd);
  });

  it('rejects bad input with TypeError', () => {
    expect(() => messageFromJSON({ type: 'nope' })).toThrow(TypeError);
    expect(() => messageFromJSON([])).toThrow(TypeError);
    expect(() => messageFromJSON({ type: 'echo_request', data: 'xyz' })).toThrow(TypeError);
    expect(() => messageFromJSON({ type: 'role_request', role: 1, generationId: '-1' })).toThrow(TypeError);
    expect(() => messageFromJSON({ type: 'flow_stats_request', match: [{ field: 'no_such_field', value: '1' }] })).toThrow(TypeError);
  });
});
