import type { Migration } from './migration.js';

/**
 * API tokens, several and named, each with a role, kept only as a SHA-256 hash. The single token of v1 (meta
 * `api_token`, in plaintext) becomes the admin token 'initial' under the fixed id 'legacy' (its text has no id of its
 * own), and its plaintext is deleted. `sha256_hex` is registered by the store before migrating.
 */
export const v2ApiTokens: Migration = {
  version: 2,
  name: 'api tokens',
  sql: `
    CREATE TABLE api_tokens (
      id           TEXT PRIMARY KEY,
      name         TEXT NOT NULL UNIQUE,
      role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
      hash         TEXT NOT NULL CHECK (length(hash) = 64),
      created_at   TEXT NOT NULL,
      last_used_at TEXT
    );

    INSERT INTO api_tokens (id, name, role, hash, created_at)
      SELECT 'legacy', 'initial', 'admin', sha256_hex(value), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM meta WHERE key = 'api_token';
    DELETE FROM meta WHERE key = 'api_token';
  `,
};
