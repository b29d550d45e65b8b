import type { Migration } from './migration.js';

/**
 * Floating IPs (src/topology/floating-ips.ts): one row per allocated outside address, of a gateway and a project,
 * attached to at most one VM (and a VM has at most one). The references are plain foreign keys (a new table): a
 * gateway, project or VM a floating IP names cannot be deleted under it.
 */
export const v7FloatingIps: Migration = {
  version: 7,
  name: 'floating-ips',
  sql: `
    CREATE TABLE floating_ips (
      address    TEXT PRIMARY KEY,
      gateway    TEXT NOT NULL REFERENCES nodes(name),
      project    TEXT NOT NULL REFERENCES projects(name),
      vm         TEXT UNIQUE REFERENCES vms(name),
      created_at TEXT NOT NULL
    );
    CREATE INDEX floating_ips_by_gateway ON floating_ips(gateway);
    CREATE INDEX floating_ips_by_project ON floating_ips(project);
  `,
};
