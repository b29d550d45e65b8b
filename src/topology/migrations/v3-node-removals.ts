import type { Migration } from './migration.js';

/**
 * Node removals whose undo on the node (what its bootstrap made) has not yet gone through: they outlive a restart.
 * The node's columns are the `nodes` row as it was (the undo reaches the node by them); `undo` is what the undo
 * needs, as JSON (the node's bootstrap spec: opaque to the store).
 */
export const v3NodeRemovals: Migration = {
  version: 3,
  name: 'node-removals',
  sql: `
    CREATE TABLE node_removals (
      name            TEXT PRIMARY KEY,
      roles           TEXT NOT NULL,
      underlay_ip     TEXT NOT NULL,
      service_ip      TEXT,
      ssh_target      TEXT,
      az              TEXT,
      cpus            INTEGER NOT NULL CHECK (cpus >= 0),
      memory_mib      INTEGER NOT NULL CHECK (memory_mib >= 0),
      created_at      TEXT NOT NULL,
      undo            TEXT NOT NULL,
      requested_at    TEXT NOT NULL,
      attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      last_error      TEXT,
      next_attempt_at TEXT NOT NULL
    );
  `,
};
