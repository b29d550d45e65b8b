// Which controller leads. With SQLite there is one controller: it always leads (`soleLeadership`). With etcd every
// controller campaigns through etcd's election recipe (etcd3's `Election`: a key per candidate under
// `<prefix>election/controllers/`, attached to the candidate's lease; the candidate whose key has the lowest create
// revision leads, the others wait for the keys before theirs to go).
//
// The generation: the leader's election key's create revision, above the store's generation epoch
// (src/topology/generation.ts: epoch * 2^40 + revision; a restore raises the epoch, so a control plane moved to a new
// etcd cluster, whose revisions start again from 1, still claims generations above the ones the switches saw). Each
// new key gets a higher revision than every key before it, and a leader's key is the oldest one alive, so successive
// leaders have strictly increasing generations, and a deposed leader (its lease expired, its key gone) can never come
// back with its old one: it campaigns with a new key, behind the others. That is the OpenFlow generation id the
// leader sends with ROLE_REQUEST master (src/runtime/roles.ts), and followers send the leader's with ROLE_REQUEST
// slave (OVS refuses a lower one to both).
//
// Lease TTL, default 5 s: a dead leader's key stays until its lease expires, so the TTL bounds takeover. Smaller is
// faster but a leader stalled for a TTL (GC, a loaded machine, an etcd election of its own, ~1 s) loses its lease; the
// keep-alive runs every TTL/3. The switches keep forwarding throughout: only changes wait for the new leader.
//
// A leader steps down by itself when its lease cannot be confirmed: the probe reads its own key every TTL/5; when it
// is gone, or no probe has succeeded for TTL/2, it stops writing before etcd can elect another (TTL after its last
// keep-alive). Even if it did not, the switches fence it (docs/architecture.md).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Etcd3, type Campaign, type ElectionObserver, type IOptions, type Namespace } from 'etcd3';
import type { Logger } from 'pino';
import { GENERATION_EPOCH_META, generationOf, parseGenerationEpoch } from '../topology/generation.js';
import { ConfigError, type Config } from './config.js';

export type ControllerRole = 'leader' | 'follower';

export interface LeaderState {
  readonly role: ControllerRole;
  /** This controller's id. */
  readonly id: string;
  /** The leader's id, when one is known. */
  readonly leaderId?: string;
  /** The leader's generation (the store's epoch * 2^40 + its election key's create revision); 0 when none is known. */
  readonly generation: bigint;
  /** When this controller took its current role. */
  readonly since: Date;
}

export interface LeadershipEvents {
  change: [LeaderState];
  /** A probe's round trip to etcd, seconds. */
  roundTrip: [number];
}

export interface Leadership extends EventEmitter<LeadershipEvents> {
  readonly kind: 'sole' | 'etcd';
  state(): LeaderState;
  start(): Promise<void>;
  /** Leadership proved stale (a switch refused our generation, or said we are slave): give it up and campaign again. */
  stepDown(reason: string): void;
  /** Reads who leads now (a follower's generation proved stale at a switch). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export function defaultControllerId(): string {
  return `${hostname()}/${process.pid}`;
}

/** One controller (SQLite): always the leader, generation 0 (the runtime sends no role requests then). */
export function soleLeadership(id = defaultControllerId()): Leadership {
  const since = new Date();
  const state: LeaderState = { role: 'leader', id, leaderId: id, generation: 0n, since };
  return Object.assign(new EventEmitter<LeadershipEvents>(), {
    kind: 'sole' as const,
    state: () => state,
    start: async () => undefined,
    stepDown: () => undefined,
    refresh: async () => undefined,
    stop: async () => undefined,
  });
}

export interface EtcdLeadershipOptions {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly requestTimeoutMs: number;
  readonly leaseTtlSeconds: number;
  readonly id: string;
  readonly log: Logger;
}

const ELECTION = 'controllers';

export class EtcdLeadership extends EventEmitter<LeadershipEvents> implements Leadership {
  readonly kind = 'etcd' as const;
  private readonly client: Etcd3;
  private readonly electionNs: Namespace;
  private current: LeaderState;
  private campaign: Campaign | undefined;
  private campaignKey: string | undefined;
  private observer: ElectionObserver | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastProbeOk = 0;
  private probing = false;
  private stopped = false;
  /** Leadership changes seen by this controller (elected or stepped down). */
  changes = 0;

  constructor(private readonly opts: EtcdLeadershipOptions) {
    super();
    const timeout = opts.requestTimeoutMs;
    const clientOptions: IOptions = {
      hosts: [...opts.endpoints],
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      ...(opts.tls && {
        credentials: { rootCertificate: opts.tls.ca, ...(opts.tls.key && { privateKey: opts.tls.key }), ...(opts.tls.cert && { certChain: opts.tls.cert }) },
      }),
    };
    this.client = new Etcd3(clientOptions);
    this.electionNs = this.client.namespace(`${opts.prefix}election/${ELECTION}/`);
    this.current = { role: 'follower', id: opts.id, generation: 0n, since: new Date() };
  }

  state(): LeaderState {
    return this.current;
  }

  async start(): Promise<void> {
    // Who leads now (and their generation) before anything is said to a switch.
    await this.refreshLeader();
    this.observer = await this.client.namespace(this.opts.prefix).election(ELECTION).observe();
    this.observer.on('change', () => void this.refreshLeader().catch(() => undefined));
    this.observer.on('error', (e) => this.opts.log.warn({ err: e.message }, 'election observer failed; leader changes are seen by the probe only'));
    this.runCampaign();
    const every = Math.max(200, (this.opts.leaseTtlSeconds * 1000) / 5);
    this.probeTimer = setInterval(() => void this.probe(), every);
    this.probeTimer.unref();
  }

