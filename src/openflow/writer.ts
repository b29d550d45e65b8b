/**
 * A cursor that writes big-endian fields into a buffer sized in advance (callers compute `encodingLength` first).
 * Writing past the end throws a RangeError from DataView: that is a bug in an `encodingLength`, never bad input.
 */
export class Writer {
  readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos++, v);
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) throw new RangeError('Writer: overrun');
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  zeros(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('Writer: overrun');
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Overwrite a u16 written earlier (lengths known only after the body). */
  patchU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }

  /** A NUL-padded fixed-size ASCII string. */
  fixedString(s: string, n: number): void {
    const start = this.pos;
    this.zeros(n);
    const len = Math.min(s.length, n - 1);
    for (let i = 0; i < len; i++) this.buf[start + i] = s.charCodeAt(i) & 0x7f;
  }
}

/** Round `n` up to a multiple of 8 (OpenFlow's alignment for matches, actions and properties). */
export const pad8 = (n: number): number => (n + 7) & ~7;
