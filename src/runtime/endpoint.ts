import { OFP_TCP_PORT } from '../openflow/index.js';

/** An OpenFlow channel endpoint, in Open vSwitch's notation (`tcp:`, `ssl:`, `unix:`). */
export type Endpoint =
  | { readonly kind: 'tcp' | 'ssl'; readonly host: string | undefined; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/**
 * Parses `tcp:[host:]port`, `ssl:[host:]port` or `unix:PATH`. For listening, `tcp:` alone means every address on
 * 6653 and a bare port is allowed; for connecting (`mode: 'connect'`) a host is required and the port defaults to
 * 6653 (`tcp:10.0.0.1`, `tcp:10.0.0.1:6653`, `tcp:[::1]:6653`).
 */
export function parseEndpoint(spec: string, mode: 'listen' | 'connect' = 'listen'): Endpoint {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (scheme === 'unix') {
    if (!rest) throw new Error(`endpoint '${spec}': unix: needs a path`);
    return { kind: 'unix', path: rest };
  }
  if (scheme !== 'tcp' && scheme !== 'ssl') throw new Error(`endpoint '${spec}': expected tcp:, ssl: or unix:`);
  const { host, port } = splitHostPort(rest, spec, mode);
  if (mode === 'connect' && !host) throw new Error(`endpoint '${spec}': a host is needed to connect`);
  return { kind: scheme, host, port };
}

function splitHostPort(rest: string, spec: string, mode: 'listen' | 'connect'): { host: string | undefined; port: number } {
  let host: string | undefined;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw new Error(`endpoint '${spec}': unterminated [ipv6]`);
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after && !after.startsWith(':')) throw new Error(`endpoint '${spec}': junk after ]`);
    portText = after.slice(1) || undefined;
  } else if (rest.includes(':')) {
    const i = rest.lastIndexOf(':');
    host = rest.slice(0, i) || undefined;
    portText = rest.slice(i + 1) || undefined;
  } else if (mode === 'listen' && /^\d*$/.test(rest)) {
    portText = rest || undefined;
  } else {
    host = rest || undefined;
  }
  const port = portText === undefined ? OFP_TCP_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`endpoint '${spec}': bad port`);
  return { host, port };
}

export function formatEndpoint(e: Endpoint): string {
  if (e.kind === 'unix') return `unix:${e.path}`;
  const host = e.host === undefined ? '' : e.host.includes(':') ? `[${e.host}]:` : `${e.host}:`;
  return `${e.kind}:${host}${e.port}`;
}