  stepDown(reason: string): void {
    if (this.stopped || this.current.role !== 'leader' || this.campaign === undefined) return;
    this.opts.log.warn({ reason, generation: String(this.current.generation) }, 'stepping down');
    const old = this.campaign;
    this.campaign = undefined;
    this.campaignKey = undefined;
    // Revoking the lease deletes our key: if we still led in etcd, the next candidate is elected at once.
    old.resign().catch(() => undefined);
    this.become({ ...this.current, role: 'follower' });
    this.retry();
  }

  async refresh(): Promise<void> {
    await this.refreshLeader();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.probeTimer);
    clearTimeout(this.retryTimer);
    const campaign = this.campaign;
    this.campaign = undefined;
    // Resigning hands leadership over now rather than after the lease's TTL.
    await campaign?.resign().catch(() => undefined);
    await this.observer?.cancel().catch(() => undefined);
    this.client.close();
  }

  private runCampaign(): void {
    if (this.stopped) return;
    const campaign = this.client.namespace(this.opts.prefix).election(ELECTION, this.opts.leaseTtlSeconds).campaign(this.opts.id);
    this.campaign = campaign;
    campaign.on('elected', () => void this.elected(campaign));
    campaign.on('error', (e: Error) => {
      if (this.campaign !== campaign) return;
      this.opts.log.warn({ err: e.message }, 'election campaign failed (lease lost or etcd unreachable)');
      this.campaign = undefined;
      this.campaignKey = undefined;
      campaign.resign().catch(() => undefined);
      if (this.current.role === 'leader') this.become({ ...this.current, role: 'follower' });
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.runCampaign(), 1000);
    this.retryTimer.unref();
  }

  private async elected(campaign: Campaign): Promise<void> {
    try {
      const key = await campaign.getCampaignKey();
      const [res, epoch] = await Promise.all([this.client.get(key).exec(), this.readEpoch()]);
      const kv = res.kvs[0];
      if (this.campaign !== campaign || this.stopped) return;
      if (!kv) throw new Error('our election key is gone (lease expired)');
      this.campaignKey = key;
      this.lastProbeOk = Date.now();
      this.become({ role: 'leader', id: this.opts.id, leaderId: this.opts.id, generation: generationOf(epoch, BigInt(kv.create_revision)), since: new Date() });
    } catch (e) {
      if (this.campaign !== campaign) return;
      this.opts.log.warn({ err: (e as Error).message }, 'elected, but could not read the election key; campaigning again');
      this.campaign = undefined;
      campaign.resign().catch(() => undefined);
      this.retry();
    }
  }

  /** The oldest key of the election: its value is the leader's id, its create revision (in the epoch) the generation. */
  private async refreshLeader(): Promise<void> {
    const [res, epoch] = await Promise.all([this.electionNs.getAll().sort('Create', 'Ascend').limit(1).exec(), this.readEpoch()]);
    const kv = res.kvs[0];
    if (!kv || this.current.role === 'leader') return;
    const generation = generationOf(epoch, BigInt(kv.create_revision));
    const leaderId = kv.value.toString();
    if (generation === this.current.generation && leaderId === this.current.leaderId) return;
    this.become({ ...this.current, leaderId, generation });
  }

  /** The store's generation epoch (0 until a restore sets one). */
  private async readEpoch(): Promise<number> {
    return parseGenerationEpoch((await this.client.get(`${this.opts.prefix}meta/${GENERATION_EPOCH_META}`).string()) ?? undefined);
  }

  /** Reads our own key (leader) or the election (follower): the etcd round trip, and the lease check. */
  private async probe(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    const t0 = process.hrtime.bigint();
    try {
      if (this.current.role === 'leader' && this.campaignKey !== undefined) {
        const res = await this.client.get(this.campaignKey).exec();
        this.emit('roundTrip', Number(process.hrtime.bigint() - t0) / 1e9);
        if (res.kvs.length === 0) this.stepDown('our election key is gone: the lease expired');
        else this.lastProbeOk = Date.now();
      } else {
        await this.refreshLeader();
        this.emit('roundTrip', Number(process.hrtime.bigint() - t0) / 1e9);
      }
    } catch (e) {
      if (this.current.role === 'leader' && Date.now() - this.lastProbeOk > (this.opts.leaseTtlSeconds * 1000) / 2) {
        this.stepDown(`etcd unreachable for over half the lease TTL: ${(e as Error).message}`);
      }
    } finally {
      this.probing = false;
    }
  }

  private become(next: LeaderState): void {
    const prev = this.current;
    this.current = next.role === prev.role ? { ...next, since: prev.since } : { ...next, since: new Date() };
    if (next.role !== prev.role) {
      this.changes++;
      this.opts.log.warn({ role: next.role, generation: String(next.generation), leader: next.leaderId }, next.role === 'leader' ? 'elected leader' : 'now a follower');
    }
    this.emit('change', this.current);
  }
}

/** The leadership the configuration implies: etcd's election with the etcd store, else the sole controller. */
export function configuredLeadership(store: Config['store'], log: Logger): Leadership {
  const etcd = store.backend === 'etcd' ? store.etcd : undefined;
  if (etcd === undefined) return soleLeadership();
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`store.etcd.tls.${what}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const { tls } = etcd;
  return new EtcdLeadership({
    endpoints: etcd.endpoints,
    prefix: etcd.prefix,
    requestTimeoutMs: etcd.requestTimeoutMs,
    leaseTtlSeconds: etcd.leaseTtlSeconds,
    id: etcd.controllerId ?? defaultControllerId(),
    log,
    ...(tls && { tls: { ca: read('ca', tls.ca), ...(tls.cert && { cert: read('cert', tls.cert) }), ...(tls.key && { key: read('key', tls.key) }) } }),
  });
}
