// The Reader and Writer cursors: bounds, byte order, and the fixed-size strings of port and table names.
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../src/openflow/errors.js';
import { Reader } from '../../src/openflow/reader.js';
import { Writer } from '../../src/openflow/writer.js';

describe('Writer', () => {
  it('writes big-endian integers, at an offset into a pooled buffer', () => {
    const pool = Buffer.alloc(64, 0xee);
    const w = new Writer(pool.subarray(3, 3 + 23));
    w.u8(0x1ff);
    w.u16(0x12345);
    w.u32(0xdeadbeef);
    w.u64(0x0102030405060708n);
    w.u64(0n);
    expect(w.pos).toBe(23);
    expect(pool.subarray(3, 26).toString('hex')).toBe('ff2345deadbeef01020304050607080000000000000000');
    expect(pool[2]).toBe(0xee);
    expect(pool[26]).toBe(0xee);
    expect(w.view.getUint32(3)).toBe(0xdeadbeef);
  });

  it('throws RangeError instead of writing past the end', () => {
    const buf = new Uint8Array(4);
    const w = new Writer(buf, 2);
    expect(() => w.u32(1)).toThrow(RangeError);
    expect(() => w.u64(1n)).toThrow(RangeError);
    expect(() => w.bytes(new Uint8Array(3))).toThrow(RangeError);
    expect(() => w.zeros(3)).toThrow(RangeError);
    expect(() => w.patchU16(3, 1)).toThrow(RangeError);
    w.u16(0xabcd);
    expect(() => w.u8(0)).toThrow(RangeError);
    expect([...buf]).toEqual([0, 0, 0xab, 0xcd]);
  });

  it('fixedString is latin1-exact (byte = char code & 0xff), NUL-padded and always NUL-terminated', () => {
    const buf = new Uint8Array(8).fill(0xee);
    new Writer(buf).fixedString('é\u00ff\u0141ab', 6);
    expect([...buf]).toEqual([0xe9, 0xff, 0x41, 0x61, 0x62, 0, 0xee, 0xee]);
    const long = new Uint8Array(4);
    new Writer(long).fixedString('abcdef', 4);
    expect([...long]).toEqual([0x61, 0x62, 0x63, 0]);
  });
});

describe('Reader', () => {
  it('reads what Writer wrote, at an offset into a pooled buffer', () => {
    const pool = Buffer.alloc(40);
    const w = new Writer(pool, 5);
    w.u8(7);
    w.u16(0xbeef);
    w.u32(0x80000001);
    w.u64(0xfedcba9876543210n);
    w.u64(0x12345678n);
    const r = new Reader(new Uint8Array(pool.buffer, pool.byteOffset, pool.length), 5);
    expect([r.u8(), r.u16(), r.u32(), r.u64(), r.u64()]).toEqual([7, 0xbeef, 0x80000001, 0xfedcba9876543210n, 0x12345678n]);
    expect(r.pos).toBe(28);
  });

  it('child readers stay inside their range and report shortfalls as CodecError', () => {
    const r = new Reader(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7));
    r.skip(1);
    const c = r.sub(4);
    expect(r.pos).toBe(5);
    expect(c.u16()).toBe(0x0102);
    expect(() => c.u32()).toThrow(CodecError);
    expect(c.bytes(2)).toEqual(Uint8Array.of(3, 4));
    expect(() => c.u8()).toThrow(/needs 1 bytes/);
    expect(c.view.getUint8(7)).toBe(7);
  });

  it('bytes are views into the input (no copy), plain Uint8Arrays also when the input is a pooled Buffer', () => {
    const pool = Buffer.from('00112233445566', 'hex');
    const r = new Reader(pool.subarray(2));
    r.skip(1);
    const v = r.bytes(3);
    expect(v.constructor).toBe(Uint8Array);
    expect([...v]).toEqual([0x33, 0x44, 0x55]);
    pool[4] = 0xaa;
    expect(v[1]).toBe(0xaa);
  });

  it('fixedString keeps at most n - 1 characters, so what it reads always encodes back', () => {
    const bytes = Uint8Array.of(0x61, 0xe9, 0x62, 0x63);
    expect(new Reader(bytes).fixedString(4)).toBe('aéb');
    expect(new Reader(Uint8Array.of(0x61, 0, 0x62, 0)).fixedString(4)).toBe('a');
    const out = new Uint8Array(4);
    new Writer(out).fixedString(new Reader(bytes).fixedString(4), 4);
    expect(new Reader(out).fixedString(4)).toBe('aéb');
  });
});
