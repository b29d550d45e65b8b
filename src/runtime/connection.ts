import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  CodecError,
  decodeMessage,
  MessageEncoder,
  formatFlow,
  FrameSplitter,
  frameXid,
  isCodecError,
  OFP_MAX_MESSAGE_LEN,
  OFP_NO_BUFFER,
  OFP_VERSION,
  OFPBRC,
  OFPCML,
  OFPET,
  OFPG,
  OFPHFC,
  OFPMPF,
  OFPP,
  OFPT,
  OFPTT,
  type Action,
  type AsyncConfig,
  type FlowStats,
  type GroupDesc,
  type Match,
  type Message,
  type MessageOf,
  type MeterConfig,
  type Port,
} from '../openflow/index.js';
import { ConnectionClosedError, HandshakeError, ReplyLimitError, RequestTimeoutError, SendQueueFullError, SwitchError, type RequestInfo } from './errors.js';
import { silentLogger } from './log.js';

/** A message to send: the connection assigns the xid unless one is given. */
export type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'xid'> & { readonly xid?: number } : never) : never;

export interface ConnectionOptions {
  /** A peer that has not sent HELLO by then is cut off (default 5 s). */
  readonly helloTimeoutMs?: number;
  /** Default time to wait for a reply (default 10 s; multipart: between parts). */
  readonly requestTimeoutMs?: number;
  /** Send ECHO_REQUEST after this long without hearing from the peer (default 5 s). */
  readonly echoIntervalMs?: number;
  /** Declare the peer dead when it stays silent this long after an echo (default 15 s). */
  readonly echoTimeoutMs?: number;
  /** Largest message accepted from the peer (default 65535, OpenFlow's own limit). */
  readonly maxMessageLength?: number;
  /** Bytes queued for the socket beyond which `send` fails with SendQueueFullError (default 16 MiB). */
  readonly maxQueueBytes?: number;
  /**
   * Bounds on one whole multipart reply (all its parts together): bytes (default 256 MiB), parts (default 65536)
   * and time from the request (default 120 s). Over any of them the request fails with ReplyLimitError and the
   * connection is closed: a peer streaming an endless reply holds neither memory nor a sync slot for long.
   */
  readonly multipartMaxBytes?: number;
  readonly multipartMaxParts?: number;
  readonly multipartTimeoutMs?: number;
  /** miss_send_len for SET_CONFIG (default OFPCML_NO_BUFFER: whole packets). */
  readonly missSendLen?: number;
  /** Sent as SET_ASYNC during the handshake when given (OVS's defaults otherwise). */
  readonly asyncConfig?: AsyncConfig;
  readonly logger?: Logger;
  /**
   * Encodes what the connection sends (default: an encoder of its own). A registry hands one encoder to all its
   * connections: an encoder's slabs are its own, so sharing one keeps memory independent of the connection count.
   */
  readonly encoder?: MessageEncoder;
}

/**
 * When each step of the connection's handshake happened, in milliseconds since the epoch (fractional): for
 * latency metrics and the connect-storm benchmark. Undefined until the step happened.
 */
export interface HandshakeTiming {
  /** The socket was handed to us (accepted or connected) and our HELLO queued. */
  readonly openedAt: number;
  /** The peer's HELLO arrived. */
  helloAt?: number;
  /** FEATURES_REPLY arrived (the datapath id is known). */
  featuresAt?: number;
  /** The whole handshake (PORT_DESC, SET_CONFIG, BARRIER) is done. */
  doneAt?: number;
}

/** Wall-clock milliseconds with sub-millisecond precision (comparable across processes, like OVS's log times). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export interface HandshakeResult {
  readonly datapathId: bigint;
  readonly features: MessageOf<'features_reply'>;
  readonly ports: readonly Port[];
}

export interface ConnectionEvents {
  /** Every decoded message from the peer that is not a reply to one of our requests. */
  message: [Message];
  packetIn: [MessageOf<'packet_in'>];
  portStatus: [MessageOf<'port_status'>];
  flowRemoved: [MessageOf<'flow_removed'>];
  /** An OFPT_ERROR that answers no pending request (e.g. a flow mod sent without waiting). */
  switchError: [SwitchError];
  close: [reason: string, error: Error | undefined];
}

