/**
 * A cursor that writes big-endian fields into a buffer. Every write checks that it fits: writing past the end throws
 * a RangeError, which is a bug in an `encodingLength` (or a buffer too small), never bad input.
 *
 * The integer writes store bytes straight into the Uint8Array; `view` is a DataView over the same bytes, built on
 * first use. The FLOW_MOD path (match, OXM, actions, instructions) does not go through the cursor: its put*
 * functions take a DataView and a position and return the new position, one setUint16/32 per field or pair of fields.
 */
export class Writer {
  #view: DataView | undefined;

  /** `view`, if given, must be a DataView over the same bytes as `buf` (same offsets). */
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    view?: DataView,
  ) {
    this.#view = view;
  }

  /** A DataView over `buf` (at `buf.byteOffset`, so pooled Node Buffers work). */
  get view(): DataView {
    return (this.#view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  u8(v: number): void {
    const p = this.pos;
    if (p >= this.buf.length) throw overrun();
    this.buf[p] = v;
    this.pos = p + 1;
  }

  u16(v: number): void {
    const p = this.pos;
    const b = this.buf;
    if (p + 2 > b.length) throw overrun();
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  u32(v: number): void {
    const p = this.pos;
    const b = this.buf;
    if (p + 4 > b.length) throw overrun();
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  /** A u64; zero (the usual cookie, mask and counter) is written without touching the bigint machinery. */
  u64(v: bigint): void {
    const p = this.pos;
    const b = this.buf;
    if (p + 8 > b.length) throw overrun();
    if (v === 0n) {
      for (let i = 0; i < 8; i++) b[p + i] = 0;
    } else {
      this.view.setBigUint64(p, v);
    }
    this.pos = p + 8;
  }

  bytes(src: Uint8Array): void {
    const p = this.pos;
    const b = this.buf;
    const n = src.length;
    if (p + n > b.length) throw overrun();
    // A plain loop beats TypedArray.set for the few bytes of a field or an address.
    if (n <= 32) for (let i = 0; i < n; i++) b[p + i] = src[i]!;
    else b.set(src, p);
    this.pos = p + n;
  }

  zeros(n: number): void {
    const p = this.pos;
    const b = this.buf;
    if (p + n > b.length) throw overrun();
    if (n <= 32) for (let i = 0; i < n; i++) b[p + i] = 0;
    else b.fill(0, p, p + n);
    this.pos = p + n;
  }

  /** Overwrite a u16 written earlier (lengths known only after the body). */
  patchU16(at: number, v: number): void {
    if (at < 0 || at + 2 > this.buf.length) throw overrun();
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  /**
   * A NUL-padded fixed-size string of `n` bytes, one byte per character (latin1: the low 8 bits of each char code,
   * so whatever Reader.fixedString decoded re-encodes to the same bytes), always NUL-terminated: at most n - 1
   * characters are kept.
   */
  fixedString(s: string, n: number): void {
    const start = this.pos;
    this.zeros(n);
    const len = Math.min(s.length, n - 1);
    for (let i = 0; i < len; i++) this.buf[start + i] = s.charCodeAt(i) & 0xff;
  }
}

const overrun = (): RangeError => new RangeError('Writer: overrun');

/** Round `n` up to a multiple of 8 (OpenFlow's alignment for matches, actions and properties). */
export const pad8 = (n: number): number => (n + 7) & ~7;

/**
 * Zero-fills `d` from `p` to `end` (`limit` is d.byteLength); returns `end`. Padding is 0..7 bytes: at most three
 * stores picked by the bits of the count, small enough for V8 to inline where a loop or a switch is not.
 */
export function putZeros(d: DataView, p: number, end: number, limit: number): number {
  room(limit, end);
  const n = end - p;
  if (n >= 8) return putZeroRun(d, p, end);
  if ((n & 4) !== 0) {
    d.setUint32(p, 0);
    p += 4;
  }
  if ((n & 2) !== 0) {
    d.setUint16(p, 0);
    p += 2;
  }
  if ((n & 1) !== 0) d.setUint8(p, 0);
  return end;
}

function putZeroRun(d: DataView, p: number, end: number): number {
  for (; p + 4 <= end; p += 4) d.setUint32(p, 0);
  for (; p < end; p++) d.setUint8(p, 0);
  return end;
}

/** Stores a big-endian u64 at `p`. Zero (the usual cookie and mask) is written without the bigint machinery. */
export function putU64(d: DataView, p: number, v: bigint): void {
  if (v === 0n) {
    d.setUint32(p, 0);
    d.setUint32(p + 4, 0);
  } else d.setBigUint64(p, v);
}

/**
 * Throws the RangeError a DataView store past `limit` (the DataView's byteLength, which the put* writers are handed
 * along with it: reading the getter is a call in Node 20) would throw, before anything is stored there. Each put*
 * writer checks the extent of what it writes with this. Letting a DataView store fail instead costs more than the
 * check: V8 deoptimizes the function and, from then on, calls the DataView method where it inlined it.
 */
export function room(limit: number, end: number): void {
  if (end > limit) throw overrun();
}

/**
 * A Writer at `p` over the bytes of `d`: for the put* writers to hand the rarer structures to Writer-based
 * encoders (one small view object per such structure; the hot ones store into `d` themselves).
 */
export function writerAt(d: DataView, p: number): Writer {
  return new Writer(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p, d);
}
