// Cuts a byte stream (socket chunks) into whole OpenFlow frames by their header length. Knows nothing else about
// messages: decodeMessage checks versions, types and bodies.
import { CodecError } from './errors.js';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFPBRC, OFPET } from './consts.js';

export interface FrameSplitterOptions {
  /** Largest frame accepted, 8..65535 (default 65535). A longer header length is an error, not a wait. */
  readonly maxMessageSize?: number;
}

/**
 * Feed it chunks in arrival order; it yields each complete frame once. Frames lying wholly inside one chunk come
 * back as `subarray` views of that chunk (so don't reuse chunk buffers); a frame split across chunks is copied
 * into one buffer of exactly its length, allocated when its header is complete. Memory held never exceeds one
 * frame of at most `maxMessageSize` bytes, whatever the peer claims.
 *
 * After a CodecError the stream has lost sync; the splitter stays failed and rethrows on every push.
 */
export class FrameSplitter {
  readonly maxMessageSize: number;
  /** The first bytes of a header split across chunks. */
  private readonly head = new Uint8Array(OFP_HEADER_LEN);
  private headFill = 0;
  /** The frame being completed across chunks (its full length), and how much of it has arrived. */
  private partial: Uint8Array | undefined;
  private partialFill = 0;
  private failed: CodecError | undefined;

  constructor(opts: FrameSplitterOptions = {}) {
    const max = opts.maxMessageSize ?? OFP_MAX_MESSAGE_LEN;
    if (!Number.isInteger(max) || max < OFP_HEADER_LEN || max > OFP_MAX_MESSAGE_LEN) {
      throw new RangeError(`maxMessageSize must be an integer in ${OFP_HEADER_LEN}..${OFP_MAX_MESSAGE_LEN}`);
    }
    this.maxMessageSize = max;
  }

  /** Bytes received but not yet part of a yielded frame. */
  get buffered(): number {
    return this.partial ? this.partialFill : this.headFill;
  }

  private checkLength(len: number, offset: number): number {
    if (len < OFP_HEADER_LEN || len > this.maxMessageSize) {
      this.failed = new CodecError(
        `frame header claims length ${len} (allowed ${OFP_HEADER_LEN}..${this.maxMessageSize})`,
        OFPET.BAD_REQUEST,
        OFPBRC.BAD_LEN,
        offset,
      );
      throw this.failed;
    }
    return len;
  }

  /** Yields every frame completed by `chunk`. Consume the generator fully before the next push. */
  *push(chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (this.failed) throw this.failed;
    let pos = 0;
    const n = chunk.length;

    // Finish what the previous chunks left: first the header, then the frame.
    if (this.headFill > 0 || this.partial) {
      if (!this.partial) {
        const take = Math.min(OFP_HEADER_LEN - this.headFill, n);
        this.head.set(chunk.subarray(0, take), this.headFill);
        this.headFill += take;
        pos = take;
        if (this.headFill < OFP_HEADER_LEN) return;
        const len = this.checkLength((this.head[2]! << 8) | this.head[3]!, 2);
        this.partial = new Uint8Array(len);
        this.partial.set(this.head);
        this.partialFill = OFP_HEADER_LEN;
        this.headFill = 0;
      }
      const frame = this.partial;
      const take = Math.min(frame.length - this.partialFill, n - pos);
      frame.set(chunk.subarray(pos, pos + take), this.partialFill);
      this.partialFill += take;
      pos += take;
      if (this.partialFill < frame.length) return;
      this.partial = undefined;
      this.partialFill = 0;
      yield frame;
    }

    // Whole frames inside this chunk: views, no copies.
    while (n - pos >= OFP_HEADER_LEN) {
      const len = this.checkLength((chunk[pos + 2]! << 8) | chunk[pos + 3]!, pos + 2);
      if (n - pos < len) {
        this.partial = new Uint8Array(len);
        this.partial.set(chunk.subarray(pos, n));
        this.partialFill = n - pos;
        return;
      }
      yield chunk.subarray(pos, pos + len);
      pos += len;
    }

    if (pos < n) {
      this.head.set(chunk.subarray(pos, n));
      this.headFill = n - pos;
    }
  }

  /** All frames completed by `chunk`, as an array. */
  pushAll(chunk: Uint8Array): Uint8Array[] {
    return [...this.push(chunk)];
  }
}

/** Frames from an async stream of chunks (a net.Socket is one). Throws CodecError on a lying length. */
export async function* frames(source: AsyncIterable<Uint8Array>, opts?: FrameSplitterOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const splitter = new FrameSplitter(opts);
  for await (const chunk of source) yield* splitter.push(chunk);
}
