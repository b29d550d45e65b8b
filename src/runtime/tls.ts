import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';

/** PEM files for `ssl:` endpoints, as `ovs-vsctl set-ssl PRIVKEY CERT CACERT` takes them. */
export interface TlsFiles {
  readonly key: string;
  readonly cert: string;
  /** CA certificate the peer's certificate must chain to (mutual TLS, as OVS does). */
  readonly ca: string;
}

export async function loadTls(files: TlsFiles): Promise<SecureContextOptions> {
  const [key, cert, ca] = await Promise.all([readFile(files.key), readFile(files.cert), readFile(files.ca)]);
  return { key, cert, ca };
}
