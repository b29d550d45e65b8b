import { CodecError } from './errors.js';
import { OFPET, OFPBRC } from './consts.js';

/**
 * A bounds-checked cursor over a byte range. Every read checks `pos + n <= end` before it reads, and byte payloads
 * come back as `subarray` views, never copies.
 *
 * The integer reads load bytes straight from the Uint8Array; `view` is a DataView over the same bytes (at
 * `buf.byteOffset`, so pooled Node Buffers work), built on first use and shared with child readers from `sub`:
 * decoding a message builds at most one.
 */
export class Reader {
  #view: DataView | undefined;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end: number = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new RangeError('Reader: bad range');
    this.pos = start;
  }

  get view(): DataView {
    return (this.#view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a CodecError (default BAD_REQUEST/BAD_LEN) unless `n` more bytes are available. */
  need(n: number, what: string, ofpType: number = OFPET.BAD_REQUEST, ofpCode: number = OFPBRC.BAD_LEN): void {
    if (n < 0 || this.pos + n > this.end) throw this.short(n, what, ofpType, ofpCode);
  }

  /** The error `need` throws; for callers that build `what` only when it is needed. */
  short(n: number, what: string, ofpType: number = OFPET.BAD_REQUEST, ofpCode: number = OFPBRC.BAD_LEN): CodecError {
    return new CodecError(`${what}: needs ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`, ofpType, ofpCode, this.pos);
  }

  u8(): number {
    const p = this.pos;
    if (p + 1 > this.end) throw this.short(1, 'u8');
    this.pos = p + 1;
    return this.buf[p]!;
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw this.short(2, 'u16');
    const b = this.buf;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw this.short(4, 'u32');
    const b = this.buf;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  u64(): bigint {
    const p = this.pos;
    if (p + 8 > this.end) throw this.short(8, 'u64');
    const b = this.buf;
    this.pos = p + 8;
    // Zero (cookies, masks, fresh counters) and values below 2^32 without the DataView's bigint path.
    const hi = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    const lo = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
    return this.view.getBigUint64(p);
  }

  /** The u16 at offset `at` of `buf`, without moving; for peeking at a TLV header the caller has bounds-checked. */
  u16At(at: number): number {
    const b = this.buf;
    if (at < 0 || at + 2 > b.length) throw new RangeError('Reader: peek outside the buffer');
    return (b[at]! << 8) | b[at + 1]!;
  }

  /** The u32 at offset `at` of `buf`, without moving (see u16At). */
  u32At(at: number): number {
    const b = this.buf;
    if (at < 0 || at + 4 > b.length) throw new RangeError('Reader: peek outside the buffer');
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number, what = 'bytes'): Uint8Array {
    const p = this.pos;
    if (n < 0 || p + n > this.end) throw this.short(n, what);
    this.pos = p + n;
    // A plain Uint8Array view, also when `buf` is a Node Buffer: Buffer#subarray builds a Buffer through the species
    // constructor, twice as slow, and payloads are typed Uint8Array anyway.
    const b = this.buf;
    return new Uint8Array(b.buffer, b.byteOffset + p, n);
  }

  skip(n: number, what = 'padding'): void {
    if (n < 0 || this.pos + n > this.end) throw this.short(n, what);
    this.pos += n;
  }

  /** A child reader over the next `n` bytes; this reader moves past them. */
  sub(n: number, what = 'body', ofpType: number = OFPET.BAD_REQUEST, ofpCode: number = OFPBRC.BAD_LEN): Reader {
    const p = this.pos;
    if (n < 0 || p + n > this.end) throw this.short(n, what, ofpType, ofpCode);
    const r = new Reader(this.buf, p, p + n);
    r.#view = this.#view;
    this.pos = p + n;
    return r;
  }

  /**
   * A NUL-padded fixed-size string (port, table names, descriptions), one character per byte (latin1). Like Open
   * vSwitch (ovs_strlcpy), at most n - 1 characters are kept, so the string always fits back with its NUL.
   */
  fixedString(n: number, what = 'string'): string {
    const b = this.bytes(n, what);
    let len = b.indexOf(0);
    if (len < 0 || len > n - 1) len = Math.max(n - 1, 0);
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
}
