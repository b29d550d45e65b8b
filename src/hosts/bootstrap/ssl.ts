// The node's OpenFlow TLS material: its own private key and certificate and the CA certificate it trusts the
// controller by, written under the node's state directory and given to OVS with `ovs-vsctl set-ssl`, so that br0's
// `ssl:` controller targets work. Only the controller's PKI host has the keys; each node gets its own, never another's.
import type { Executor } from '../executor.js';
import { readNodeFile, removeNodeFiles, writeNodeFile } from '../files.js';
import { listRows, optionalString, vsctl } from '../ovsdb.js';
import { stateDirOf, type NodeBootstrapSpec } from './spec.js';

/** Where the files go on the node. */
export function sslPaths(spec: NodeBootstrapSpec): { key: string; cert: string; ca: string } {
  const dir = `${stateDirOf(spec)}/ssl`;
  return { key: `${dir}/privkey.pem`, cert: `${dir}/cert.pem`, ca: `${dir}/cacert.pem` };
}

async function currentSsl(exec: Executor): Promise<{ key?: string; cert?: string; ca?: string }> {
  const [row] = await listRows(exec, 'SSL', ['private_key', 'certificate', 'ca_cert']);
  if (!row) return {};
  const key = optionalString(row['private_key']);
  const cert = optionalString(row['certificate']);
  const ca = optionalString(row['ca_cert']);
  return { ...(key !== undefined && { key }), ...(cert !== undefined && { cert }), ...(ca !== undefined && { ca }) };
}

/** Writes the files that differ (the key 0600) and points OVS at them; returns what changed. */
export async function ensureSsl(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  if (!spec.ssl) return [];
  const paths = sslPaths(spec);
  const changes: string[] = [];
  // A directory only its owner can enter: the key's temporary file is never readable by anyone else, even before
  // its chmod.
  const dir = paths.key.slice(0, paths.key.lastIndexOf('/'));
  await exec.run(['mkdir', '-p', '--', dir]);
  await exec.run(['chmod', '0700', '--', dir]);
  if (await writeNodeFile(exec, paths.key, spec.ssl.privateKey, '0600')) changes.push(`ssl: private key written (${paths.key})`);
  if (await writeNodeFile(exec, paths.cert, spec.ssl.certificate)) changes.push(`ssl: certificate written (${paths.cert})`);
  if (await writeNodeFile(exec, paths.ca, spec.ssl.caCertificate)) changes.push(`ssl: CA certificate written (${paths.ca})`);
  const now = await currentSsl(exec);
  if (now.key !== paths.key || now.cert !== paths.cert || now.ca !== paths.ca) {
    await vsctl(exec, ['set-ssl', paths.key, paths.cert, paths.ca]);
    changes.push(`ssl: set-ssl ${paths.key} ${paths.cert} ${paths.ca}`);
  }
  return changes;
}

/** Undoes `ensureSsl`: OVS's SSL settings only when they are ours, and our files. */
export async function removeSsl(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  const paths = sslPaths(spec);
  const changes: string[] = [];
  if ((await currentSsl(exec)).key === paths.key) {
    await vsctl(exec, ['del-ssl']);
    changes.push('ssl: del-ssl');
  }
  if ((await readNodeFile(exec, paths.key)) !== undefined) changes.push('ssl: files removed');
  await removeNodeFiles(exec, paths.key, paths.cert, paths.ca);
  return changes;
}
