// `minicloud store backup|restore|check`. By default the portable backup file (store-backup.ts: JSON, from and into
// either backend). `--format sqlite`: a copy of the SQLite store file itself, taken online with SQLite's backup API
// (better-sqlite3's db.backup), so the controller keeps running; a restore needs the controller stopped and refuses
// while any process has the store open.
//
// Every file written here is made 0600 (the store is the whole cloud's inventory; token hashes are not secrets, but
// nothing in it is for other users) and reaches the disk before it takes its name: written under a temporary name in
// the same directory, fsynced, renamed, and the directory fsynced so the rename itself survives a power cut.
import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../daemon/config.js';
import { newerSchemaProblem, storeIntegrityProblems, storeSchemaVersion } from '../topology/sqlite-store.js';
import { backupPortable, isPortableBackup, readBackup, restorePortable } from './store-backup.js';
import { assertNotInUse, fsyncFile, renameDurably, StoreFileError } from './store-files.js';

export { StoreFileError } from './store-files.js';

export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly schemaVersion: number;
  readonly seconds: number;
}

/**
 * SQLite's online backup of the database at `from` into a new file `to`, created 0600 before SQLite writes to it (so
 * it is never readable by others, whatever the umask) and fsynced; `to` is removed again if it fails.
 */
async function copyDatabase(from: string, to: string): Promise<void> {
  const db = new Database(from, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    closeSync(openSync(to, 'wx', 0o600));
    chmodSync(to, 0o600); // the umask may have taken bits off, never added: this only makes sure
    await db.backup(to);
    chmodSync(to, 0o600);
    fsyncFile(to);
  } catch (e) {
    rmSync(to, { force: true });
    throw e;
  } finally {
    db.close();
  }
}

