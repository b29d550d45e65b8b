// Several controllers on one etcd store: what leadership (leadership.ts) means for the rest of the process.
//
// - The role claim: the leader claims OpenFlow master with its generation, followers claim slave with the leader's
//   (src/runtime/roles.ts); the runtime sends the claim to every switch before anything else and refuses any sync
//   of a switch that did not grant us master.
// - Takeover: on becoming leader, master to every switch, then the normal verify path (a full sync: read the
//   switch's flows, diff, send only the difference), so a switch already right gets 0 flow mods.
// - Changes made through another controller's API reach us through the store's watch: the leader syncs them to the
//   switches (from its cache: only the difference) and provisions; a follower compiles the new cloud's index so that
//   a takeover starts from a warm pipeline.
// - A switch that says our generation is stale, or refuses a flow mod because we are its slave, means someone newer
//   leads: step down.
import type { Logger } from 'pino';
import { isSlaveRefusal, type StaleGenerationError, type Controller, type Datapath, type RoleKeeper } from '../runtime/index.js';
import type { LeaderState, Leadership } from './leadership.js';

export interface ControlPlaneOptions {
  readonly leadership: Leadership;
  readonly roles: RoleKeeper;
  readonly controller: Controller;
  /** Whether a datapath belongs to a node (only those are synced). */
  readonly manages: (dpid: bigint) => boolean;
  /** The cloud's revision (a number that changes whenever the cloud does). */
  readonly revision: () => number;
  /** Subscribes to the store's changes, whoever made them (the etcd watch); returns the unsubscribe function. */
  readonly onStoreChange?: (listener: () => void) => () => void;
  /** Compiles the current cloud (a follower keeps it warm). */
  readonly warm: () => void;
  /** Called when we lead and the cloud changed, or we just became leader (provisioning). */
  readonly whileLeading?: () => void;
  readonly log: Logger;
}

export interface Takeover {
  readonly at: Date;
  readonly generation: bigint;
  /** Datapaths verified (a full sync each) and the flow mods that needed. */
  readonly datapaths: number;
  readonly flowMods: number;
  readonly failed: number;
  readonly durationMs: number;
}

export class ControlPlane {
  private readonly opts: ControlPlaneOptions;
  private unsubscribe: (() => void) | undefined;
  /** Role changes, one after another: the latest state wins. */
  private chain: Promise<void> = Promise.resolve();
  private seenRevision = -1;
  private syncing = false;
  private dirty = false;
  private stopped = false;
  /** The last takeover (becoming leader), for readyz and tests. */
  lastTakeover: Takeover | undefined;

  constructor(opts: ControlPlaneOptions) {
    this.opts = opts;
  }

  start(): void {
    const { leadership, roles, controller, log } = this.opts;
    leadership.on('change', (s) => this.adopt(s));
    roles.on('stale', (dp, err) => this.onStale(dp, err));
    controller.on('syncFailed', (dp, err) => {
      if (isSlaveRefusal(err)) {
        log.warn({ dpid: dp.id }, 'a switch refused our flow mod: another controller is its master');
        leadership.stepDown(`switch ${dp.id} says we are its slave`);
      }
    });
    this.unsubscribe = this.opts.onStoreChange?.(() => this.storeChanged());
    this.adopt(leadership.state());
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  private adopt(state: LeaderState): void {
    this.chain = this.chain.then(() => this.claim(state)).catch((e: Error) => this.opts.log.error({ err: e.stack ?? String(e) }, 'internal error changing roles'));
  }

  private async claim(state: LeaderState): Promise<void> {
    if (this.stopped) return;
    // Only the newest state matters: a change queued behind this one will claim again.
    if (state !== this.opts.leadership.state()) return;
    const { roles, controller, log } = this.opts;
    const role = state.role === 'leader' ? 'master' : 'slave';
    const now = roles.current;
    if (now.role === role && now.generationId === state.generation) return;
    const started = Date.now();
    await roles.set({ role, generationId: state.generation }, controller.datapaths.list());
    if (role === 'slave') {
      log.info({ generation: String(state.generation), leader: state.leaderId }, 'OpenFlow role slave claimed');
      return;
    }
    const dps = controller.datapaths.list().filter((dp) => roles.mayWrite(dp) && this.manages(dp));
    const results = await Promise.allSettled(dps.map((dp) => controller.resync(dp.dpid, { source: 'switch' })));
    let flowMods = 0;
    let failed = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') flowMods += r.value.flowMods + r.value.groupMods + r.value.meterMods;
      else failed++;
    }
    this.lastTakeover = { at: new Date(), generation: state.generation, datapaths: dps.length, flowMods, failed, durationMs: Date.now() - started };
    log.warn({ generation: String(state.generation), datapaths: dps.length, flowMods, failed, ms: this.lastTakeover.durationMs }, 'took over the switches: master claimed, flows verified');
    this.opts.whileLeading?.();
  }

  private onStale(dp: Datapath, err: StaleGenerationError): void {
    const { leadership, log } = this.opts;
    if (leadership.state().role === 'leader') {
      leadership.stepDown(err.message);
      return;
    }
    // A follower behind on who leads: read it again; the change re-sends slave with the newer generation.
    log.info({ dpid: dp.id, generation: String(err.generationId) }, 'slave claim stale: reading the leader again');
    leadership.refresh().catch(() => undefined);
  }

  private manages(dp: Datapath): boolean {
    try {
      return this.opts.manages(dp.dpid);
    } catch {
      return false;
    }
  }

  private storeChanged(): void {
    if (this.stopped) return;
    let revision: number;
    try {
      revision = this.opts.revision();
    } catch {
      return;
    }
    if (revision === this.seenRevision) return;
    this.seenRevision = revision;
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    void this.catchUp();
  }

  /** The leader syncs every switch with the changed cloud (from its cache); a follower only compiles it. */
  private async catchUp(): Promise<void> {
    this.syncing = true;
    try {
      do {
        this.dirty = false;
        // A turn of its own: a burst of watch events becomes one catch-up.
        await new Promise((r) => setImmediate(r));
        if (this.stopped) return;
        const { roles, controller } = this.opts;
        if (this.opts.leadership.state().role !== 'leader' || roles.current.role !== 'master') {
          this.opts.warm();
          continue;
        }
        const dps = controller.datapaths.list().filter((dp) => roles.mayWrite(dp) && this.manages(dp));
        await Promise.allSettled(dps.map((dp) => controller.resync(dp.dpid, { source: 'cache' })));
        this.opts.whileLeading?.();
      } while (this.dirty && !this.stopped);
    } catch (e) {
      this.opts.log.error({ err: (e as Error).stack ?? String(e) }, 'internal error catching up with the store');
    } finally {
      this.syncing = false;
    }
  }
}
