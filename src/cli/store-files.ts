// File helpers of the store commands: durable writes and the check that no process has a SQLite store open.
import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export class StoreFileError extends Error {
  override readonly name = 'StoreFileError';
}

export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `rename` then fsync of the directory: after this returns, the new name survives a crash. */
export function renameDurably(from: string, to: string): void {
  renameSync(from, to);
  const fd = openSync(dirname(to), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A WAL store that any connection has open cannot be locked exclusively; that is how a running controller shows. */
export function assertNotInUse(store: string): void {
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
