// Network applies, one at a time and coalesced. Every mutation commits to the store and then asks for its nodes to
// be applied; a single loop takes all requests waiting so far, reads the cloud once (after all of their commits)
// and applies it to the union of their nodes. So applies never run out of order (an older cloud can't overwrite
// a newer one on a switch), and 200 concurrent creates cost a handful of applies, not 200.
import type { Cloud } from '../topology/model.js';

export interface NetworkResult {
  /** Nodes whose flows are confirmed (barrier/bundle commit acknowledged). */
  readonly confirmed: string[];
  /** Nodes not connected or not confirmed in time: they get their flows when they (re)connect. */
  readonly pending: string[];
}

interface Waiter {
  readonly nodes: readonly string[];
  resolve(result: NetworkResult): void;
}

export class ApplyQueue {
  private waiting: Waiter[] = [];
  private running = false;

  constructor(
    private readonly snapshot: () => Cloud,
    private readonly apply: (cloud: Cloud, nodes: readonly string[]) => Promise<NetworkResult>,
    private readonly onError: (error: unknown, nodes: readonly string[]) => void,
  ) {}

  /** Resolves (never rejects) once a cloud at least as new as the caller's commit has been applied to `nodes`. */
  request(nodes: readonly string[]): Promise<NetworkResult> {
    return new Promise((resolve) => {
      this.waiting.push({ nodes, resolve });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        const nodes = [...new Set(batch.flatMap((w) => w.nodes))].sort();
        let result: NetworkResult;
        try {
          result = await this.apply(this.snapshot(), nodes);
        } catch (e) {
          // The change is committed; the runtime reconciles these nodes on their next apply or reconnect.
          this.onError(e, nodes);
          result = { confirmed: [], pending: nodes };
        }
        const confirmed = new Set(result.confirmed);
        for (const w of batch) {
          w.resolve({
            confirmed: w.nodes.filter((n) => confirmed.has(n)),
            pending: w.nodes.filter((n) => !confirmed.has(n)),
          });
        }
      }
    } finally {
      this.running = false;
    }
  }
}