/** Copies the live store at STORE to FILE (written beside it under a temporary name, checked, then renamed). */
export async function backupStore(store: string, file: string, opts: { force?: boolean } = {}): Promise<BackupResult> {
  if (!existsSync(store)) throw new StoreFileError(`no store at ${store}`);
  if (existsSync(file) && !opts.force) throw new StoreFileError(`${file} exists (use --force to overwrite it)`);
  const started = performance.now();
  const tmp = `${file}.partial-${process.pid}`;
  await copyDatabase(store, tmp);
  let schemaVersion: number;
  try {
    schemaVersion = checkStoreFile(tmp);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  renameDurably(tmp, file);
  return { file, bytes: statSync(file).size, schemaVersion, seconds: (performance.now() - started) / 1000 };
}

export interface RestoreResult {
  readonly store: string;
  /** Where the store that was replaced went (`<store>.pre-restore`), if there was one. */
  readonly previous?: string;
  readonly schemaVersion: number;
}

/**
 * Replaces the store at STORE with the backup FILE. Refuses while the store is open (a running controller), and when
 * FILE is not a sound miniCloud store this program can migrate. The replaced store is kept as `<store>.pre-restore`.
 */
export async function restoreStore(file: string, store: string): Promise<RestoreResult> {
  const schemaVersion = checkStoreFile(file);
  if (existsSync(store)) assertNotInUse(store);
  const tmp = `${store}.restore-${process.pid}`;
  await copyDatabase(file, tmp);
  let previous: string | undefined;
  if (existsSync(store)) {
    previous = `${store}.pre-restore`;
    renameSync(store, previous);
  }
  // A cleanly closed WAL store leaves no -wal/-shm; stale ones would be replayed onto the restored file.
  for (const suffix of ['-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
  renameDurably(tmp, store);
  return { store, ...(previous !== undefined && { previous }), schemaVersion };
}

/** Opens FILE read-only and checks it is a sound store of a schema this program knows; returns its version. */
export function checkStoreFile(file: string): number {
  if (!existsSync(file)) throw new StoreFileError(`no such file: ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new StoreFileError(`${file} cannot be opened as SQLite: ${(e as Error).message}`);
  }
  try {
    const problems = storeIntegrityProblems(db);
    if (problems.length > 0) throw new StoreFileError(`${file} fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`);
    const hasMigrations = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!hasMigrations) throw new StoreFileError(`${file} is not a miniCloud store (no schema_migrations table)`);
    const version = storeSchemaVersion(db);
    const newer = newerSchemaProblem(version);
    if (newer !== undefined) throw new StoreFileError(`${file} has ${newer}`);
    return version;
  } catch (e) {
    if (e instanceof StoreFileError) throw e;
    throw new StoreFileError(`${file} is not a readable SQLite database: ${(e as Error).message}`);
  } finally {
    db.close();
  }
}

interface StoreFlags {
  config?: string;
  store?: string;
  force?: boolean;
  format?: string;
}

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('back up, restore or check the controller\'s store, SQLite or etcd (docs/operations.md)');
  const where = (cmd: Command): Command =>
    cmd
      .option('--config <file>', 'take the store (store.backend, store.path, store.etcd) from this configuration file (and MINICLOUD_* variables)')
      .option('--store <path>', 'the SQLite store file (default: store.path of the configuration)');
  where(store.command('backup <file>').description('write the store to FILE while the controller runs'))
    .option('-f, --force', 'overwrite FILE')
    .option('--format <format>', 'json: the portable file either backend restores; sqlite: a copy of the SQLite store file', 'json')
    .action(async (file: string, flags: StoreFlags) => {
      if (flags.format === 'sqlite') {
        const r = await backupStore(sqlitePath(flags), resolve(file), { force: flags.force === true });
        process.stdout.write(`backed up ${r.bytes} bytes (schema v${r.schemaVersion}) to ${r.file} in ${r.seconds.toFixed(2)} s\n`);
        return;
      }
      if (flags.format !== 'json') throw new StoreFileError(`--format is json or sqlite, not ${flags.format}`);
      const r = await backupPortable(storeConfig(flags), resolve(file), { force: flags.force === true });
      process.stdout.write(`backed up ${r.counts}: ${r.bytes} bytes (schema v${r.schemaVersion}) to ${r.file} in ${r.seconds.toFixed(2)} s\n`);
    });
  where(store.command('restore <file>').description('replace the store with backup FILE (stop the controllers first)'))
    .option('-f, --force', 'replace a store that is not empty (portable backups; a SQLite copy always replaces the file, keeping the old one)')
    .action(async (file: string, flags: StoreFlags) => {
      const path = resolve(file);
      if (existsSync(path) && isPortableBackup(path)) {
        const r = await restorePortable(path, storeConfig(flags), { force: flags.force === true });
        process.stdout.write(`restored ${r.counts} into ${r.target} from ${path} (schema v${r.schemaVersion})\n`);
        return;
      }
      const r = await restoreStore(path, sqlitePath(flags));
      process.stdout.write(`restored ${r.store} from ${path} (schema v${r.schemaVersion})${r.previous ? `; the previous store is ${r.previous}` : ''}\n`);
    });
  where(store.command('check [file]').description('check a backup file (checksum, schema version) or a SQLite store (integrity, schema version)')).action(
    (file: string | undefined, flags: StoreFlags) => {
      const path = file !== undefined ? resolve(file) : sqlitePath(flags);
      if (existsSync(path) && isPortableBackup(path)) {
        const b = readBackup(path);
        process.stdout.write(`${path}: ok (schema v${b.schemaVersion}, from ${b.source} at ${b.createdAt}: ${b.dump.nodes.length} nodes, ${b.dump.vms.length} VMs)\n`);
        return;
      }
      process.stdout.write(`${path}: ok (schema v${checkStoreFile(path)})\n`);
    },
  );
}

function configOf(flags: StoreFlags): Config {
  try {
    return loadConfig(flags.config);
  } catch (e) {
    if (e instanceof ConfigError) throw new StoreFileError(e.message);
    throw e;
  }
}

/** The configured store; `--store PATH` makes it that SQLite file. */
function storeConfig(flags: StoreFlags): Config['store'] {
  if (flags.store !== undefined) return { backend: 'sqlite', path: resolve(flags.store) };
  return configOf(flags).store;
}

function sqlitePath(flags: StoreFlags): string {
  const config = storeConfig(flags);
  if (config.backend !== 'sqlite') throw new StoreFileError('--format sqlite is for the SQLite store; store.backend is etcd (use the portable format)');
  return config.path;
}
