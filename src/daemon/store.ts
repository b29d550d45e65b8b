// The store backend the configuration asks for: SQLite (one file, the default) or etcd (several controllers).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { openEtcdStore } from '../topology/etcd-store.js';
import { openSqliteStore } from '../topology/sqlite-store.js';
import type { CloudStore, TokenStore } from '../topology/store.js';
import { ConfigError, type Config } from './config.js';

export type Store = CloudStore & TokenStore;

export async function openConfiguredStore(config: Config['store']): Promise<{ store: Store; where: string }> {
  if (config.backend === 'sqlite' || config.etcd === undefined) {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    return { store: openSqliteStore(config.path), where: config.path };
  }
  const { endpoints, prefix, requestTimeoutMs, tls } = config.etcd;
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`store.etcd.tls.${what}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const store = await openEtcdStore({
    endpoints,
    prefix,
    requestTimeoutMs,
    ...(tls && { tls: { ca: read('ca', tls.ca), ...(tls.cert && { cert: read('cert', tls.cert) }), ...(tls.key && { key: read('key', tls.key) }) } }),
  });
  return { store, where: `etcd ${endpoints.join(',')} ${prefix}` };
}
