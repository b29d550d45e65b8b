// Large write buffers handed back once the socket has written them. A bundle streams its adds through 512 KiB chunks;
// allocating a new one per chunk (and one up front for every bundle, even a one-op bundle) is external memory
// V8 counts towards its collection triggers: 50 switches syncing at once allocated megabytes per turn and paid for
// it in scavenges inside sync chunks. A chunk comes back only from the write's callback (the kernel has the bytes),
// and at most `maxFree` are kept.
import { Buffer } from 'node:buffer';

export class ChunkPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly chunkBytes: number,
    private readonly maxFree: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.chunkBytes);
  }

  /** Gives `chunk` back: call only when nothing refers to its bytes any more. */
  give(chunk: Buffer): void {
    if (chunk.length === this.chunkBytes && this.free.length < this.maxFree) this.free.push(chunk);
  }

  get size(): number {
    return this.free.length;
  }
}
