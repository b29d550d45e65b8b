import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ConnectionOptions } from './connection.js';
import { Connector, type ConnectorOptions } from './connector.js';
import { DatapathRegistry, type Datapath, type RegistryOptions } from './datapaths.js';
import { isCodecError } from '../openflow/index.js';
import { BundleError, ConnectionClosedError, ReplyLimitError, RequestTimeoutError, SendQueueFullError, SwitchError, SyncTimeoutError } from './errors.js';
import { withSyncWatchdog } from './sync-watchdog.js';
import { Listener } from './listener.js';
import { silentLogger } from './log.js';
import type { IdentityPolicy } from './peer-identity.js';
import { NotMasterError, type RoleKeeper } from './roles.js';
import { sync, type DesiredState, type SyncOptions, type SyncStats } from './sync.js';
import type { TlsFiles } from './tls.js';
import { JobQueue, nextTurn, TurnGate, type Pause } from './turns.js';

/** Full syncs running at once unless `maxConcurrentSyncs` says otherwise (the config's `openflow.maxConcurrentSyncs`). */
export const DEFAULT_MAX_CONCURRENT_SYNCS = 64;
/** How long one sync may take before it counts as stuck (see `syncTimeoutMs`). */
export const DEFAULT_SYNC_TIMEOUT_MS = 300_000;

export interface ControllerOptions {
  /** Passive endpoints: `tcp:[host:]port`, `unix:PATH`, `ssl:[host:]port`. */
  readonly listen?: readonly string[];
  /** Active endpoints (switches to connect to): `tcp:host:port`, `unix:PATH`, `ssl:host:port`. */
  readonly connect?: readonly string[];
  /** Certificates for every `ssl:` endpoint. */
  readonly tls?: TlsFiles;
  /** Refuse `ssl:` switches whose certificate does not name the datapath id they claim (peer-identity.ts). */
  readonly identity?: IdentityPolicy;
  /**
   * What datapath `dpid` should have. Called on every (re)connect and resync; may use `dp.portNo(name)`. Long work
   * in it should await `pause` between bounded chunks (turns.ts), as the sync's own work does.
   */
  readonly desiredState: (dpid: bigint, dp: Datapath, pause: Pause) => DesiredState | Promise<DesiredState>;
  /**
   * Whether datapath `dpid` has a desired state of ours (default: every datapath). One that has none is not synced
   * when it connects or its ports change (it holds no sync slot and gets no pipeline) but stays connected; an
   * explicit `resync` still syncs it (e.g. once its node has been added). At most `registry.admission.maxUnknown`
   * of them are admitted at once.
   */
  readonly manages?: (dpid: bigint) => boolean;
  /** Resync (from our cache) when the switch reports a port added, removed or changed (default true). */
  readonly resyncOnPortChange?: boolean;
  readonly connection?: ConnectionOptions;
  /** Connection limits and admission rules (impostor datapath ids, pinned addresses): see datapaths.ts. */
  readonly registry?: Pick<RegistryOptions, 'limits' | 'admission'>;
  readonly connector?: Omit<ConnectorOptions, 'tls' | 'onError'>;
  readonly sync?: Omit<SyncOptions, 'logger' | 'source' | 'pause'>;
  /**
   * Full syncs (those that read the switch's flow table, as on every connect) running at once; the others wait
   * in arrival order (default 64; Infinity starts every one at once). Syncs from our cache are not limited.
   */
  readonly maxConcurrentSyncs?: number;
  /**
   * A sync (full or from the cache) not done this long after it got its slot is stuck: its connection is closed (the
   * switch reconnects and is synced afresh) and its slot goes to the next one (default 300 s; a 100k-flow switch
   * syncs in seconds). Every wait inside a sync has a bound of its own; this one is for what nothing else bounds.
   */
  readonly syncTimeoutMs?: number;
  /**
   * Sync work gives way to switches that are connecting: its chunks never run in an event-loop turn in which a
   * connection was accepted, about 2 ms' worth run per turn while connections keep arriving, and about 10 ms' worth
   * otherwise (default true; see turns.ts for why).
   */
  readonly yieldToConnections?: boolean;
  /**
   * Several controllers (roles.ts): every datapath gets our role claim before anything else, and only one that granted
   * us master is ever synced; any other sync is refused (NotMasterError, counted). Unset: one controller, role equal.
   */
  readonly roles?: RoleKeeper;
  readonly logger?: Logger;
}

