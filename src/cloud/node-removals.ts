// Pending node removals as the API shows them (the store keeps them in node_removals until the undo went through).
import type { NodeRole } from '../topology/model.js';
import type { NodeRemovalRecord } from '../topology/records.js';

/** A removed node whose undo on the node (what its bootstrap made) has not yet gone through, as the API lists it. */
export interface NodeRemovalView {
  readonly name: string;
  readonly roles: NodeRole[];
  readonly underlayIp: string;
  readonly sshTarget?: string;
  /** ISO time of the DELETE. */
  readonly requestedAt: string;
  /** Failed undo attempts so far. */
  readonly attempts: number;
  readonly lastError?: string;
  /** ISO time of the next attempt (every restart of the controller tries at once). */
  readonly nextAttemptAt: string;
}

export function nodeRemovalView(r: NodeRemovalRecord): NodeRemovalView {
  return {
    name: r.node.name,
    roles: [...r.node.roles],
    underlayIp: r.node.underlayIp,
    ...(r.node.sshTarget !== undefined && { sshTarget: r.node.sshTarget }),
    requestedAt: r.requestedAt,
    attempts: r.attempts,
    ...(r.lastError !== undefined && { lastError: r.lastError }),
    nextAttemptAt: r.nextAttemptAt,
  };
}

/** The host part of an SSH target: '[user@]host[:port]' -> 'host' (brackets of an IPv6 literal dropped). */
export function sshHost(target: string): string {
  const host = target.slice(target.lastIndexOf('@') + 1);
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (v6) return v6[1]!;
  return host.replace(/:\d+$/, '');
}
