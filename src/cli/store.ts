// `minicloud store backup|restore|check`: the SQLite store on disk. A backup is taken online with SQLite's backup
// API (better-sqlite3's db.backup), so the controller keeps running; a restore needs the controller stopped and
// refuses while any process has the store open.
//
// Every file written here is made 0600 (the store is the whole cloud's inventory; token hashes are not secrets, but
// nothing in it is for other users) and reaches the disk before it takes its name: written under a temporary name in
// the same directory, fsynced, renamed, and the directory fsynced so the rename itself survives a power cut.
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../daemon/config.js';
import { newerSchemaProblem, storeIntegrityProblems, storeSchemaVersion } from '../topology/sqlite-store.js';

export class StoreFileError extends Error {
  override readonly name = 'StoreFileError';
}

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

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `rename` then fsync of the directory: after this returns, the new name survives a crash. */
function renameDurably(from: string, to: string): void {
  renameSync(from, to);
  const fd = openSync(dirname(to), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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

/** A WAL store that any connection has open cannot be locked exclusively; that is how a running controller shows. */
function assertNotInUse(store: string): void {
  const db = new Database(store, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch {
    throw new StoreFileError(`${store} is in use (is the controller running?); stop it before restoring`);
  } finally {
    db.close();
  }
}

interface StoreFlags {
  config?: string;
  store?: string;
  force?: boolean;
}

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('back up, restore or check the controller\'s SQLite store (docs/operations.md)');
  const where = (cmd: Command): Command =>
    cmd
      .option('--config <file>', 'take store.path from this configuration file (and MINICLOUD_* variables)')
      .option('--store <path>', 'the store file (default: store.path of the configuration)');
  where(store.command('backup <file>').description('copy the store to FILE while the controller runs (SQLite online backup)'))
    .option('-f, --force', 'overwrite FILE')
    .action(async (file: string, flags: StoreFlags) => {
      const r = await backupStore(storePath(flags), resolve(file), { force: flags.force === true });
      process.stdout.write(`backed up ${r.bytes} bytes (schema v${r.schemaVersion}) to ${r.file} in ${r.seconds.toFixed(2)} s\n`);
    });
  where(store.command('restore <file>').description('replace the store with backup FILE (stop the controller first)')).action(async (file: string, flags: StoreFlags) => {
    const r = await restoreStore(resolve(file), storePath(flags));
    process.stdout.write(`restored ${r.store} from ${resolve(file)} (schema v${r.schemaVersion})${r.previous ? `; the previous store is ${r.previous}` : ''}\n`);
  });
  where(store.command('check [file]').description('check a store or backup file: SQLite integrity and schema version')).action((file: string | undefined, flags: StoreFlags) => {
    const path = file !== undefined ? resolve(file) : storePath(flags);
    process.stdout.write(`${path}: ok (schema v${checkStoreFile(path)})\n`);
  });
}

function storePath(flags: StoreFlags): string {
  if (flags.store !== undefined) return resolve(flags.store);
  try {
    return loadConfig(flags.config).store.path;
  } catch (e) {
    if (e instanceof ConfigError) throw new StoreFileError(e.message);
    throw e;
  }
}
