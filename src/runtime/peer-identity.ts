// Who a switch's TLS certificate says it is, and whether that agrees with the datapath id it claims in FEATURES_REPLY.
// Pure functions: the certificate has already been verified against the CA (mutual TLS) by the time they run.
//
// A certificate identifies a datapath by its subject CN(s) and its DNS subjectAltNames. Each name is read as:
//   - `0123456789abcdef`          exactly 16 hex digits (any case): a datapath id;
//   - `compute-1`                 anything else: a node name, compared exactly (case-sensitive);
//   - `compute-1 id:<unique>`     OVS's `ovs-pki req` default (it appends ` id:<uuid or date>` to the CN and to the
//                                 DNS SAN); the part before ` id:` is read as above.
// A name of 16 hex digits is always a datapath id, never a node name. Wildcards mean nothing here. The certificate is
// accepted when ANY of its names is the claimed datapath id or the name of the node that datapath id belongs to.
import type { Socket } from 'node:net';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import { formatDpid } from './connection.js';

/** The parts of a peer certificate read here (Node's `getPeerCertificate()` shape). */
export type CertificateNames = Pick<Partial<PeerCertificate>, 'subject' | 'subjectaltname'>;

/** What the controller expects of a connection's datapath id. */
export interface IdentityPolicy {
  /**
   * The node a datapath id belongs to (undefined: none). Without it (static mode: no nodes) only certificates that
   * name the datapath id itself are accepted.
   */
  readonly nodeOf?: (dpid: bigint) => string | undefined;
}

export type SubjectName = { readonly kind: 'dpid'; readonly dpid: bigint } | { readonly kind: 'node'; readonly node: string };

/** A certificate whose names do not identify the datapath it claims to be. */
export class PeerIdentityError extends Error {
  override readonly name = 'PeerIdentityError';
  constructor(
    message: string,
    readonly claimedDpid: bigint,
    readonly certificateNames: readonly string[],
  ) {
    super(message);
  }
}

/** Names beyond these are not read: a CA-signed certificate is trusted input, but still bounded. */
const MAX_NAMES = 64;
const MAX_NAME_LENGTH = 255;
const OVS_PKI_SUFFIX = / id:.*$/s;
const DPID = /^[0-9a-fA-F]{16}$/;

/** One subject name read as a datapath id or a node name (see the top of this file); undefined when empty. */
export function parseSubjectName(name: string): SubjectName | undefined {
  const base = name.replace(OVS_PKI_SUFFIX, '');
  if (base === '') return undefined;
  if (DPID.test(base)) return { kind: 'dpid', dpid: BigInt(`0x${base}`) };
  return { kind: 'node', node: base };
}

/** The certificate's CN values, then its DNS subjectAltNames, in order, at most 64, each at most 255 characters. */
export function certificateNames(cert: CertificateNames): string[] {
  const cn = cert.subject?.CN as string | string[] | undefined;
  const names = [...(cn === undefined ? [] : Array.isArray(cn) ? cn : [cn]), ...dnsAltNames(cert.subjectaltname ?? '')];
  return names.filter((n) => n.length > 0 && n.length <= MAX_NAME_LENGTH).slice(0, MAX_NAMES);
}

/**
 * The DNS entries of Node's `subjectaltname` text (`DNS:a, DNS:b, IP Address:10.0.0.1`). Node writes a value that
 * contains a comma, a quote or a control character as a JSON string (`DNS:"a, b"`), so one cannot just split on ', '.
 */
export function dnsAltNames(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length && out.length < MAX_NAMES) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = closingQuote(text, colon + 2);
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        value = '';
      }
      end = text.indexOf(', ', end);
    } else {
      end = text.indexOf(', ', colon);
      value = text.slice(colon + 1, end < 0 ? undefined : end);
    }
    if (type === 'DNS' && value) out.push(value);
    if (end < 0) break;
    i = end + 2;
  }
  return out;
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

/**
 * Undefined when the certificate identifies datapath `claimed` under `policy`, else the error saying why not (the
 * names the certificate carries, the node the claimed id belongs to).
 */
export function checkPeerIdentity(cert: CertificateNames, claimed: bigint, policy: IdentityPolicy): PeerIdentityError | undefined {
  const names = certificateNames(cert);
  const owner = policy.nodeOf?.(claimed);
  for (const name of names) {
    const s = parseSubjectName(name);
    if (s?.kind === 'dpid' ? s.dpid === claimed : s !== undefined && owner !== undefined && s.node === owner) return undefined;
  }
  const dpid = formatDpid(claimed);
  const whose = !policy.nodeOf ? '' : owner === undefined ? ' (which belongs to no node)' : ` (node ${owner}'s)`;
  const named = names.length === 0 ? 'names nothing (no CN, no DNS subjectAltName)' : `names ${names.map((n) => `'${n}'`).join(', ')}`;
  const wanted = !policy.nodeOf ? 'the datapath id' : 'the datapath id or its node';
  return new PeerIdentityError(`switch claims datapath ${dpid}${whose} but its certificate ${named}, not ${wanted}`, claimed, names);
}

/** `checkPeerIdentity` for a connection's socket; undefined for sockets without TLS (tcp:, unix:), which carry no identity. */
export function checkSocketIdentity(socket: Socket, claimed: bigint, policy: IdentityPolicy): PeerIdentityError | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  return checkPeerIdentity(socket.getPeerCertificate(), claimed, policy);
}
