import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameSplitter, frames } from '../../src/openflow/framing.js';
import { CodecError } from '../../src/openflow/errors.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import { FIXTURES } from './msg-fixtures.js';
import { toHex } from '../helpers/hex.js';

const concat = (parts: readonly Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));

/** Cuts `stream` at the given (sorted, deduplicated) offsets. */
function cut(stream: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    chunks.push(stream.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

describe('FrameSplitter', () => {
  const all = FIXTURES.map((f) => f.bytes);
  const stream = concat(all);

  it('yields many frames from one chunk as views of it', () => {
    const s = new FrameSplitter();
    const out = s.pushAll(stream);
    expect(out.map(toHex)).toEqual(all.map(toHex));
    for (const f of out) expect(f.buffer).toBe(stream.buffer);
    expect(s.buffered).toBe(0);
  });

  it('reassembles frames split at every byte', () => {
    const s = new FrameSplitter();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...s.push(stream.subarray(i, i + 1)));
    expect(out.map(toHex)).toEqual(all.map(toHex));
  });

  it('any random chunking gives the same frames (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (offsets) => {
        const s = new FrameSplitter();
        const out: string[] = [];
        for (const c of cut(stream, offsets)) for (const f of s.push(c)) out.push(toHex(f));
        expect(out).toEqual(all.map(toHex));
        expect(s.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('every frame decodes', () => {
    for (const f of new FrameSplitter().push(stream)) expect(() => decodeMessage(f)).not.toThrow();
  });

  it('holds a partial frame until it completes', () => {
    const s = new FrameSplitter();
    const b = all[0]!;
    expect(s.pushAll(b.subarray(0, 3))).toEqual([]);
    expect(s.buffered).toBe(3);
    expect(s.pushAll(b.subarray(3, b.length - 1))).toEqual([]);
    expect(s.buffered).toBe(b.length - 1);
    expect(s.pushAll(b.subarray(b.length - 1)).map(toHex)).toEqual([toHex(b)]);
  });

  it('throws CodecError BAD_LEN for a length under 8, and stays failed', () => {
    const s = new FrameSplitter();
    const err = (() => {
      try {
        s.pushAll(Uint8Array.from([4, 0, 0, 7, 0, 0, 0, 0]));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).ofpCode).toBe(6);
    expect(() => s.pushAll(all[0]!)).toThrow(CodecError);
  });

  it('detects a lying length whose header is split across chunks', () => {
    const s = new FrameSplitter();
    expect(s.pushAll(Uint8Array.from([4, 0, 0]))).toEqual([]);
    expect(() => s.pushAll(Uint8Array.from([3, 0, 0, 0, 0]))).toThrow(CodecError);
  });

  it('enforces a configured maximum before buffering anything', () => {
    const s = new FrameSplitter({ maxMessageSize: 1024 });
    expect(() => s.pushAll(Uint8Array.from([4, 2, 0x04, 0x01, 0, 0, 0, 0]))).toThrow(/1025/);
    expect(() => new FrameSplitter({ maxMessageSize: 7 })).toThrow(RangeError);
    expect(() => new FrameSplitter({ maxMessageSize: 65536 })).toThrow(RangeError);
  });

  it('accepts a frame of exactly the maximum size, split', () => {
    const big = encodeMessage({ type: 'echo_request', xid: 1, data: new Uint8Array(65535 - 8).fill(7) });
    const s = new FrameSplitter();
    const out = [...s.push(big.subarray(0, 30000)), ...s.push(big.subarray(30000))];
    expect(out.length).toBe(1);
    expect(out[0]!.length).toBe(65535);
  });

  it('frames() works over an async iterable', async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const c of cut(stream, [1, 9, 100, 101, 2000])) yield c;
    }
    const out: string[] = [];
    for await (const f of frames(source())) out.push(toHex(f));
    expect(out).toEqual(all.map(toHex));
  });

  it('does not copy the backlog: 10,000 one-frame chunks are fast', () => {
    const one = all[0]!;
    const s = new FrameSplitter();
    const t = performance.now();
    let n = 0;
    for (let i = 0; i < 10_000; i++) {
      for (const _f of s.push(one.subarray(0, 5))) n++;
      for (const _f of s.push(one.subarray(5))) n++;
    }
    expect(n).toBe(10_000);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});
