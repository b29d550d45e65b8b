import { errorName } from '../openflow/index.js';

/** What a failed request was, so an error from the switch can name it. */
export interface RequestInfo {
  /** Message type, e.g. 'flow_mod', 'bundle_control'. */
  readonly type: string;
  readonly xid: number;
  /** For flow mods: the flow in ovs-ofctl syntax, when known. */
  readonly flow?: string;
}

/** An OFPT_ERROR the switch sent in answer to one of our requests. */
export class SwitchError extends Error {
  override readonly name = 'SwitchError';
  /** e.g. 'OFPET_BAD_ACTION/OFPBAC_BAD_OUT_PORT'. */
  readonly errorName: string;

  constructor(
    readonly errType: number,
    readonly code: number,
    readonly request: RequestInfo,
    readonly data: Uint8Array,
    readonly experimenter?: number,
    readonly datapathId?: string,
  ) {
    const name = errorName(errType, code, experimenter);
    const flow = request.flow ? ` "${request.flow}"` : '';
    const dp = datapathId ? ` on ${datapathId}` : '';
    super(`switch${dp} rejected ${request.type} (xid ${request.xid})${flow}: ${name}`);
    this.errorName = name;
  }
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly request: RequestInfo,
    readonly timeoutMs: number,
  ) {
    super(`no reply to ${request.type} (xid ${request.xid}) within ${timeoutMs} ms`);
  }
}

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  constructor(readonly reason: string) {
    super(`OpenFlow connection closed: ${reason}`);
  }
}

/**
 * A sync that did not end within the Controller's `syncTimeoutMs`: something it waits for will never come (a bug, a
 * hung desired-state callback). Its connection is closed, so the switch reconnects and is synced afresh.
 */
export class SyncTimeoutError extends Error {
  override readonly name = 'SyncTimeoutError';
  constructor(
    readonly datapathId: string,
    readonly timeoutMs: number,
  ) {
    super(`sync of ${datapathId} stuck: not done within ${timeoutMs} ms; reconnecting it`);
  }
}

/** The connection's send queue is over its limit: the switch is not reading fast enough. */
export class SendQueueFullError extends Error {
  override readonly name = 'SendQueueFullError';
  constructor(
    readonly queuedBytes: number,
    readonly limitBytes: number,
  ) {
    super(`OpenFlow send queue full (${queuedBytes} bytes queued, limit ${limitBytes}): the switch is not keeping up`);
  }
}

/** The OpenFlow handshake failed (version negotiation, timeout, peer refused). */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    message: string,
    /** OFPT_ERROR type/code we sent the peer, when we refused it. */
    readonly ofpType?: number,
    readonly ofpCode?: number,
  ) {
    super(message);
  }
}

/** A sync bundle was refused: nothing of it was applied (the bundle is atomic). */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly phase: 'open' | 'add' | 'close' | 'commit',
    /** The errors that named a message inside the bundle (e.g. one flow OVS rejected). */
    readonly failures: readonly SwitchError[],
    /** The error answering the bundle control request itself, if any. */
    readonly controlError?: Error,
  ) {
    const first = failures[0] ?? controlError;
    super(`bundle ${phase} failed${first ? `: ${first.message}` : ''}${failures.length > 1 ? ` (+${failures.length - 1} more)` : ''}`);
  }
}

/** A multipart reply went over one of its bounds (bytes, parts or time for the whole reply). */
export class ReplyLimitError extends Error {
  override readonly name = 'ReplyLimitError';
  constructor(
    readonly request: RequestInfo,
    readonly limit: 'bytes' | 'parts' | 'time',
    readonly bound: number,
  ) {
    const what = limit === 'bytes' ? `${bound} bytes` : limit === 'parts' ? `${bound} parts` : `${bound} ms`;
    super(`multipart reply to ${request.type} (xid ${request.xid}) exceeded ${what}`);
  }
}