export interface ControllerEvents {
  synced: [Datapath, SyncStats];
  syncFailed: [Datapath, Error];
}

/**
 * The runtime's glue: listens and/or connects, registers datapaths, and makes every datapath equal to its
 * desired state whenever it (re)connects, so a restarted switch gets its whole pipeline back by itself.
 */
export class Controller extends EventEmitter<ControllerEvents> {
  readonly datapaths: DatapathRegistry;
  private readonly log: Logger;
  private readonly openListeners: Listener[] = [];
  private readonly connectors: Connector[] = [];
  private readonly gate: TurnGate | undefined;
  private readonly pause: Pause;
  private readonly fullSyncs: JobQueue;

  constructor(private readonly opts: ControllerOptions) {
    super();
    this.log = opts.logger ?? silentLogger;
    this.gate = opts.yieldToConnections === false ? undefined : new TurnGate();
    this.pause = this.gate?.pass ?? nextTurn;
    this.fullSyncs = new JobQueue(opts.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS);
    const admission = { ...opts.registry?.admission, ...(opts.manages && { isKnown: opts.manages }) };
    this.datapaths = new DatapathRegistry({
      ...opts.registry,
      admission,
      connection: { logger: this.log, ...opts.connection },
      logger: this.log,
      ...(opts.identity && { identity: opts.identity }),
    });
    this.datapaths.on('connected', (dp) => {
      if (opts.roles) void this.claimRole(dp, opts.roles);
      else if (this.manages(dp)) void this.syncNow(dp, 'switch');
      else this.log.info({ dpid: dp.id, peer: dp.connection.peer }, 'datapath has no desired state (no node): connected, not synced');
    });
    this.datapaths.on('rejected', (peer, err) => this.log.warn({ peer, err: err.message }, 'OpenFlow connection rejected'));
    if (opts.resyncOnPortChange ?? true) {
      for (const ev of ['portAdded', 'portRemoved', 'portModified'] as const) {
        this.datapaths.on(ev, (dp) => {
          if (this.manages(dp)) void this.syncNow(dp, 'cache');
        });
      }
    }
  }

