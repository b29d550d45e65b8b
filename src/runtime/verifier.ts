// Drift repair: every connected datapath is verified every so often through the very sync a reconnect runs (read the
// switch's flows, groups and meters, diff them against the desired state, send only the difference), so a flow
// deleted or changed on the switch by hand (`ovs-ofctl del-flows br0`) comes back without a reconnect.
//
// Each datapath has one timer of its own, set at connect and again when its last verification ended: a verification
// never overlaps the previous one, and the sync layer serialises it with every other sync of that connection
// (sync.ts). The delay is jittered (by default +-20 %) so switches that connected together do not all dump their
// flow tables at the same moment; full syncs share the Controller's `maxConcurrentSyncs` slots with reconnects.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Datapath, DatapathRegistry } from './datapaths.js';
import { silentLogger } from './log.js';
import type { SyncStats } from './sync.js';

/** Default share of the interval each delay is moved by, up or down, at random. */
export const DEFAULT_VERIFY_JITTER = 0.2;

export interface VerifierOptions {
  /** Mean time between two verifications of one datapath; 0 turns verification off. */
  readonly intervalMs: number;
  /** Each delay is `intervalMs * (1 +- jitter)`, uniformly (default 0.2; 0..0.9). */
  readonly jitter?: number;
  /** Whether the datapath has a desired state of ours (the Controller's `manages`); others are never verified. */
  readonly manages?: (dpid: bigint) => boolean;
  /** A name for the datapath in log lines (its node); default its datapath id. */
  readonly nameOf?: (dpid: bigint) => string | undefined;
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** What the verifier needs of the Controller: its datapaths, and a full sync of one. */
export interface Verifiable {
  readonly datapaths: Pick<DatapathRegistry, 'on' | 'off' | 'get' | 'list'>;
  resync(dpid: bigint, opts: { source: 'switch' }): Promise<SyncStats>;
}

export interface VerifierEvents {
  /**
   * A verification ended; `repaired` is the number of flow, group and meter mods that put back drift (0: none):
   * changes of the desired state the same sync carried are not counted (`SyncStats.drift`).
   */
  verified: [Datapath, SyncStats, repaired: number];
  verifyFailed: [Datapath, Error, durationMs: number];
}

interface Slot {
  timer?: NodeJS.Timeout;
}

export class FlowVerifier extends EventEmitter<VerifierEvents> {
  private readonly slots = new Map<Datapath, Slot>();
  private readonly log: Logger;
  private readonly jitter: number;
  private readonly random: () => number;
  private started = false;
  private readonly onConnected = (dp: Datapath): void => this.track(dp);
  private readonly onDisconnected = (dp: Datapath): void => this.untrack(dp);

  constructor(
    private readonly controller: Verifiable,
    private readonly opts: VerifierOptions,
  ) {
    super();
    if (!(opts.intervalMs >= 0) || !Number.isFinite(opts.intervalMs)) throw new RangeError(`verify interval must be a finite number >= 0, not ${opts.intervalMs}`);
    const jitter = opts.jitter ?? DEFAULT_VERIFY_JITTER;
    if (!(jitter >= 0 && jitter <= 0.9)) throw new RangeError(`verify jitter must be within 0..0.9, not ${jitter}`);
    this.jitter = jitter;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? silentLogger;
  }

  get enabled(): boolean {
    return this.opts.intervalMs > 0;
  }

  /** Starts verifying every datapath connected now and every one that connects later (a no-op when disabled). */
  start(): void {
    if (this.started || !this.enabled) return;
    this.started = true;
    this.controller.datapaths.on('connected', this.onConnected);
    this.controller.datapaths.on('disconnected', this.onDisconnected);
    for (const dp of this.controller.datapaths.list()) this.track(dp);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.controller.datapaths.off('connected', this.onConnected);
    this.controller.datapaths.off('disconnected', this.onDisconnected);
    for (const s of this.slots.values()) clearTimeout(s.timer);
    this.slots.clear();
  }

  /** The next delay: the interval moved by up to +-jitter. */
  nextDelayMs(): number {
    return Math.round(this.opts.intervalMs * (1 + this.jitter * (2 * this.random() - 1)));
  }

  /** Datapaths with a verification scheduled or running. */
  get tracked(): number {
    return this.slots.size;
  }

  private track(dp: Datapath): void {
    if (this.slots.has(dp)) return;
    const slot: Slot = {};
    this.slots.set(dp, slot);
    this.arm(dp, slot);
  }

  private untrack(dp: Datapath): void {
    const slot = this.slots.get(dp);
    if (!slot) return;
    clearTimeout(slot.timer);
    this.slots.delete(dp);
  }

  private arm(dp: Datapath, slot: Slot): void {
    slot.timer = setTimeout(() => void this.verify(dp, slot), this.nextDelayMs());
    slot.timer.unref();
  }

  private async verify(dp: Datapath, slot: Slot): Promise<void> {
    slot.timer = undefined;
    // A connection replaced or closed meanwhile: its successor has a slot of its own.
    if (this.slots.get(dp) !== slot || dp.connection.closed || this.controller.datapaths.get(dp.dpid) !== dp) {
      this.untrack(dp);
      return;
    }
    if (!this.managesDp(dp)) {
      this.arm(dp, slot); // no desired state (yet): look again later, it may become a node
      return;
    }
    const t0 = performance.now();
    try {
      const stats = await this.controller.resync(dp.dpid, { source: 'switch' });
      if (!this.started) return; // stopped meanwhile (shutdown): what it depends on may be gone
      const sent = stats.flowMods + stats.groupMods + stats.meterMods;
      // Without a cache of the last commit to tell drift from model changes, everything sent counts.
      const repaired = stats.drift ?? sent;
      if (repaired > 0) {
        this.log.warn(
          {
            dpid: dp.id,
            node: this.opts.nameOf?.(dp.dpid),
            repaired,
            sent,
            added: stats.added,
            modified: stats.modified,
            deleted: stats.deleted,
            groups: stats.groupMods,
            meters: stats.meterMods,
            ms: Math.round(stats.durationMs),
          },
          'flow drift repaired: the switch differed from its desired state',
        );
      }
      this.emitSafely('verified', dp, stats, repaired);
    } catch (e) {
      // The Controller has logged the failure (and closed the connection if it was a bug); the next try is in an interval.
      if (this.started) this.emitSafely('verifyFailed', dp, e as Error, performance.now() - t0);
    } finally {
      if (this.started && this.slots.get(dp) === slot) this.arm(dp, slot);
    }
  }

  private managesDp(dp: Datapath): boolean {
    try {
      return this.opts.manages?.(dp.dpid) ?? true;
    } catch {
      return false;
    }
  }

  private emitSafely<K extends keyof VerifierEvents>(event: K, ...args: VerifierEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: VerifierEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log.error({ dpid: args[0].id, err: (e as Error).stack ?? String(e) }, `internal error in a '${event}' listener`);
    }
  }
}
