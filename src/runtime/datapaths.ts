import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { encodeMessage, MessageEncoder, OFP_VERSION, OFPBRC, OFPET, OFPHFC, OFPPR, type MessageOf, type Port } from '../openflow/index.js';
import { admit, refusalText, type AdmissionRules, type RefusalReason } from './admission.js';
import { formatDpid, OfConnection, remoteAddressOf, type ConnectionOptions } from './connection.js';
import { silentLogger } from './log.js';
import { checkSocketIdentity, type IdentityPolicy } from './peer-identity.js';

/** A connected switch: its datapath id, its live connection and its ports, learnt from the switch by name. */
export class Datapath {
  private readonly byName = new Map<string, Port>();
  private readonly byNo = new Map<number, Port>();

  constructor(
    readonly dpid: bigint,
    readonly connection: OfConnection,
    readonly features: MessageOf<'features_reply'>,
    ports: readonly Port[],
  ) {
    for (const p of ports) this.setPort(p);
  }

  /** From accepting (or connecting) the socket to the end of the handshake, in milliseconds. */
  get handshakeMs(): number {
    const t = this.connection.timing;
    return (t.doneAt ?? t.openedAt) - t.openedAt;
  }

  /** 16 hex digits, as OVS prints it. */
  get id(): string {
    return formatDpid(this.dpid);
  }

  get ports(): readonly Port[] {
    return [...this.byNo.values()];
  }

  get portCount(): number {
    return this.byNo.size;
  }

  port(name: string): Port | undefined {
    return this.byName.get(name);
  }

  portByNumber(portNo: number): Port | undefined {
    return this.byNo.get(portNo);
  }

  /** The OpenFlow port number of interface `name`; throws if the switch has no such port. */
  portNo(name: string): number {
    const p = this.byName.get(name);
    if (!p) throw new Error(`datapath ${this.id} has no port named '${name}'`);
    return p.portNo;
  }

  /** Applies a PORT_STATUS; returns what happened to which port (the old port for deletes). */
  applyPortStatus(m: MessageOf<'port_status'>): { kind: 'added' | 'removed' | 'modified'; port: Port } {
    const old = this.byNo.get(m.port.portNo);
    if (m.reason === OFPPR.DELETE) {
      this.deletePort(m.port.portNo);
      return { kind: 'removed', port: old ?? m.port };
    }
    this.setPort(m.port);
    return { kind: m.reason === OFPPR.ADD || !old ? 'added' : 'modified', port: m.port };
  }

  private setPort(p: Port): void {
    const old = this.byNo.get(p.portNo);
    if (old && old.name !== p.name) this.byName.delete(old.name);
    const sameName = this.byName.get(p.name);
    if (sameName && sameName.portNo !== p.portNo) this.byNo.delete(sameName.portNo);
    this.byNo.set(p.portNo, p);
    this.byName.set(p.name, p);
  }

  private deletePort(portNo: number): void {
    const p = this.byNo.get(portNo);
    if (!p) return;
    this.byNo.delete(portNo);
    if (this.byName.get(p.name)?.portNo === portNo) this.byName.delete(p.name);
  }
}

export interface DatapathEvents {
  connected: [Datapath];
  /** Only for the datapath's current connection; a replaced connection closes silently. */
  disconnected: [Datapath, reason: string];
  portAdded: [Datapath, Port];
  portRemoved: [Datapath, Port];
  portModified: [Datapath, Port];
  /** A connection that failed before it became a datapath (handshake refused, no HELLO, garbage). */
  rejected: [peer: string, error: Error];
  /** A connection refused by the rules (limits at accept, admission after the handshake); `detail` is for logs. */
  refused: [peer: string, reason: RefusalReason, detail: string];
}

export interface ConnectionLimits {
  /** Connections at once, in their handshake or not (default 4096; mind `ulimit -n`). */
  readonly maxConnections?: number;
  /** Connections from one IP address still in their handshake (default 32). Unix-socket peers are not counted. */
  readonly maxPendingPerAddress?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 4096;
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 32;
/** More ports than OVS can have (its port numbers stop at 0xfeff): a peer announcing more is cut off. */
export const MAX_PORTS = 65536;
const EARLY_PORT_STATUS_MAX = 1024;

export interface RegistryOptions {
  readonly connection?: ConnectionOptions;
  readonly limits?: ConnectionLimits;
  readonly admission?: AdmissionRules;
  /** TLS connections whose certificate does not name the datapath id they claim are refused (peer-identity.ts). */
  readonly identity?: IdentityPolicy;
  readonly logger?: Logger;
}

/** Connected datapaths by dpid. Feed it sockets (`adopt`); it runs the handshake and tracks ports. */
export class DatapathRegistry extends EventEmitter<DatapathEvents> {
  private readonly dps = new Map<bigint, Datapath>();
  private readonly connections = new Set<OfConnection>();
  /** Connections still in their handshake (or admission), by IP address. */
  private readonly pendingByAddress = new Map<string, number>();
  /** Admissions in progress by datapath id: a second claimant waits for the first to be decided. */
  private readonly admitting = new Map<bigint, Promise<unknown>>();
  private readonly refusalLog = new LogThrottle();
  private readonly log: Logger;
  /** One encoder for all the registry's connections (see ConnectionOptions.encoder). */
  private readonly encoder = new MessageEncoder();