  async start(): Promise<void> {
    const onError = (err: Error): void => this.log.warn({ err: err.message }, 'OpenFlow transport error');
    try {
      for (const spec of this.opts.listen ?? []) {
        const l = await Listener.open(spec, (s) => this.adopt(s), { tls: this.opts.tls, onError });
        this.openListeners.push(l);
        this.log.info({ endpoint: l.address }, 'OpenFlow listening');
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    for (const spec of this.opts.connect ?? []) {
      const c = new Connector(spec, (s) => this.adopt(s), { ...this.opts.connector, tls: this.opts.tls, onError });
      this.connectors.push(c);
      c.start();
    }
  }

  /** Bound addresses of the listeners (real ports when 0 was asked for). */
  get addresses(): string[] {
    return this.openListeners.map((l) => l.address);
  }

  /**
   * Syncs datapath `dpid` with its desired state now. `source: 'switch'` (default) re-reads the switch;
   * `'cache'` diffs against our last commit (fast, for incremental changes).
   */
  async resync(dpid: bigint, opts: { source?: 'switch' | 'cache' } = {}): Promise<SyncStats> {
    const dp = this.datapaths.get(dpid);
    if (!dp) throw new Error(`datapath ${dpid.toString(16).padStart(16, '0')} is not connected`);
    return this.syncDatapath(dp, opts.source ?? 'switch');
  }

  /** Resyncs every connected datapath (e.g. after the desired state changed), from our cache. */
  async resyncAll(opts: { source?: 'switch' | 'cache' } = {}): Promise<Map<bigint, SyncStats | Error>> {
    const dps = this.datapaths.list();
    const results = await Promise.allSettled(dps.map((dp) => this.syncDatapath(dp, opts.source ?? 'cache')));
    return new Map(dps.map((dp, i) => {
      const r = results[i]!;
      return [dp.dpid, r.status === 'fulfilled' ? r.value : (r.reason as Error)];
    }));
  }

  private adopt(socket: Socket): void {
    // Our HELLO goes out now (in adopt); the sync work queued meanwhile waits for a turn without a new connection.
    this.gate?.noteConnection();
    this.datapaths.adopt(socket).catch((e: Error) => {
      // adopt handles its own failures; this is the last guard so that nothing ends the process.
      this.log.error({ err: e.stack ?? String(e) }, 'internal error adopting an OpenFlow connection');
      socket.destroy();
    });
  }

  private manages(dp: Datapath): boolean {
    try {
      return this.opts.manages?.(dp.dpid) ?? true;
    } catch (e) {
      this.log.error({ dpid: dp.id, err: (e as Error).message }, 'could not tell whether the datapath has a desired state; not syncing it');
      return false;
    }
  }

  /** Sends our role claim to a datapath that connected, then syncs it if that made us its master. */
  private async claimRole(dp: Datapath, roles: RoleKeeper): Promise<void> {
    try {
      if ((await roles.assert(dp)) && this.manages(dp)) await this.syncNow(dp, 'switch');
    } catch (e) {
      this.log.warn({ dpid: dp.id, role: roles.current.role, err: (e as Error).message }, 'role request refused');
    }
  }

  private guardWrite(dp: Datapath): void {
    const roles = this.opts.roles;
    if (roles && !roles.mayWrite(dp)) throw roles.refuse(dp);
  }

  private async syncDatapath(dp: Datapath, source: 'switch' | 'cache'): Promise<SyncStats> {
    this.guardWrite(dp);
    const run = async (): Promise<SyncStats> => {
      // desiredState is the caller's work (a pipeline compile, say): it gets a turn of its own too.
      await this.pause();
      // The switch may have gone while this sync waited for its turn: no compile for nothing.
      if (dp.connection.closed) throw new ConnectionClosedError(dp.connection.closeReason ?? 'closed');
      const desired = await this.opts.desiredState(dp.dpid, dp, this.pause);
      // The claim may have changed while this sync waited: checked again right before the first message.
      this.guardWrite(dp);
      return sync(dp, desired, { ...this.opts.sync, source, pause: this.pause, logger: this.log });
    };
    try {
      const guarded = (): Promise<SyncStats> => withSyncWatchdog(dp.connection, run, this.opts.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS);
      const stats = await (source === 'switch' ? this.fullSyncs.run(guarded) : guarded());
      this.emit('synced', dp, stats);
      return stats;
    } catch (e) {
      const err = e as Error;
      if (isExpectedSyncError(err)) this.log.error({ dpid: dp.id, err: err.message }, 'datapath sync failed');
      else {
        // A bug (ours, the desired-state callback's, a 'synced' listener's): this connection goes, the switch
        // reconnects and is synced afresh; nothing else is affected.
        this.log.error({ dpid: dp.id, err: err.stack ?? String(err) }, 'internal error syncing a datapath; closing its connection');
        dp.connection.close(`internal error in sync: ${err.message}`, err);
      }
      try {
        this.emit('syncFailed', dp, err);
      } catch (le) {
        this.log.error({ dpid: dp.id, err: (le as Error).stack ?? String(le) }, "internal error in a 'syncFailed' listener");
      }
      throw err;
    }
  }

  private async syncNow(dp: Datapath, source: 'switch' | 'cache'): Promise<void> {
    await this.syncDatapath(dp, source).catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const c of this.connectors.splice(0)) c.stop();
    await Promise.all(this.openListeners.splice(0).map((l) => l.close()));
    this.datapaths.closeAll();
  }
}

/** Failures a sync meets in normal life (the switch refused, went away, was slow or sent too much); anything else is a bug. */
function isExpectedSyncError(e: Error): boolean {
  return (
    e instanceof SwitchError ||
    e instanceof NotMasterError ||
    e instanceof BundleError ||
    e instanceof ConnectionClosedError ||
    e instanceof RequestTimeoutError ||
    e instanceof SendQueueFullError ||
    e instanceof ReplyLimitError ||
    e instanceof SyncTimeoutError ||
    isCodecError(e)
  );
}
