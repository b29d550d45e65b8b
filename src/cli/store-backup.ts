// `minicloud store backup|restore|check` with the portable backup file (src/topology/store-dump.ts): from the
// configured store, SQLite or etcd, into either. The SQLite file copy stays in store.ts (`--format sqlite`).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { openConfiguredStore, type Store } from '../daemon/store.js';
import type { Config } from '../daemon/config.js';
import { decodeBackup, dumpStore, encodeBackup, isEmptyStore, MAX_BACKUP_BYTES, restoreDump, type DecodedBackup } from '../topology/store-dump.js';
import { assertNotInUse, renameDurably, StoreFileError } from './store-files.js';

/** What the target of a restore can take in one transaction: all of it on SQLite; under etcd's 128 operations. */
const ETCD_RESTORE_BATCH = 100;

export interface PortableBackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly schemaVersion: number;
  readonly seconds: number;
  readonly counts: string;
}

function counts(d: DecodedBackup['dump']): string {
  return `${d.nodes.length} nodes, ${d.subnets.length} subnets, ${d.vms.length} VMs, ${d.securityGroups.length} security groups, ${d.apiTokens.length} API tokens`;
}

async function withStore<T>(config: Config['store'], fn: (store: Store) => Promise<T> | T): Promise<T> {
  const { store } = await openConfiguredStore(config);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/** Writes the configured store's content to FILE (0600, fsynced, renamed into place). */
export async function backupPortable(config: Config['store'], file: string, opts: { force?: boolean } = {}): Promise<PortableBackupResult> {
  if (existsSync(file) && !opts.force) throw new StoreFileError(`${file} exists (use --force to overwrite it)`);
  if (config.backend === 'sqlite' && !existsSync(config.path)) throw new StoreFileError(`no store at ${config.path}`);
  const started = performance.now();
  const dump = await withStore(config, (store) => dumpStore(store));
  const text = encodeBackup(dump, config.backend);
  const tmp = `${file}.partial-${process.pid}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  const { schemaVersion } = decodeBackup(readFileSync(tmp, 'utf8'), tmp);
  renameDurably(tmp, file);
  return { file, bytes: statSync(file).size, schemaVersion, seconds: (performance.now() - started) / 1000, counts: counts(dump) };
}

export function readBackup(file: string): DecodedBackup {
  if (!existsSync(file)) throw new StoreFileError(`no such file: ${file}`);
  const size = statSync(file).size;
  if (size > MAX_BACKUP_BYTES) throw new StoreFileError(`${file} is ${size} bytes, more than a backup may be (${MAX_BACKUP_BYTES})`);
  return decodeBackup(readFileSync(file, 'utf8'), file);
}

/** Whether FILE is a portable backup (JSON) rather than a SQLite file. */
export function isPortableBackup(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head);
    return head.subarray(0, n).toString('latin1').trimStart().startsWith('{');
  } finally {
    closeSync(fd);
  }
}

export interface PortableRestoreResult {
  readonly target: string;
  readonly schemaVersion: number;
  readonly counts: string;
}

/**
 * Restores FILE into the configured store. Refuses a target that holds anything (`force` replaces it); a SQLite target
 * must not be open in another process (stop the controller). etcd cannot tell: stop every controller first.
 */
export async function restorePortable(file: string, config: Config['store'], opts: { force?: boolean } = {}): Promise<PortableRestoreResult> {
  const backup = readBackup(file);
  if (config.backend === 'sqlite' && existsSync(config.path)) assertNotInUse(config.path);
  const target = config.backend === 'sqlite' ? config.path : `etcd ${config.etcd?.endpoints.join(',')} ${config.etcd?.prefix}`;
  await withStore(config, async (store) => {
    if (!opts.force && !isEmptyStore(store)) throw new StoreFileError(`${target} is not empty (use --force to replace what it holds)`);
    await restoreDump(store, backup.dump, { batch: config.backend === 'sqlite' ? Infinity : ETCD_RESTORE_BATCH });
  });
  return { target, schemaVersion: backup.schemaVersion, counts: counts(backup.dump) };
}
