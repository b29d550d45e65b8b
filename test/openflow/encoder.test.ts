// MessageEncoder: the same bytes as encodeMessage / encodeMessageInto whatever room is left in its slab or the
// caller's buffer, and a message too long for OpenFlow refused without leaving anything behind.
import { describe, expect, it } from 'vitest';
import { OFP_MAX_MESSAGE_LEN } from '../../src/openflow/consts.js';
import { parseFlow } from '../../src/openflow/text/flow-text.js';
import { encodeMessage, encodeMessageInto, MessageEncoder } from '../../src/openflow/message.js';
import type { Message } from '../../src/openflow/types.js';

const flowMod = (i: number): Message => ({ ...parseFlow(`table=1,priority=${i},ip,nw_dst=10.0.${i >> 8}.${i & 255},actions=output:${i + 1}`), xid: i });
const echo = (n: number): Message => ({ type: 'echo_request', xid: 7, data: new Uint8Array(n).fill(0xab) });

describe('MessageEncoder', () => {
  it('encodes what encodeMessage does across slab boundaries (sized near a slab end, one pass elsewhere)', () => {
    const enc = new MessageEncoder();
    // 60 KB echoes fill slabs fast, so that flow mods land right before and after each slab's end.
    for (let i = 0; i < 200; i++) {
      const m = i % 3 === 0 ? echo(60_000) : flowMod(i);
      expect(enc.encode(m).equals(encodeMessage(m))).toBe(true); // a boolean: a deep diff of 60 KB is slow
    }
  });

  it('encodeInto writes what encodeMessageInto does, with and without room for the largest message', () => {
    const enc = new MessageEncoder();
    const m = flowMod(5);
    const len = encodeMessage(m).length;
    for (const size of [len, len + 1, OFP_MAX_MESSAGE_LEN, OFP_MAX_MESSAGE_LEN + 100]) {
      const a = new Uint8Array(size);
      const b = new Uint8Array(size);
      expect(enc.encodeInto(m, a, size - len)).toBe(len);
      expect(encodeMessageInto(m, b, size - len)).toBe(len);
      expect(a).toEqual(b);
    }
    expect(() => enc.encodeInto(m, new Uint8Array(len - 1), 0)).toThrow(RangeError);
  });

  it('refuses a message longer than OpenFlow allows and goes on encoding after it', () => {
    const enc = new MessageEncoder();
    const before = enc.encode(flowMod(1));
    expect(() => enc.encode(echo(OFP_MAX_MESSAGE_LEN))).toThrow(RangeError);
    expect(() => enc.encodeInto(echo(OFP_MAX_MESSAGE_LEN), new Uint8Array(4 * OFP_MAX_MESSAGE_LEN), 0)).toThrow(RangeError);
    expect(Buffer.from(enc.encode(flowMod(2)))).toEqual(encodeMessage(flowMod(2)));
    expect(Buffer.from(before)).toEqual(encodeMessage(flowMod(1)));
  });
});
