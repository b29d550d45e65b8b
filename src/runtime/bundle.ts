// ONF bundles (OpenFlow 1.3 extension, as OVS implements it): OPEN, many BUNDLE_ADDs, CLOSE, COMMIT. Adds are
// encoded straight into large buffers and written in big chunks while the caller is still producing them, with no
// promise per message; errors naming a message inside the bundle are routed back by xid.
import type { Buffer } from 'node:buffer';
import { OFP_MAX_MESSAGE_LEN, OFPBCT, OFPBF, type Message } from '../openflow/index.js';
import { ChunkPool } from './chunk-pool.js';
import { requestInfo, type OfConnection } from './connection.js';
import { BundleError, type SwitchError } from './errors.js';

export interface BundleOptions {
  /** Default ATOMIC | ORDERED. */
  readonly flags?: number;
  /** Timeout for OPEN/CLOSE/DISCARD replies (default 10 s). */
  readonly timeoutMs?: number;
  /** Timeout for the COMMIT reply (default 30 s + 1 ms per message: the switch applies everything then). */
  readonly commitTimeoutMs?: number;
}

const EMPTY = new Uint8Array(0);
/** Encoding chunk: large enough for few syscalls, small enough that the switch never waits for us to encode. */
const CHUNK_BYTES = 512 * 1024;
/** Keep at most this much queued in the socket while streaming adds; more only costs memory. */
const MAX_QUEUED = 4 * 1024 * 1024;
/** xids reserved per bundle: adds take consecutive xids from this block (a bundle never has more messages). */
const XID_BLOCK = 1 << 24;
/** Written chunks come back here for the next bundle (any connection's): at most 8 (4 MiB) kept. */
const chunks = new ChunkPool(CHUNK_BYTES, 8);

let nextBundleId = 1;

/** How a bundle writes its ops: straight into its chunk buffer, and as a message only to name a refused one. */
export interface BundleOpEncoder<T> {
  /** Writes the whole bundle_add for `op` (header included, at most OFP_MAX_MESSAGE_LEN bytes) at `off`; returns the end. */
  encode(op: T, xid: number, bundleId: number, bundleFlags: number, buf: Buffer, off: number): number;
  /** The message `op` stands for (used only to name it when the switch refuses it). */
  describe(op: T, xid: number): Message;
}

/** The general encoder: ops become messages, encoded by the connection's encoder. */
const viaMessages = <T>(conn: OfConnection, toMessage: (op: T, xid: number) => Message): BundleOpEncoder<T> => ({
  encode: (op, xid, bundleId, bundleFlags, buf, off) => off + conn.encoder.encodeInto({ type: 'bundle_add', xid, bundleId, bundleFlags, message: toMessage(op, xid), properties: EMPTY }, buf, off),
  describe: toMessage,
});

/**
 * One open bundle being filled: `add` encodes at once (the switch starts reading while we produce more), `pace`
 * waits when the socket has enough queued, `commit` closes and commits it. Any failure discards the bundle (the
 * switch applies nothing) and rejects with a BundleError naming the refused messages.
 */
export class BundleStream<T> {
  /** Taken from the pool at the first add after a flush (a bundle that adds nothing takes none). */
  private buf: Buffer | undefined;
  private off = 0;
  private readonly ops: T[] = [];
  private readonly failures: SwitchError[] = [];
  private readonly unwatch: () => void;
  private done = false;

  private constructor(
    private readonly conn: OfConnection,
    private readonly bundleId: number,
    private readonly bundleFlags: number,
    private readonly firstXid: number,
    private readonly encoder: BundleOpEncoder<T>,
    private readonly opts: BundleOptions,
  ) {
    this.unwatch = conn.watchErrors(firstXid, XID_BLOCK, (m) => {
      const op = this.ops[(m.xid - firstXid) >>> 0];
      this.failures.push(conn.switchError(m, op === undefined ? { type: 'bundle_add', xid: m.xid } : requestInfo(encoder.describe(op, m.xid), m.xid)));
    });
  }