interface Pending {
  readonly msg: Outgoing;
  readonly xid: number;
  readonly resolve: (m: Message | Message[]) => void;
  readonly reject: (e: Error) => void;
  readonly timeoutMs: number;
  timer: NodeJS.Timeout;
  /** Multipart replies collected so far (REPLY_MORE); undefined for single-reply requests. */
  parts?: Message[];
  /** Raw multipart: each reply frame goes here undecoded (see multipartRaw). */
  raw?: (frame: Uint8Array) => void;
  /** Multipart: bytes and parts received so far, the byte bound of this reply and the timer bounding it. */
  maxBytes?: number;
  bytes?: number;
  count?: number;
  deadline?: NodeJS.Timeout;
}

interface XidWatch {
  readonly first: number;
  readonly count: number;
  readonly onError: (m: MessageOf<'error'>) => void;
}

/** Messages the switch sends on its own; never treated as replies even if an xid collides. */
const ASYNC_TYPES = new Set<Message['type']>(['hello', 'echo_request', 'packet_in', 'port_status', 'flow_removed']);
/** How many fire-and-forget requests are remembered so a late error can still name them. */
const SENT_MEMORY = 4096;
/** Bound on a port description reply: 65536 ports of 64 bytes plus part headers (decoded, it is kept in memory). */
const PORT_DESC_MAX_BYTES = 65536 * 64 + 65536;
/** Echo requests are not answered while more than this is queued for the peer. */
const ECHO_REPLY_MAX_QUEUED = 1024 * 1024;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

export const formatDpid = (dpid: bigint): string => dpid.toString(16).padStart(16, '0');

export const DEFAULT_MULTIPART_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MULTIPART_MAX_PARTS = 65536;
export const DEFAULT_MULTIPART_TIMEOUT_MS = 120_000;

/**
 * One OpenFlow 1.3 channel to a switch, over any stream socket (tcp, unix, tls; accepted or connected).
 * `handshake()` runs HELLO/FEATURES/PORT_DESC/SET_CONFIG; afterwards requests are matched to replies by xid.
 * Malformed input, a silent peer or a dead peer close this connection only; `close` says why.
 */
export class OfConnection extends EventEmitter<ConnectionEvents> {
  datapathId: bigint | undefined;
  readonly timing: HandshakeTiming = { openedAt: epochMs() };
  private log: Logger;
  private readonly frames: FrameSplitter;
  /** Encodes this connection's messages (also used by bundles and sync to write into their own buffers). */
  readonly encoder: MessageEncoder;
  private readonly pending = new Map<number, Pending>();
  private readonly sent = new Map<number, Outgoing>();
  private watches: XidWatch[] = [];
  private nextXid = 1;
  private helloSeen = false;
  private helloWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private closedReason: string | undefined;
  /** pauseReading is in force. */
  private readPaused = false;
  /** Why the connection failed, when it did (rejects a late `handshake()` with the real cause). */
  private failure: Error | undefined;
  private lastRx = Date.now();
  private echoOutstanding = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly drainWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly maxQueueBytes: number;
  private readonly requestTimeoutMs: number;

