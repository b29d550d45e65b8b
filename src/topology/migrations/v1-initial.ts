import type { Migration } from './migration.js';

export const v1Initial: Migration = {
  version: 1,
  name: 'initial',
  sql: `
    CREATE TABLE meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );

    CREATE TABLE nodes (
      name        TEXT PRIMARY KEY,
      roles       TEXT NOT NULL,            -- JSON array of NodeRole
      underlay_ip TEXT NOT NULL UNIQUE,
      service_ip  TEXT,
      ssh_target  TEXT,
      az          TEXT,
      cpus        INTEGER NOT NULL CHECK (cpus >= 0),
      memory_mib  INTEGER NOT NULL CHECK (memory_mib >= 0),
      created_at  TEXT NOT NULL
    );

    CREATE TABLE subnets (
      name       TEXT PRIMARY KEY,
      cidr       TEXT NOT NULL UNIQUE,
      gateway_ip TEXT NOT NULL,
      vni        INTEGER NOT NULL UNIQUE CHECK (vni BETWEEN 1 AND 16777215),
      created_at TEXT NOT NULL
    );

    CREATE TABLE vms (
      name       TEXT PRIMARY KEY,
      subnet     TEXT NOT NULL REFERENCES subnets(name),
      node       TEXT NOT NULL REFERENCES nodes(name),
      gateway    TEXT NOT NULL REFERENCES nodes(name),
      flavor     TEXT NOT NULL,
      cpus       INTEGER NOT NULL CHECK (cpus > 0),
      memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),
      image      TEXT NOT NULL,
      ip         TEXT NOT NULL UNIQUE,
      mac        TEXT NOT NULL UNIQUE,
      port       TEXT NOT NULL,
      state      TEXT NOT NULL CHECK (state IN ('creating', 'running', 'stopped', 'deleting', 'error')),
      error      TEXT,
      created_at TEXT NOT NULL,
      UNIQUE (node, port)
    );
    CREATE INDEX vms_by_node ON vms(node);
    CREATE INDEX vms_by_subnet ON vms(subnet);
    CREATE INDEX vms_by_gateway ON vms(gateway);
  `,
};