  constructor(private readonly opts: RegistryOptions = {}) {
    super();
    this.log = opts.logger ?? silentLogger;
  }

  get(dpid: bigint): Datapath | undefined {
    return this.dps.get(dpid);
  }

  list(): Datapath[] {
    return [...this.dps.values()];
  }

  get size(): number {
    return this.dps.size;
  }

  /** Connections open now (in their handshake or datapaths). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Takes over a freshly accepted/connected socket; resolves with the datapath, or undefined if it failed or was
   * refused. Never rejects.
   */
  async adopt(socket: Socket): Promise<Datapath | undefined> {
    const address = remoteAddressOf(socket);
    const overLimit = this.overLimit(address);
    if (overLimit) {
      this.refuseSocket(socket, overLimit, address);
      return undefined;
    }
    const conn = new OfConnection(socket, { logger: this.log, encoder: this.encoder, ...this.opts.connection });
    this.connections.add(conn);
    if (address !== undefined) this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
    let pending = address !== undefined;
    const settled = (): void => {
      if (!pending) return;
      pending = false;
      const n = (this.pendingByAddress.get(address!) ?? 1) - 1;
      if (n > 0) this.pendingByAddress.set(address!, n);
      else this.pendingByAddress.delete(address!);
    };
    try {
      return await this.handshakeAndAdmit(conn, settled);
    } catch (e) {
      // Ours, not the peer's (a listener that threw, say): this connection goes, the process stays.
      this.log.error({ peer: conn.peer, err: (e as Error).stack ?? String(e) }, 'internal error adopting an OpenFlow connection; closing it');
      conn.close(`internal error: ${(e as Error).message}`, e as Error);
      return undefined;
    } finally {
      settled();
    }
  }

  private async handshakeAndAdmit(conn: OfConnection, settled: () => void): Promise<Datapath | undefined> {
    // PORT_STATUS may arrive while the handshake runs: keep them (a few: the handshake takes a round trip) for the
    // datapath; a peer sending more is not a switch whose ports are changing.
    const early: MessageOf<'port_status'>[] = [];
    const ref: { dp?: Datapath } = {};
    conn.on('portStatus', (m) => {
      if (ref.dp) this.portStatus(ref.dp, m);
      else if (early.length < EARLY_PORT_STATUS_MAX) early.push(m);
      else conn.close(`more than ${EARLY_PORT_STATUS_MAX} PORT_STATUS messages during the handshake`);
    });
    conn.once('close', (reason) => {
      this.connections.delete(conn);
      const dp = ref.dp;
      if (dp && this.dps.get(dp.dpid) === dp) {
        this.dps.delete(dp.dpid);
        this.log.info({ dpid: dp.id, reason }, 'datapath disconnected');
        this.emit('disconnected', dp, reason);
      }
    });
    let hs;
    try {
      hs = await conn.handshake();
    } catch (e) {
      this.emit('rejected', conn.peer, e as Error);
      return undefined;
    }
    if (hs.ports.length > MAX_PORTS) {
      conn.close(`the switch reports ${hs.ports.length} ports (at most ${MAX_PORTS})`);
      this.emit('rejected', conn.peer, new Error(`too many ports: ${hs.ports.length}`));
      return undefined;
    }
    const dpid = hs.datapathId;
    // Admission and registration for one datapath id happen one claimant at a time.
    const dp = await this.serialised(dpid, async () => {
      const impostor = this.opts.identity && checkSocketIdentity(conn.socket, dpid, this.opts.identity);
      if (impostor) {
        this.noteRefusal(conn.peer, 'identity', impostor.message, dpid);
        try {
          conn.send({ type: 'error', errType: OFPET.BAD_REQUEST, code: OFPBRC.EPERM, data: new Uint8Array(0) });
        } catch {
          /* a full send queue: it is closed all the same */
        }
        conn.close(`refused: ${impostor.message}`, impostor);
        this.emit('rejected', conn.peer, impostor);
        return undefined;
      }
      const rules = this.opts.admission ?? {};
      const unknownConnected = (): number => [...this.dps.keys()].filter((id) => !rules.isKnown!(id)).length;
      const verdict = await admit({ dpid, connection: conn, current: this.dps.get(dpid)?.connection, unknownConnected }, rules);
      if (!verdict.ok) {
        this.noteRefusal(conn.peer, verdict.reason, verdict.detail, dpid);
        conn.refuse(refusalText(verdict.reason, dpid));
        return undefined;
      }
      // The peer may have gone between the handshake's last reply and now.
      if (conn.closed) {
        this.emit('rejected', conn.peer, new Error(`closed right after the handshake: ${conn.closeReason}`));
        return undefined;
      }
      const dp = new Datapath(dpid, conn, hs.features, hs.ports);
      ref.dp = dp;
      for (const m of early) dp.applyPortStatus(m);
      const old = this.dps.get(dpid);
      this.dps.set(dpid, dp);
      if (old) {
        // A switch that reconnects before we noticed its old connection die: the new connection wins.
        this.log.info({ dpid: dp.id, peer: conn.peer, oldPeer: old.connection.peer }, 'datapath reconnected; replacing its old connection');
        old.connection.close('replaced by a new connection from the same datapath');
      }
      return dp;
    });
    settled();
    if (!dp) return undefined;
    this.log.info({ dpid: dp.id, peer: conn.peer, ports: hs.ports.length }, 'datapath connected');
    this.emit('connected', dp);
    return dp;
  }