  constructor(
    readonly socket: Socket,
    private readonly opts: ConnectionOptions = {},
  ) {
    super();
    this.peer = describePeer(socket);
    this.log = (opts.logger ?? silentLogger).child({ peer: this.peer });
    this.frames = new FrameSplitter({ maxMessageSize: opts.maxMessageLength ?? OFP_MAX_MESSAGE_LEN });
    this.encoder = opts.encoder ?? new MessageEncoder();
    this.maxQueueBytes = opts.maxQueueBytes ?? 16 * 1024 * 1024;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.flushDrainWaiters());
    socket.on('error', (err) => this.close(`socket error: ${err.message}`, err));
    socket.on('close', () => this.close('peer closed the connection'));
    this.sendHello();
    const helloTimeout = opts.helloTimeoutMs ?? 5000;
    this.timers.push(
      setTimeout(() => {
        if (!this.helloSeen) this.fail(new HandshakeError(`no HELLO from the peer within ${helloTimeout} ms`));
      }, helloTimeout),
    );
    const interval = opts.echoIntervalMs ?? 5000;
    this.timers.push(setInterval(() => this.keepalive(), Math.max(50, Math.min(interval, 1000))));
  }

  readonly peer: string;

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get closeReason(): string | undefined {
    return this.closedReason;
  }

  /** Datapath id in 16 hex digits once known, else the peer address: for logs and errors. */
  get label(): string {
    return this.datapathId === undefined ? this.peer : formatDpid(this.datapathId);
  }

  /**
   * Stops reading the socket until `resumeReading` (backpressure: the switch's sends wait in the kernel and then in
   * the switch). For a reader that has parts it has not compared yet: what one poll phase reads from 50 switches at
   * once is then a part or two each, not all their socket buffers hold. Idempotent; a closed connection ignores it.
   */
  pauseReading(): void {
    if (this.closed || this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  /**
   * Reads again. The time we did not read is not the switch's silence: request timeouts and the keepalive count
   * from now (a request timer that fired meanwhile re-armed itself).
   */
  resumeReading(): void {
    if (this.closed || !this.readPaused) return;
    this.readPaused = false;
    this.lastRx = Math.max(this.lastRx, Date.now());
    for (const p of this.pending.values()) p.timer.refresh();
    this.socket.resume();
  }

  /** Bytes waiting in the socket for the switch to read them. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * HELLO (version negotiation), then FEATURES (datapath id), PORT_DESC, SET_CONFIG, optional SET_ASYNC and BARRIER
   * sent together. Our HELLO went out when the connection was made: OVS gives up on a connection whose HELLO it
   * has not received within about a second.
   */
  async handshake(): Promise<HandshakeResult> {
    try {
      await this.hello();
      // One round trip, one write for the rest: the switch answers in order, and nothing here depends on an earlier
      // answer. (If a send below throws, the replies already asked for are not awaited: `handled` keeps their
      // rejections from counting as unhandled.)
      const replies = this.corked(() => {
        const features = handled(
          this.request({ type: 'features_request' }).then((m) => {
            this.timing.featuresAt = epochMs();
            return m as MessageOf<'features_reply'>;
          }),
        );
        const ports = handled(this.portDesc());
        this.send({ type: 'set_config', flags: 0, missSendLen: this.opts.missSendLen ?? OFPCML.NO_BUFFER });
        if (this.opts.asyncConfig) this.send({ type: 'set_async', ...this.opts.asyncConfig });
        return [features, ports, this.barrier()] as const;
      });
      const [features, ports] = await Promise.all(replies);
      this.timing.doneAt = epochMs();
      this.datapathId = features.datapathId;
      this.log = this.log.child({ dpid: formatDpid(features.datapathId) });
      this.log.debug({ ports: ports.length }, 'openflow handshake done');
      return { datapathId: features.datapathId, features, ports };
    } catch (e) {
      const err = e instanceof HandshakeError ? e : new HandshakeError(`handshake with ${this.label} failed: ${(e as Error).message}`);
      this.fail(err);
      throw err;
    }
  }

  /** Runs `fn` with the socket corked: what it sends goes out in one write. */
  private corked<T>(fn: () => T): T {
    this.socket.cork();
    try {
      return fn();
    } finally {
      this.socket.uncork();
    }
  }

  /** Resolves once the peer's HELLO arrived and named a version we share (1.3). */
  private hello(): Promise<void> {
    if (this.closed) return Promise.reject(this.failure ?? new ConnectionClosedError(this.closedReason!));
    if (this.helloSeen) return Promise.resolve();
    return new Promise((resolve, reject) => (this.helloWaiter = { resolve, reject }));
  }

  // ---- sending ---------------------------------------------------------------------------------------------

  /** Allocates `n` consecutive xids (never 0) and returns the first. */
  allocXids(n: number): number {
    if (this.nextXid + n > 0xffffffff) this.nextXid = 1;
    const first = this.nextXid;
    this.nextXid += n;
    return first;
  }

  /** Encodes and queues one message; returns its xid. Throws SendQueueFullError when the switch lags too far. */
  send(msg: Outgoing): number {
    const xid = msg.xid ?? this.allocXids(1);
    const full = { ...msg, xid } as Message;
    this.write(this.encoder.encode(full));
    if (full.type === 'flow_mod' || full.type === 'group_mod' || full.type === 'meter_mod' || full.type === 'packet_out') {
      this.sent.set(xid, full);
      if (this.sent.size > SENT_MEMORY) this.sent.delete(this.sent.keys().next().value!);
    }
    return xid;
  }

  /** Queues already-encoded messages. Throws SendQueueFullError over the queue limit. */
  write(bytes: Uint8Array): void {
    this.assertOpen();
    const queued = this.socket.writableLength;
    if (queued + bytes.length > this.maxQueueBytes) throw new SendQueueFullError(queued, this.maxQueueBytes);
    this.socket.write(bytes);
  }

  /**
   * Queues a large chunk of already-encoded whole messages and resolves once the socket can take more: bulk
   * senders (bundles) pace themselves with this instead of failing on the queue limit.
   */
  async writeBulk(bytes: Uint8Array, onWritten?: () => void): Promise<void> {
    this.assertOpen();
    // `onWritten` runs once the socket is done with `bytes` (written, or failed): then they may be reused.
    if (!this.socket.write(bytes, onWritten && (() => onWritten()))) await new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /** Resolves once at most `limit` bytes are queued for the socket. */
  async waitForRoom(limit: number): Promise<void> {
    this.assertOpen();
    if (this.socket.writableLength <= limit || !this.socket.writableNeedDrain) return;
    await new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  private flushDrainWaiters(): void {
    for (const w of this.drainWaiters.splice(0)) w.resolve();
  }

  /** Sends `msg` and resolves with the reply carrying its xid; an OFPT_ERROR reply rejects with a SwitchError. */
  request(msg: Outgoing, opts: { timeoutMs?: number } = {}): Promise<Message> {
    return this.track(msg, false, opts.timeoutMs) as Promise<Message>;
  }

  /** Sends a multipart request and resolves with every reply part (REPLY_MORE reassembly), in order. */
  multipart(msg: Outgoing, opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<Message[]> {
    return this.track(msg, true, opts.timeoutMs, undefined, opts.maxBytes) as Promise<Message[]>;
  }

  /**
   * Sends a multipart request and hands every reply part to `onPart` as its raw frame, undecoded, as it arrives
   * (for large replies read straight from their bytes, such as 100k flow stats). `onPart` checks what it reads
   * and throws a CodecError for malformed input, which closes the connection like any malformed message.
   */
  multipartRaw(msg: Outgoing, onPart: (frame: Uint8Array) => void, opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.track(msg, true, opts.timeoutMs, onPart) as Promise<unknown> as Promise<void>;
  }

  private track(msg: Outgoing, multipart: boolean, timeoutMs = this.requestTimeoutMs, raw?: (frame: Uint8Array) => void, maxBytes?: number): Promise<Message | Message[]> {
    if (this.closed) return Promise.reject(new ConnectionClosedError(this.closedReason!));
    const xid = msg.xid ?? this.allocXids(1);
    return new Promise((resolve, reject) => {
      const p: Pending = { msg, xid, resolve, reject, timeoutMs, timer: this.requestTimer(xid, timeoutMs) };
      if (multipart) {
        p.parts = [];
        p.bytes = 0;
        p.maxBytes = Math.min(maxBytes ?? Infinity, this.opts.multipartMaxBytes ?? DEFAULT_MULTIPART_MAX_BYTES);
        p.count = 0;
        const limitMs = this.opts.multipartTimeoutMs ?? DEFAULT_MULTIPART_TIMEOUT_MS;
        p.deadline = setTimeout(() => this.replyOverLimit(p, 'time', limitMs), limitMs);
      }
      if (raw) p.raw = raw;
      this.pending.set(xid, p);
      try {
        this.send({ ...msg, xid } as Outgoing);
      } catch (e) {
        this.finish(xid, p);
        reject(e as Error);
      }
    });
  }

  private requestTimer(xid: number, timeoutMs: number): NodeJS.Timeout {
    const timer: NodeJS.Timeout = setTimeout(() => {
      const p = this.pending.get(xid);
      if (!p) return;
      // Not reading (pauseReading): the reply may be waiting in the socket; resumeReading restarts the count.
      if (this.readPaused) return void timer.refresh();
      this.pending.delete(xid);
      p.reject(new RequestTimeoutError(requestInfo(p.msg, xid), timeoutMs));
    }, timeoutMs);
    return timer;
  }

  /**
   * Routes OFPT_ERRORs whose xid falls in [first, first + count) to `onError` (for batches sent without one
   * promise per message, such as bundle_add runs). Returns the function that stops watching.
   */
  watchErrors(first: number, count: number, onError: (m: MessageOf<'error'>) => void): () => void {
    const w: XidWatch = { first, count, onError };
    this.watches.push(w);
    return () => {
      this.watches = this.watches.filter((x) => x !== w);
    };
  }

  /** A SwitchError for an error message, naming `request`. */
  switchError(m: MessageOf<'error'>, request: RequestInfo): SwitchError {
    return new SwitchError(m.errType, m.code, request, m.data, m.experimenter, this.datapathId === undefined ? undefined : this.label);
  }

  // ---- typed requests --------------------------------------------------------------------------------------

  async barrier(opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.request({ type: 'barrier_request' }, opts);
  }

  async echo(data: Uint8Array = EMPTY, opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.request({ type: 'echo_request', data }, opts);
  }

  /** The switch's ports; a reply larger than OVS's most ports (65280 of 64 bytes, in parts) fails (PORT_DESC_MAX_BYTES). */
  async portDesc(): Promise<Port[]> {
    const parts = await this.multipart({ type: 'port_desc_request', flags: 0 }, { maxBytes: PORT_DESC_MAX_BYTES });
    return parts.flatMap((p) => (p.type === 'port_desc_reply' ? p.ports : []));
  }

  /** Flow stats of every table (or of `tableId`), optionally only cookies matching cookie/cookieMask. */
  async flowStats(filter: { tableId?: number; cookie?: bigint; cookieMask?: bigint; match?: Match } = {}, opts: { timeoutMs?: number } = {}): Promise<FlowStats[]> {
    const parts = await this.multipart(
      {
        type: 'flow_stats_request',
        flags: 0,
        tableId: filter.tableId ?? OFPTT.ALL,
        outPort: OFPP.ANY,
        outGroup: OFPG.ANY,
        cookie: filter.cookie ?? 0n,
        cookieMask: filter.cookieMask ?? 0n,
        match: filter.match ?? [],
      },
      opts,
    );
    const flows: FlowStats[] = [];
    for (const p of parts) if (p.type === 'flow_stats_reply') for (const f of p.flows) flows.push(f);
    return flows;
  }

  async groupDesc(): Promise<GroupDesc[]> {
    const parts = await this.multipart({ type: 'group_desc_request', flags: 0 });
    return parts.flatMap((p) => (p.type === 'group_desc_reply' ? p.groups : []));
  }

  async meterConfig(meterId = 0xffffffff): Promise<MeterConfig[]> {
    const parts = await this.multipart({ type: 'meter_config_request', flags: 0, meterId });
    return parts.flatMap((p) => (p.type === 'meter_config_reply' ? p.meters : []));
  }

  /** OFPT_ROLE_REQUEST (for HA later): resolves with the role the switch granted. */
  async requestRole(role: number, generationId = 0n): Promise<{ role: number; generationId: bigint }> {
    const r = (await this.request({ type: 'role_request', role, generationId })) as MessageOf<'role_reply'>;
    return { role: r.role, generationId: r.generationId };
  }

  /** Sends a packet out of the switch (no buffered packet: OVS does not buffer). */
  packetOut(data: Uint8Array, actions: readonly Action[], inPort: number = OFPP.CONTROLLER): number {
    return this.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort, actions, data });
  }

  // ---- receiving -------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.onFrames(chunk);
    } catch (e) {
      // A bug of ours or a listener that threw: this connection cannot be trusted to be in a sane state any more,
      // but nothing else is affected.
      this.log.error({ dpid: this.label, err: (e as Error).stack ?? String(e) }, 'internal error handling an OpenFlow message; closing the connection');
      this.close(`internal error: ${(e as Error).message}`, e as Error);
    }
  }

  private onFrames(chunk: Buffer): void {
    const frames = this.frames.push(chunk);
    for (;;) {
      let next: IteratorResult<Uint8Array, void>;
      try {
        next = frames.next();
      } catch (e) {
        // A lying length: the stream cannot be resynchronised.
        if (isCodecError(e)) return this.malformed(e, undefined);
        throw e;
      }
      if (next.done || this.closed) return;
      const frame = next.value;
      // Only whole messages count as a sign of life: a peer dripping a never-ending frame still gets echoes and is
      // declared dead when they go unanswered.
      this.lastRx = Date.now();
      if (frame[1] === OFPT.MULTIPART_REPLY && this.pending.size > 0 && this.rawPart(frame)) continue;
      let msg: Message;
      try {
        msg = decodeMessage(frame);
      } catch (e) {
        if (isCodecError(e)) return this.malformed(e, frame);
        throw e;
      }
      this.dispatch(msg, frame.length);
    }
  }

  private dispatch(m: Message, frameLength: number): void {
    if (m.type === 'hello') return this.onHello(m);
    if (!this.helloSeen) {
      return this.fail(new HandshakeError(`peer sent ${m.type} before HELLO`), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE);
    }
    if (m.type === 'echo_request') {
      // Echo replies are the one thing a peer makes us send at will: a peer that sends echoes and never reads
      // would grow our send queue. Past a bound we stay quiet; a switch with that much on its way from us is
      // hearing from us anyway.
      if (this.socket.writableLength <= ECHO_REPLY_MAX_QUEUED) this.trySend({ type: 'echo_reply', xid: m.xid, data: m.data });
      return;
    }
    if (!ASYNC_TYPES.has(m.type) && this.settle(m, frameLength)) return;
    if (m.type === 'error') {
      const w = this.watches.find((x) => ((m.xid - x.first) >>> 0) < x.count);
      if (w) return w.onError(m);
      const req = this.sent.get(m.xid);
      const err = this.switchError(m, req ? requestInfo(req, m.xid) : { type: 'unknown request', xid: m.xid });
      this.log.warn({ err: err.message }, 'error from switch');
      this.emit('switchError', err);
      return;
    }
    if (m.type === 'packet_in') this.emit('packetIn', m);
    else if (m.type === 'port_status') this.emit('portStatus', m);
    else if (m.type === 'flow_removed') this.emit('flowRemoved', m);
    this.emit('message', m);
  }

  /** Hands a multipart reply frame to the raw request it answers; false if it answers none (decode it normally). */
  private rawPart(frame: Uint8Array): boolean {
    if (frame.length < 16) return false; // let the decoder name what is wrong
    const xid = frameXid(frame);
    const p = xid === undefined ? undefined : this.pending.get(xid);
    if (!p?.raw) return false;
    if (!this.withinReplyLimits(p, frame.length)) return true;
    try {
      if (frame[0] !== OFP_VERSION) throw new CodecError(`multipart reply with version 0x${frame[0]!.toString(16)}`, OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION);
      p.raw(frame);
    } catch (e) {
      if (!isCodecError(e)) {
        this.finish(p.xid, p);
        p.reject(e as Error);
        return true;
      }
      this.malformed(e, frame);
      return true;
    }
    // The timeout counts from the last part: the same timer restarted (a new one per part is a timer-list insert
    // and an object for each of the thousands of parts a large table is read in).
    if (((frame[10]! << 8) | frame[11]!) & OFPMPF.REPLY_MORE) p.timer.refresh();
    else {
      this.finish(p.xid, p);
      p.resolve([]);
    }
    return true;
  }

  /** Completes the pending request `m` answers; false if it answers none. */
  private settle(m: Message, frameLength: number): boolean {
    const p = this.pending.get(m.xid);
    if (!p) return false;
    if (m.type === 'error') {
      this.finish(m.xid, p);
      p.reject(this.switchError(m, requestInfo(p.msg, p.xid)));
      return true;
    }
    if (p.parts) {
      if (!this.withinReplyLimits(p, frameLength)) return true;
      p.parts.push(m);
      if ('flags' in m && m.flags & OFPMPF.REPLY_MORE) {
        p.timer.refresh();
        return true;
      }
      this.finish(m.xid, p);
      p.resolve(p.parts);
      return true;
    }
    this.finish(m.xid, p);
    p.resolve(m);
    return true;
  }

  private finish(xid: number, p: Pending): void {
    clearTimeout(p.timer);
    clearTimeout(p.deadline);
    this.pending.delete(xid);
  }

  /** Counts one more part of a multipart reply; false (and the connection closed) once the reply is over a bound. */
  private withinReplyLimits(p: Pending, bytes: number): boolean {
    p.count = (p.count ?? 0) + 1;
    p.bytes = (p.bytes ?? 0) + bytes;
    const maxParts = this.opts.multipartMaxParts ?? DEFAULT_MULTIPART_MAX_PARTS;
    const maxBytes = p.maxBytes ?? this.opts.multipartMaxBytes ?? DEFAULT_MULTIPART_MAX_BYTES;
    if (p.count > maxParts) return this.replyOverLimit(p, 'parts', maxParts);
    if (p.bytes > maxBytes) return this.replyOverLimit(p, 'bytes', maxBytes);
    return true;
  }

  /**
   * A multipart reply over a bound: the request fails and the connection is closed (the rest of the reply would
   * still be on its way, and a switch that means well never sends that much). Returns false.
   */
  private replyOverLimit(p: Pending, limit: 'bytes' | 'parts' | 'time', bound: number): false {
    if (this.pending.get(p.xid) !== p) return false;
    const err = new ReplyLimitError(requestInfo(p.msg, p.xid), limit, bound);
    this.finish(p.xid, p);
    p.reject(err);
    this.trySend({ type: 'error', xid: p.xid, errType: OFPET.BAD_REQUEST, code: OFPBRC.MULTIPART_BUFFER_OVERFLOW, data: EMPTY });
    this.log.warn({ dpid: this.label, err: err.message, parts: p.count, bytes: p.bytes }, 'multipart reply over its bound; closing the connection');
    this.close(err.message, err);
    return false;
  }

  private onHello(m: MessageOf<'hello'>): void {
    if (this.helloSeen) return; // a repeated HELLO is harmless
    this.helloSeen = true;
    this.timing.helloAt = epochMs();
    // With a bitmap, the versions are exactly those; without, the peer speaks every version up to its own.
    const ok = m.versions ? m.versions.includes(OFP_VERSION) : m.version >= OFP_VERSION;
    if (!ok) {
      const theirs = m.versions ? m.versions.map((v) => `0x${v.toString(16)}`).join(',') : `up to 0x${m.version.toString(16)}`;
      const text = `we support only OpenFlow 1.3 (0x04), peer supports ${theirs}`;
      // Sent in the peer's version, which it can parse; the body layout is the same in every version.
      this.trySend({ type: 'error', xid: m.xid, version: Math.min(m.version, OFP_VERSION), errType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE, data: utf8.encode(text) });
      this.fail(new HandshakeError(`version negotiation failed: ${text}`, OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE));
      return;
    }
    this.helloWaiter?.resolve();
  }

  /** A CodecError from the peer's bytes: answer with the error it names (unless the bad message was an error) and close. */
  private malformed(e: CodecError, frame: Uint8Array | undefined): void {
    // Never answer an error with an error (two peers could loop).
    if (!frame || frame[1] !== OFPT.ERROR) {
      const xid = (frame && frameXid(frame)) ?? 0;
      this.trySend({ type: 'error', xid, errType: e.ofpType, code: e.ofpCode, ...(e.experimenter === undefined ? {} : { experimenter: e.experimenter }), data: frame ? frame.subarray(0, 64) : EMPTY });
    }
    this.log.warn({ dpid: this.label, err: e.message }, 'malformed OpenFlow message; closing the connection');
    this.close(`malformed message: ${e.message}`, e);
  }

  private keepalive(): void {
    if (this.closed || !this.helloSeen) return;
    const interval = this.opts.echoIntervalMs ?? 5000;
    const timeout = this.opts.echoTimeoutMs ?? 15_000;
    const silent = Date.now() - this.lastRx;
    // While we do not read, a silence is ours: no echo (its reply would wait unread and count against the peer).
    if (silent < interval || this.echoOutstanding || this.readPaused) return;
    this.echoOutstanding = true;
    this.echo(EMPTY, { timeoutMs: timeout }).then(
      () => (this.echoOutstanding = false),
      (e: Error) => {
        this.echoOutstanding = false;
        if (e instanceof RequestTimeoutError && Date.now() - this.lastRx >= timeout) {
          this.log.warn({ dpid: this.label, silentMs: Date.now() - this.lastRx }, 'peer dead (no echo reply); closing');
          this.close(`peer dead: silent for ${Date.now() - this.lastRx} ms`, e);
        }
      },
    );
  }

  // ---- closing ---------------------------------------------------------------------------------------------

  private trySend(msg: Outgoing): void {
    try {
      this.send(msg);
    } catch {
      /* closing anyway, or the queue is full: nothing better to do */
    }
  }

  private fail(err: HandshakeError, errType?: number, code?: number): void {
    if (errType !== undefined && code !== undefined) this.trySend({ type: 'error', errType, code, data: EMPTY });
    this.log.warn({ err: err.message }, 'openflow handshake failed');
    this.close(err.message, err);
  }

  /** Closes the connection (idempotent): pending requests reject with ConnectionClosedError, `close` is emitted. */
  close(reason = 'closed by us', error?: Error): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.failure = error;
    for (const t of this.timers) clearTimeout(t);
    const closedErr = new ConnectionClosedError(reason);
    for (const [xid, p] of this.pending) {
      this.finish(xid, p);
      p.reject(closedErr);
    }
    for (const w of this.drainWaiters.splice(0)) w.reject(closedErr);
    this.helloWaiter?.reject(error instanceof HandshakeError ? error : closedErr);
    // end() lets a final OFPT_ERROR reach the peer; destroy() makes sure a stuck peer does not keep the socket.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
    try {
      this.emit('close', reason, error);
    } catch (e) {
      // A listener that throws must not take the process down: it runs from socket and timer callbacks.
      this.log.error({ dpid: this.label, err: (e as Error).stack ?? String(e) }, 'internal error in a close listener');
    }
  }

  /**
   * Refuses the peer after the handshake (datapath id in use, wrong address): an OFPT_ERROR HELLO_FAILED/EPERM
   * whose data says why in ASCII (as the spec has it for HELLO_FAILED), then the connection is closed.
   */
  refuse(text: string): void {
    this.trySend({ type: 'error', xid: 0, errType: OFPET.HELLO_FAILED, code: OFPHFC.EPERM, data: utf8.encode(text) });
    this.close(`refused: ${text}`);
  }

  /** The peer's IP address (IPv4-mapped IPv6 as plain IPv4); undefined for unix sockets. */
  get remoteAddress(): string | undefined {
    return remoteAddressOf(this.socket);
  }

  private assertOpen(): void {
    if (this.closedReason !== undefined) throw new ConnectionClosedError(this.closedReason);
  }

  private sendHello(): void {
    this.send({ type: 'hello', version: OFP_VERSION, versions: [OFP_VERSION] });
  }
}

/** Names a request for errors; flow mods get their ovs-ofctl text (computed only when an error needs it). */
export function requestInfo(msg: Outgoing | Message, xid: number): RequestInfo {
  if (msg.type !== 'flow_mod') return { type: msg.type, xid };
  try {
    return { type: msg.type, xid, flow: formatFlow(msg as MessageOf<'flow_mod'>) };
  } catch {
    return { type: msg.type, xid };
  }
}

/** `p`, with its rejection marked as handled (whoever awaits `p` still sees it). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** The socket's peer IP address (IPv4-mapped IPv6 as plain IPv4); undefined for unix sockets. */
export function remoteAddressOf(socket: Socket): string | undefined {
  const a = socket.remoteAddress;
  if (!a) return undefined;
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

let unixPeers = 0;
function describePeer(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : `unix#${++unixPeers}`;
}
