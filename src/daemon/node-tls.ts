// Each node's OpenFlow TLS material for provisioning (`provisioning.tls`): its key and certificate, read from the
// PKI directory under ovs-pki's names (`<node>-privkey.pem`, `<node>-cert.pem`), and the CA certificate the nodes
// trust the controller by. Checked before it leaves the controller, so a node is never given a certificate the
// controller itself would refuse (another node's name, expired, or not matching the key).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SslSpec } from '../hosts/index.js';
import { checkPeerIdentity } from '../runtime/index.js';

export interface NodeTlsSettings {
  /** Directory holding `<node>-privkey.pem` and `<node>-cert.pem`. */
  readonly dir: string;
  /** The CA certificate the nodes verify the controller's certificate with. */
  readonly ca: string;
}

/** Thrown when the node's files are not there yet (the operator has not made its certificate): provisioning waits. */
export class NodeTlsMissing extends Error {
  override readonly name = 'NodeTlsMissing';
}

/** The node's SslSpec; throws NodeTlsMissing when a file is missing, Error when the certificate is unusable. */
export function nodeTlsFiles(settings: NodeTlsSettings, node: string, dpid: bigint, now = new Date()): SslSpec {
  const keyPath = join(settings.dir, `${node}-privkey.pem`);
  const certPath = join(settings.dir, `${node}-cert.pem`);
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NodeTlsMissing(`provisioning.tls: no ${path} yet (make it: cd ${settings.dir} && ovs-pki req+sign ${node} switch)`);
      throw e;
    }
  };
  const privateKey = read(keyPath);
  const certificate = read(certPath);
  const caCertificate = read(settings.ca);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch (e) {
    throw new Error(`provisioning.tls: ${certPath} is not a PEM certificate: ${(e as Error).message}`);
  }
  const wrong = checkPeerIdentity(cert.toLegacyObject(), dpid, { nodeOf: (d) => (d === dpid ? node : undefined) });
  if (wrong) throw new Error(`provisioning.tls: ${certPath} is not node ${node}'s (the controller would refuse it): ${wrong.message}`);
  if (new Date(cert.validTo) <= now) throw new Error(`provisioning.tls: ${certPath} expired on ${cert.validTo}`);
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(privateKey));
  } catch (e) {
    throw new Error(`provisioning.tls: ${keyPath} is not a usable private key: ${(e as Error).message}`);
  }
  if (!matches) throw new Error(`provisioning.tls: ${keyPath} is not the key of ${certPath}`);
  return { privateKey, certificate, caCertificate };
}
