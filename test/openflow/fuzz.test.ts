// Fuzzing decodeMessage and the frame splitter with mutations of real OVS vectors and random buffers. The only
// exception allowed out of the codec is CodecError; whatever decodes must encode again, to the same bytes or (where
// the input had nonzero padding the codec does not keep) to bytes that decode to the same message and are a fixed
// point. Seeded: FUZZ_SEED=<n> reproduces a run, FUZZ_N=<n> sets the count.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../src/openflow/errors.js';
import { FrameSplitter } from '../../src/openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import { capturedBytes, loadCapturedMessages, loadFlowVectors } from '../helpers/fixtures-vectors.js';
import { toHex } from '../helpers/hex.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2024) >>> 0;
const N = Number(process.env.FUZZ_N ?? 1_000_000);
const FRAMING_N = Number(process.env.FUZZ_FRAMING_N ?? 20_000);

/** mulberry32: small, fast, good enough for fuzzing, and reproducible from one u32. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(): { small: Uint8Array[]; large: Uint8Array[] } {
  const all: Uint8Array[] = [];
  const captured = loadCapturedMessages();
  for (const e of captured.exchanges) {
    for (const m of e.received) all.push(capturedBytes(m));
    for (const h of e.sent) all.push(new Uint8Array(Buffer.from(h, 'hex')));
  }
  for (const v of loadFlowVectors().positive) all.push(new Uint8Array(Buffer.from(v.hex, 'hex')));
  return { small: all.filter((b) => b.length <= 4096), large: all.filter((b) => b.length > 4096) };
}

const INTERESTING_U16 = [0, 1, 4, 7, 8, 9, 15, 16, 24, 0x7fff, 0x8000, 0xfff8, 0xffff];
const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

class Mutator {
  constructor(
    private readonly rnd: () => number,
    private readonly small: Uint8Array[],
    private readonly large: Uint8Array[],
  ) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick(): Uint8Array {
    // Large messages (TABLE_FEATURES parts, flow stats) are slow to decode: 1 pick in 200.
    if (this.large.length && this.int(200) === 0) return this.large[this.int(this.large.length)]!;
    return this.small[this.int(this.small.length)]!;
  }

  /** Sets the header length to the buffer length (most of the time), so the mutation reaches the body decoders. */
  fixLength(b: Uint8Array): Uint8Array {
    if (b.length >= 4 && b.length <= 0xffff && this.rnd() < 0.85) {
      b[2] = b.length >>> 8;
      b[3] = b.length & 0xff;
    }
    return b;
  }

  random(): Uint8Array {
    const len = this.int(8) === 0 ? this.int(8) : 8 + this.int(160);
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = this.int(256);
    if (len >= 2) {
      b[0] = this.int(10) === 0 ? this.int(256) : 4;
      b[1] = this.int(4) === 0 ? this.int(256) : this.int(30);
    }
    return this.fixLength(b);
  }

  mutate(): { kind: string; bytes: Uint8Array } {
    const src = this.pick();
    const k = this.int(9);
    const b = new Uint8Array(src);
    switch (k) {
      case 0: {
        const flips = 1 + this.int(8);
        for (let i = 0; i < flips; i++) b[this.int(b.length)]! ^= 1 << this.int(8);
        return { kind: 'bitflip', bytes: this.fixLength(b) };
      }
      case 1: {
        const n = 1 + this.int(4);
        for (let i = 0; i < n; i++) b[this.int(b.length)] = this.int(2) ? this.int(256) : INTERESTING_U8[this.int(INTERESTING_U8.length)]!;
        return { kind: 'bytes', bytes: this.fixLength(b) };
      }
      case 2:
        return { kind: 'truncate', bytes: this.fixLength(b.slice(0, this.int(b.length + 1))) };
      case 3: {
        // Rewrite a u16 (a length, mostly: they sit at even offsets) anywhere past the header.
        if (b.length >= 10) {
          const off = 8 + 2 * this.int((b.length - 8) >> 1);
          const v = this.int(2) ? INTERESTING_U16[this.int(INTERESTING_U16.length)]! : this.int(0x10000);
          if (off + 1 < b.length) {
            b[off] = v >>> 8;
            b[off + 1] = v & 0xff;
          }
        }
        return { kind: 'u16', bytes: this.fixLength(b) };
      }
      case 4: {
        // The outer header length itself, unfixed.
        const v = this.int(2) ? INTERESTING_U16[this.int(INTERESTING_U16.length)]! : b.length + this.int(17) - 8;
        if (b.length >= 4) {
          b[2] = (v >>> 8) & 0xff;
          b[3] = v & 0xff;
        }
        return { kind: 'outer-len', bytes: b };
      }
      case 5: {
        const other = this.pick();
        const cut = this.int(b.length + 1);
        const from = this.int(other.length + 1);
        const s = new Uint8Array(Math.min(0xffff, cut + other.length - from));
        s.set(b.subarray(0, Math.min(cut, s.length)));
        if (s.length > cut) s.set(other.subarray(from, from + s.length - cut), cut);
        return { kind: 'splice', bytes: this.fixLength(s) };
      }
      case 6: {
        // Insert or delete a few bytes in the middle (shifts every later field).
        const at = this.int(b.length + 1);
        const n = 1 + this.int(8);
        if (this.int(2) && b.length > n) {
          const d = new Uint8Array(b.length - Math.min(n, b.length - at));
          d.set(b.subarray(0, at));
          d.set(b.subarray(at + n), at);
          return { kind: 'delete', bytes: this.fixLength(d) };
        }
        const d = new Uint8Array(Math.min(0xffff, b.length + n));
        d.set(b.subarray(0, at));
        for (let i = 0; i < n && at + i < d.length; i++) d[at + i] = this.int(256);
        d.set(b.subarray(at, at + d.length - at - n), at + n);
        return { kind: 'insert', bytes: this.fixLength(d) };
      }
      case 7: {
        // Zero or 0xff a run (lengths become 0 / huge, padding becomes nonzero).
        const at = this.int(b.length);
        const n = 1 + this.int(16);
        b.fill(this.int(2) ? 0 : 0xff, at, at + n);
        return { kind: 'fill', bytes: this.fixLength(b) };
      }
      default:
        return { kind: 'random', bytes: this.random() };
    }
  }
}