  /** `ops`: how ops are written, or a function making each op's message (encoded by the codec). */
  static async open<T>(conn: OfConnection, ops: BundleOpEncoder<T> | ((op: T, xid: number) => Message), opts: BundleOptions = {}): Promise<BundleStream<T>> {
    const bundleId = nextBundleId++ >>> 0;
    const flags = opts.flags ?? OFPBF.ATOMIC | OFPBF.ORDERED;
    try {
      await control(conn, bundleId, flags, OFPBCT.OPEN_REQUEST, opts.timeoutMs);
    } catch (e) {
      throw new BundleError('open', [], e as Error);
    }
    return new BundleStream(conn, bundleId, flags, conn.allocXids(XID_BLOCK), typeof ops === 'function' ? viaMessages(conn, ops) : ops, opts);
  }

  get size(): number {
    return this.ops.length;
  }

  add(op: T): void {
    if (this.ops.length >= XID_BLOCK) throw new Error(`a bundle holds at most ${XID_BLOCK} messages`);
    // OVS requires the inner message's xid to equal the bundle_add's.
    const xid = (this.firstXid + this.ops.length) >>> 0;
    this.ops.push(op);
    // No message is longer than OFP_MAX_MESSAGE_LEN: with that much room left the next one always fits, so its
    // length need not be computed before encoding.
    if (this.buf && this.buf.length - this.off < OFP_MAX_MESSAGE_LEN) this.flushChunk();
    this.buf ??= chunks.take();
    this.off = this.encoder.encode(op, xid, this.bundleId, this.bundleFlags, this.buf, this.off);
  }

  /** Resolves when the socket has room again (call between batches of `add`). */
  async pace(): Promise<void> {
    await this.conn.waitForRoom(MAX_QUEUED);
  }

  private flushChunk(): void {
    const buf = this.buf;
    if (!buf) return;
    this.buf = undefined;
    const end = this.off;
    this.off = 0;
    if (end === 0) return chunks.give(buf);
    // Back to the pool once the socket has written it (or failed to: a closed connection fails commit()).
    this.conn.writeBulk(buf.subarray(0, end), () => chunks.give(buf)).catch(() => undefined);
  }

  async commit(): Promise<void> {
    this.done = true;
    try {
      this.flushChunk();
      try {
        await this.control(OFPBCT.CLOSE_REQUEST);
      } catch (e) {
        await this.discard();
        throw new BundleError('close', this.failures, e as Error);
      }
      // Errors for adds arrive before the CLOSE reply (the switch answers in order): a refused add means the
      // bundle is incomplete and must not be committed.
      if (this.failures.length > 0) {
        await this.discard();
        throw new BundleError('add', this.failures);
      }
      try {
        await this.control(OFPBCT.COMMIT_REQUEST, this.opts.commitTimeoutMs ?? 30_000 + this.ops.length);
      } catch (e) {
        await this.discard();
        throw new BundleError('commit', this.failures, e as Error);
      }
    } finally {
      this.unwatch();
    }
  }

  /** Drops the bundle (nothing of it is applied). Safe to call after a failed commit. */
  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      this.flushChunk();
      this.unwatch();
    }
    await this.discard();
  }

  private discard(): Promise<unknown> {
    return this.control(OFPBCT.DISCARD_REQUEST).catch(() => undefined);
  }

  private control(ctrlType: number, timeoutMs = this.opts.timeoutMs): Promise<Message> {
    return control(this.conn, this.bundleId, this.bundleFlags, ctrlType, timeoutMs);
  }
}

function control(conn: OfConnection, bundleId: number, bundleFlags: number, ctrlType: number, timeoutMs = 10_000): Promise<Message> {
  return conn.request({ type: 'bundle_control', bundleId, ctrlType, bundleFlags, properties: EMPTY }, { timeoutMs });
}

/** Sends `count` messages (`build(i, xid)` makes message i) as one bundle and commits it. */
export async function runBundle(conn: OfConnection, count: number, build: (i: number, xid: number) => Message, opts: BundleOptions = {}): Promise<void> {
  const b = await BundleStream.open(conn, build, opts);
  for (let i = 0; i < count; i++) {
    b.add(i);
    if ((i & 1023) === 1023) await b.pace();
  }
  await b.commit();
}
