import type { Migration } from './migration.js';

/**
 * Routing domains (docs/projects.md): each project gets a domain id, never reused (`meta seq:routing-domain`); the
 * default project's is 1, projects made before in creation order get 2, 3... Addresses become per project: a subnet
 * block and a VM address are unique within their project (the same CIDR and the same VM IPs may exist in two), and a
 * VM of a non-default project holds a cloud-unique transit address (north-south.ts). SQLite cannot drop a UNIQUE
 * constraint, so `subnets` and `vms` are rebuilt (the documented 12-step way: foreign keys off around the
 * transaction, checked before it commits); the v5 triggers that name them are made again.
 */
export const v7RoutingDomains: Migration = {
  version: 7,
  name: 'routing-domains',
  foreignKeysOff: true,
  sql: `
    ALTER TABLE projects ADD COLUMN domain INTEGER CHECK (domain BETWEEN 1 AND 65535);
    UPDATE projects SET domain = 1 WHERE name = 'default';
    UPDATE projects SET domain = 1 + (
      SELECT COUNT(*) FROM projects p WHERE p.name <> 'default'
        AND (p.created_at < projects.created_at OR (p.created_at = projects.created_at AND p.name <= projects.name))
    ) WHERE name <> 'default';
    CREATE UNIQUE INDEX projects_by_domain ON projects(domain);
    INSERT INTO meta (key, value) SELECT 'seq:routing-domain', CAST(MAX(domain) AS TEXT) FROM projects WHERE true
      ON CONFLICT (key) DO UPDATE SET value = excluded.value;

    DROP TRIGGER projects_delete_empty;
    DROP TRIGGER subnets_project_exists;
    DROP TRIGGER vms_project_exists;

    CREATE TABLE subnets_v7 (
      name       TEXT PRIMARY KEY,
      cidr       TEXT NOT NULL,
      gateway_ip TEXT NOT NULL,
      vni        INTEGER NOT NULL UNIQUE CHECK (vni BETWEEN 1 AND 16777215),
      created_at TEXT NOT NULL,
      project    TEXT NOT NULL DEFAULT 'default',
      UNIQUE (project, cidr)
    );
    INSERT INTO subnets_v7 (name, cidr, gateway_ip, vni, created_at, project)
      SELECT name, cidr, gateway_ip, vni, created_at, project FROM subnets;
    DROP TABLE subnets;
    ALTER TABLE subnets_v7 RENAME TO subnets;
    CREATE INDEX subnets_by_project ON subnets(project);

    CREATE TABLE vms_v7 (
      name       TEXT PRIMARY KEY,
      subnet     TEXT NOT NULL REFERENCES subnets(name),
      node       TEXT NOT NULL REFERENCES nodes(name),
      gateway    TEXT NOT NULL REFERENCES nodes(name),
      flavor     TEXT NOT NULL,
      cpus       INTEGER NOT NULL CHECK (cpus > 0),
      memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),
      image      TEXT NOT NULL,
      ip         TEXT NOT NULL,
      mac        TEXT NOT NULL UNIQUE,
      port       TEXT NOT NULL,
      state      TEXT NOT NULL CHECK (state IN ('creating', 'running', 'stopped', 'deleting', 'error')),
      error      TEXT,
      created_at TEXT NOT NULL,
      project    TEXT NOT NULL DEFAULT 'default',
      transit_ip TEXT UNIQUE,
      UNIQUE (node, port),
      UNIQUE (project, ip)
    );
    INSERT INTO vms_v7 (name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, project)
      SELECT name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, project FROM vms;
    DROP TABLE vms;
    ALTER TABLE vms_v7 RENAME TO vms;
    CREATE INDEX vms_by_node ON vms(node);
    CREATE INDEX vms_by_subnet ON vms(subnet);
    CREATE INDEX vms_by_gateway ON vms(gateway);
    CREATE INDEX vms_by_project ON vms(project);

    CREATE TRIGGER subnets_project_exists BEFORE INSERT ON subnets
      WHEN NOT EXISTS (SELECT 1 FROM projects WHERE name = NEW.project)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such project'); END;
    CREATE TRIGGER vms_project_exists BEFORE INSERT ON vms
      WHEN NOT EXISTS (SELECT 1 FROM projects WHERE name = NEW.project)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such project'); END;
    CREATE TRIGGER projects_delete_empty BEFORE DELETE ON projects
      WHEN EXISTS (SELECT 1 FROM subnets WHERE project = OLD.name)
        OR EXISTS (SELECT 1 FROM vms WHERE project = OLD.name)
        OR EXISTS (SELECT 1 FROM security_groups WHERE project = OLD.name)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: the project still owns records'); END;
  `,
};
