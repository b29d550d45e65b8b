// Who may become a datapath: the one place where a connection whose datapath id just became known (end of the
// handshake) is let into the registry or refused. Refused connections get an OFPT_ERROR and are closed by the
// registry; the datapath they claimed keeps its connection.
import type { OfConnection } from './connection.js';
import { formatDpid } from './connection.js';

/** Why a connection was refused (a bounded list: it is a metric label). */
export const REFUSAL_REASONS = ['dpid_in_use', 'address_not_pinned', 'max_connections', 'max_pending_per_address', 'max_unknown_datapaths', 'identity'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: RefusalReason; readonly detail: string };

export interface AdmissionCandidate {
  readonly dpid: bigint;
  readonly connection: OfConnection;
  /** The connection the datapath id has now, if any. */
  readonly current: OfConnection | undefined;
  /** How many connected datapaths are unknown (`rules.isKnown` false) now. */
  readonly unknownConnected: () => number;
}

export interface AdmissionRules {
  /**
   * The addresses datapath `dpid` may connect from, or undefined when it is not pinned (`openflow.pinAddresses`).
   * Unix-socket peers have no address and are not checked: the socket file's permissions guard them.
   */
  readonly pinnedAddresses?: (dpid: bigint) => readonly string[] | undefined;
  /** How long the current connection gets to answer an echo before a newcomer from elsewhere may take over (default 2 s). */
  readonly takeoverProbeMs?: number;
  /** Whether a datapath id is one we have a desired state for (a node's); unknown ones are admitted up to `maxUnknown`. */
  readonly isKnown?: (dpid: bigint) => boolean;
  /** Connected datapaths with unknown ids at once (default 256): a peer inventing ids cannot fill the connection limit. */
  readonly maxUnknown?: number;
}

export const DEFAULT_TAKEOVER_PROBE_MS = 2000;
export const DEFAULT_MAX_UNKNOWN_DATAPATHS = 256;

/**
 * May `c.connection` become datapath `c.dpid`?
 * - With pinning, only from one of the datapath's addresses.
 * - A datapath id of no node (`isKnown` false), only while fewer than `maxUnknown` such datapaths are connected.
 * - A datapath id already connected is taken over only when the current connection has failed (closed, or no
 *   answer to an echo within `takeoverProbeMs`) or the newcomer comes from the same IP address (OVS reconnecting
 *   after a vswitchd restart before we noticed the old connection die: no delay there). Anything else is an
 *   impostor and is refused; the live switch keeps its connection.
 */
export async function admit(c: AdmissionCandidate, rules: AdmissionRules): Promise<Admission> {
  const address = c.connection.remoteAddress;
  const pinned = rules.pinnedAddresses?.(c.dpid);
  if (pinned !== undefined && address !== undefined && !pinned.includes(address)) {
    const allowed = pinned.length > 0 ? pinned.join(', ') : 'no address (the node has none recorded)';
    return refuse('address_not_pinned', `datapath ${formatDpid(c.dpid)} may connect only from ${allowed}, not from ${address}`);
  }
  const old = c.current;
  if (!old && rules.isKnown && !rules.isKnown(c.dpid)) {
    const max = rules.maxUnknown ?? DEFAULT_MAX_UNKNOWN_DATAPATHS;
    if (c.unknownConnected() >= max) return refuse('max_unknown_datapaths', `${max} datapaths of no node are connected already (openflow.maxUnknownDatapaths)`);
  }
  if (!old || old.closed) return { ok: true };
  if (address !== undefined && old.remoteAddress === address) return { ok: true };
  const probeMs = rules.takeoverProbeMs ?? DEFAULT_TAKEOVER_PROBE_MS;
  try {
    await old.echo(undefined, { timeoutMs: probeMs });
  } catch {
    return { ok: true }; // the current connection is gone or silent: the newcomer takes over
  }
  if (old.closed) return { ok: true };
  return refuse('dpid_in_use', `datapath ${formatDpid(c.dpid)} is connected from ${old.peer} and answers echoes`);
}

/** What the refused peer is told (in the OFPT_ERROR's data): the reason, never the live switch's address. */
export function refusalText(reason: RefusalReason, dpid?: bigint): string {
  const dp = dpid === undefined ? '' : ` ${formatDpid(dpid)}`;
  switch (reason) {
    case 'dpid_in_use':
      return `datapath id${dp} is in use by a live connection`;
    case 'address_not_pinned':
      return `datapath id${dp} may not connect from this address`;
    case 'max_connections':
      return 'too many OpenFlow connections';
    case 'max_pending_per_address':
      return 'too many OpenFlow connections from this address still in their handshake';
    case 'max_unknown_datapaths':
      return `datapath id${dp} belongs to no node and too many such datapaths are connected`;
    case 'identity':
      return `the certificate does not name datapath id${dp} or its node`;
  }
}

const refuse = (reason: RefusalReason, detail: string): Admission => ({ ok: false, reason, detail });
