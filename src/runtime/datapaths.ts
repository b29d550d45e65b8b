import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { OFPBRC, OFPET, OFPPR } from '../openflow/consts.js';
import type { MessageOf, Port } from '../openflow/types.js';
import { formatDpid, OfConnection, type ConnectionOptions } from './connection.js';
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
}

export interface RegistryOptions {
  readonly connection?: ConnectionOptions;
  /** TLS connections whose certificate does not name the datapath id they claim are refused (peer-identity.ts). */
  readonly identity?: IdentityPolicy;
  readonly logger?: Logger;
}

/** Connected datapaths by dpid. Feed it sockets (`adopt`); it runs the handshake and tracks ports. */
export class DatapathRegistry extends EventEmitter<DatapathEvents> {
  private readonly dps = new Map<bigint, Datapath>();
  private readonly connections = new Set<OfConnection>();
  private readonly log: Logger;

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

  /** Takes over a freshly accepted/connected socket; resolves with the datapath, or undefined if it failed. */
  async adopt(socket: Socket): Promise<Datapath | undefined> {
    const conn = new OfConnection(socket, { logger: this.log, ...this.opts.connection });
    this.connections.add(conn);
    // PORT_STATUS may arrive while the handshake runs: keep them for the datapath.
    const early: MessageOf<'port_status'>[] = [];
    const ref: { dp?: Datapath } = {};
    conn.on('portStatus', (m) => (ref.dp ? this.portStatus(ref.dp, m) : early.push(m)));
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
    // The peer may have gone between the handshake's last reply and now.
    if (conn.closed) {
      this.emit('rejected', conn.peer, new Error(`closed right after the handshake: ${conn.closeReason}`));
      return undefined;
    }
    const impostor = this.opts.identity && checkSocketIdentity(conn.socket, hs.datapathId, this.opts.identity);
    if (impostor) {
      try {
        conn.send({ type: 'error', errType: OFPET.BAD_REQUEST, code: OFPBRC.EPERM, data: new Uint8Array(0) });
      } catch {
        /* a full send queue: it is closed all the same */
      }
      conn.close(`refused: ${impostor.message}`, impostor);
      this.emit('rejected', conn.peer, impostor);
      return undefined;
    }
    const dp = new Datapath(hs.datapathId, conn, hs.features, hs.ports);
    ref.dp = dp;
    for (const m of early) dp.applyPortStatus(m);
    const old = this.dps.get(dp.dpid);
    this.dps.set(dp.dpid, dp);
    if (old) {
      // A switch that reconnects before we noticed its old connection die: the new connection wins.
      this.log.info({ dpid: dp.id }, 'datapath reconnected; replacing its old connection');
      old.connection.close('replaced by a new connection from the same datapath');
    }
    this.log.info({ dpid: dp.id, peer: conn.peer, ports: hs.ports.length }, 'datapath connected');
    this.emit('connected', dp);
    return dp;
  }

  private portStatus(dp: Datapath, m: MessageOf<'port_status'>): void {
    const { kind, port } = dp.applyPortStatus(m);
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
