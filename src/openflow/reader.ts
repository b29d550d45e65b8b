import { CodecError } from './errors.js';
import { OFPET, OFPBRC } from './consts.js';

/**
 * A bounds-checked cursor over a byte range. Every read checks `pos + n <= end` in one place (`need`), and
 * byte payloads come back as `subarray` views, never copies. The DataView is built at `buf.byteOffset`, so pooled
 * Node Buffers work.
 */
export class Reader {
  readonly view: DataView;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end: number = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new RangeError('Reader: bad range');
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a CodecError (default BAD_REQUEST/BAD_LEN) unless `n` more bytes are available. */
  need(n: number, what: string, ofpType: number = OFPET.BAD_REQUEST, ofpCode: number = OFPBRC.BAD_LEN): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new CodecError(`${what}: needs ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`, ofpType, ofpCode, this.pos);
    }
  }

  u8(): number {
    this.need(1, 'u8');
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, 'u64');
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, what = 'padding'): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A child reader over the next `n` bytes; this reader moves past them. */
  sub(n: number, what = 'body', ofpType: number = OFPET.BAD_REQUEST, ofpCode: number = OFPBRC.BAD_LEN): Reader {
    this.need(n, what, ofpType, ofpCode);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** A NUL-padded fixed-size ASCII string (port names, descriptions). */
  fixedString(n: number, what = 'string'): string {
    const b = this.bytes(n, what);
    let len = b.indexOf(0);
    if (len < 0) len = n;
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
}
