import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';

/** PEM files for `ssl:` endpoints, as `ovs-vsctl set-ssl PRIVKEY CERT CACERT` takes them. */
export interface TlsFiles {
  readonly key: string;
  readonly cert: string;
  /** CA certificate the peer's certificate must chain to (mutual TLS, as OVS does). */
  readonly ca: string;
}

/**
 * Reads the files and checks what would otherwise fail later and more obscurely, on every switch's connection: our
 * certificate outside its validity dates (switches refuse it), a key that is not the certificate's, a file that is
 * not PEM. Errors name the file.
 */
export async function loadTls(files: TlsFiles, now = new Date()): Promise<SecureContextOptions> {
  const [key, cert, ca] = await Promise.all([readFile(files.key), readFile(files.cert), readFile(files.ca)]);
  const parse = (pem: Buffer, path: string, what: string): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch (e) {
      throw new Error(`TLS ${what} ${path} is not a PEM certificate: ${(e as Error).message}`);
    }
  };
  const ours = parse(cert, files.cert, 'certificate');
  parse(ca, files.ca, 'CA certificate');
  if (new Date(ours.validTo) <= now) throw new Error(`TLS certificate ${files.cert} expired on ${ours.validTo}: switches would refuse it`);
  if (new Date(ours.validFrom) > now) throw new Error(`TLS certificate ${files.cert} is not valid before ${ours.validFrom}: switches would refuse it`);
  let matches: boolean;
  try {
    matches = ours.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw new Error(`TLS key ${files.key} is not a usable private key: ${(e as Error).message}`);
  }
  if (!matches) throw new Error(`TLS key ${files.key} is not the key of ${files.cert}`);
  return { key, cert, ca };
}