  /** Runs `fn` after every admission for `dpid` started before it has been decided. */
  private async serialised<T>(dpid: bigint, fn: () => Promise<T>): Promise<T> {
    const before = this.admitting.get(dpid);
    const mine = (before ?? Promise.resolve()).then(fn, fn);
    const tail = mine.catch(() => undefined);
    this.admitting.set(dpid, tail);
    try {
      return await mine;
    } finally {
      if (this.admitting.get(dpid) === tail) this.admitting.delete(dpid);
    }
  }

  /** Why a new socket from `address` may not be taken, or undefined. */
  private overLimit(address: string | undefined): RefusalReason | undefined {
    const max = this.opts.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (this.connections.size >= max) return 'max_connections';
    const perAddress = this.opts.limits?.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS;
    if (address !== undefined && (this.pendingByAddress.get(address) ?? 0) >= perAddress) return 'max_pending_per_address';
    return undefined;
  }

  /** Refuses a socket at accept: an OFPT_ERROR saying why, then it is closed (destroyed soon if the peer lingers). */
  private refuseSocket(socket: Socket, reason: RefusalReason, address: string | undefined): void {
    const peer = address !== undefined ? `${address}:${socket.remotePort}` : 'unix';
    const error = encodeMessage({ type: 'error', xid: 0, version: OFP_VERSION, errType: OFPET.HELLO_FAILED, code: OFPHFC.EPERM, data: new TextEncoder().encode(refusalText(reason)) });
    socket.on('error', () => undefined);
    socket.end(error);
    setTimeout(() => socket.destroy(), 200).unref();
    const limits = this.opts.limits ?? {};
    const detail =
      reason === 'max_connections'
        ? `${this.connections.size} connections open (openflow.maxConnections ${limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS})`
        : `${this.pendingByAddress.get(address!) ?? 0} connections from ${address} in their handshake (openflow.maxPendingPerAddress ${limits.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS})`;
    this.noteRefusal(peer, reason, detail);
  }

  private noteRefusal(peer: string, reason: RefusalReason, detail: string, dpid?: bigint): void {
    const suppressed = this.refusalLog.allow(reason);
    if (suppressed !== false) {
      const fields = { peer, reason, detail, ...(dpid !== undefined && { dpid: formatDpid(dpid) }), ...(suppressed > 0 && { suppressed }) };
      this.log.warn(fields, 'OpenFlow connection refused');
    }
    this.emit('refused', peer, reason, detail);
  }

  private portStatus(dp: Datapath, m: MessageOf<'port_status'>): void {
    const { kind, port } = dp.applyPortStatus(m);
    if (dp.portCount > MAX_PORTS) {
      dp.connection.close(`more than ${MAX_PORTS} ports`);
      return;
    }
    if (this.dps.get(dp.dpid) !== dp) return;
    if (kind === 'added') this.emit('portAdded', dp, port);
    else if (kind === 'removed') this.emit('portRemoved', dp, port);
    else this.emit('portModified', dp, port);
  }

  /** Closes every connection (datapaths and those still in their handshake). */
  closeAll(reason = 'controller stopping'): void {
    for (const c of [...this.connections]) c.close(reason);
  }
}

/**
 * At most `perWindow` log lines per key every `windowMs`: a flood of refused connections is logged, not a log
 * flood. `allow` returns false to stay quiet, else how many were left out since the last line.
 */
class LogThrottle {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
  ) {}

  allow(key: string): number | false {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      this.windows.set(key, (w = { start: now, logged: 0, suppressed: 0 }));
      w.logged++;
      return suppressed;
    }
    if (w.logged >= this.perWindow) {
      w.suppressed++;
      return false;
    }
    w.logged++;
    return 0;
  }
}
