// One schema migration (./index.ts lists them in order). Its own module so each migration file can name the type
// without importing the list that imports it.
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * Rebuilds a table others reference (SQLite's 12-step ALTER): foreign keys are off while it runs (a PRAGMA that only
   * takes effect outside a transaction) and `foreign_key_check` must come back empty before it commits.
   */
  readonly foreignKeysOff?: boolean;
}