/** The first few offsets where a and b differ. */
function diffOffsets(a: Uint8Array, b: Uint8Array): string {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < 4; i++) if (a[i] !== b[i]) out.push(i);
  return out.join(',');
}


describe('fuzz', () => {
  it(`decodeMessage: ${N} mutated and random buffers throw only CodecError; what decodes re-encodes`, () => {
    const { small, large } = corpus();
    const m = new Mutator(prng(SEED), small, large);
    const start = Date.now();
    const byKind = new Map<string, { n: number; ok: number }>();
    const codes = new Map<string, number>();
    const foreign: string[] = [];
    const encodeFailures: string[] = [];
    const mismatches: string[] = [];
    const normalisedExamples: string[] = [];
    let normalised = 0;
    let ok = 0;
    let slowest = 0;
    let slowestHex = '';
    for (let i = 0; i < N; i++) {
      const { kind, bytes } = m.mutate();
      const k = byKind.get(kind) ?? { n: 0, ok: 0 };
      byKind.set(kind, k);
      k.n++;
      const t0 = performance.now();
      let msg;
      try {
        msg = decodeMessage(bytes);
      } catch (e) {
        if (e instanceof CodecError) {
          const key = `${e.ofpType}/${e.ofpCode}`;
          codes.set(key, (codes.get(key) ?? 0) + 1);
        } else if (foreign.length < 10) foreign.push(`#${i} ${kind} ${String(e)} ${toHex(bytes)}`);
        continue;
      } finally {
        const dt = performance.now() - t0;
        if (dt > slowest) {
          slowest = dt;
          slowestHex = toHex(bytes).slice(0, 64);
        }
      }
      ok++;
      k.ok++;
      let again: Uint8Array;
      try {
        again = new Uint8Array(encodeMessage(msg));
      } catch (e) {
        if (encodeFailures.length < 10) encodeFailures.push(`#${i} ${kind} ${msg.type} ${String(e)} ${toHex(bytes)}`);
        continue;
      }
      if (Buffer.compare(again, bytes) === 0) continue;
      // Bytes the codec does not keep (padding, bytes after a string's NUL) come back as zeros. Tolerated when
      // the re-encoded bytes mean the same and are a fixed point; anything else is a bug.
      normalised++;
      if (normalisedExamples.length < 5) normalisedExamples.push(`${msg.type} @${diffOffsets(bytes, again)}: ${toHex(bytes).slice(0, 160)}`);
      try {
        const msg2 = decodeMessage(again);
        const again2 = encodeMessage(msg2);
        if (!isDeepStrictEqual(msg2, msg) || Buffer.compare(again2, again) !== 0) throw new Error('not the same message');
      } catch (e) {
        if (mismatches.length < 10) mismatches.push(`#${i} ${kind} ${msg.type} ${String(e)} in=${toHex(bytes)} out=${toHex(again)}`);
      }
    }
    const secs = (Date.now() - start) / 1000;
    console.log(
      `fuzz seed=0x${SEED.toString(16)} n=${N} decoded=${ok} (${((100 * ok) / N).toFixed(1)}%) in ${secs.toFixed(1)} s; ` +
        `slowest decode ${slowest.toFixed(2)} ms (${slowestHex}...)\n` +
        `  by mutation: ${[...byKind].map(([k, v]) => `${k} ${v.ok}/${v.n}`).join(', ')}\n` +
        `  re-encoded with zeroed padding: ${normalised}, e.g.\n    ${normalisedExamples.join('\n    ')}\n` +
        `  CodecError type/code: ${[...codes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' ')}`,
    );
    expect(foreign, 'non-CodecError exceptions (seed, #iteration, input)').toEqual([]);
    expect(encodeFailures, 'encode threw for a decoded message').toEqual([]);
    expect(mismatches, 'encode(decode(b)) is not the same message as b').toEqual([]);
    expect(ok).toBeGreaterThan(N / 100);
  }, 600_000);

  it(`FrameSplitter: ${FRAMING_N} streams of mutated frames in random chunks throw only CodecError`, () => {
    const { small, large } = corpus();
    const rnd = prng(SEED ^ 0x9e3779b9);
    const m = new Mutator(rnd, small, large);
    let frames = 0;
    let failedStreams = 0;
    const foreign: string[] = [];
    for (let s = 0; s < FRAMING_N; s++) {
      const parts = Array.from({ length: 1 + m.int(6) }, () => (m.int(3) ? m.pick() : m.mutate().bytes));
      const stream = Buffer.concat(parts);
      const sp = new FrameSplitter();
      let pos = 0;
      try {
        while (pos < stream.length) {
          const n = 1 + m.int(m.int(4) ? 64 : 4096);
          for (const f of sp.push(stream.subarray(pos, pos + n))) {
            frames++;
            expect(f.length).toBe((f[2]! << 8) | f[3]!);
            try {
              decodeMessage(f);
            } catch (e) {
              if (!(e instanceof CodecError)) throw e;
            }
          }
          pos += n;
        }
      } catch (e) {
        if (e instanceof CodecError) failedStreams++;
        else if (foreign.length < 10) foreign.push(`stream #${s}: ${String(e)}`);
      }
    }
    console.log(`framing seed=0x${(SEED ^ 0x9e3779b9) >>> 0} streams=${FRAMING_N} frames=${frames} failed streams=${failedStreams}`);
    expect(foreign).toEqual([]);
    expect(frames).toBeGreaterThan(FRAMING_N);
  }, 120_000);

  // Findings of earlier runs, kept as fixed cases so they stay fixed.
  describe('regressions found by fuzzing', () => {
    const rt = (h: string): string => toHex(encodeMessage(decodeMessage(new Uint8Array(Buffer.from(h, 'hex')))));

    it('a port name with a byte >= 0x80 survives decode + encode (Writer.fixedString must not mask to 7 bits)', () => {
      const captured = loadCapturedMessages().exchanges.find((e) => e.name === 'port_desc_reply')!;
      const b = Buffer.from(capturedBytes(captured.received[0]!));
      b[16 + 16] = 0xe9; // first byte of the first port's name
      expect(rt(b.toString('hex'))).toBe(b.toString('hex'));
    });

    it('NXAST_OUTPUT_REG whose src header has class 0xffff keeps its 32-bit layout', () => {
      // output_reg (subtype 15): ofs_nbits 0x00ff, src 0xffffffff, max_len 0xffff, 6 zero bytes. Only output_reg2
      // may carry a 64-bit experimenter field header; here the codec must not read 4 more bytes as an experimenter.
      const h =
        '040e0058000000de000000000000000000000000000000000000000000008000ffffffffffffffffffffffff0000000000010004' +
        '000000000004002000000000ffff001800002320000f00ffffffffffffff000000000000';
      let out: string | undefined;
      try {
        out = rt(h);
      } catch (e) {
        expect(e).toBeInstanceOf(CodecError); // rejecting it is fine too
        return;
      }
      expect(out).toBe(h);
    });
  });
});
