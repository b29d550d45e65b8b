import type { Migration } from './migration.js';

/**
 * Names are unique within a project (docs/projects.md "Names"): subnets and VMs are keyed by (project, name), security
 * groups are unique by (project, name) (their id stays the key flows use), and every reference names a record of the
 * same project: a VM's subnet, its memberships, a rule's group and remote group, a floating IP's VM. The tables that
 * hold a name key or a reference get a `project` column where they lacked one and are rebuilt (SQLite cannot change a
 * key or a constraint in place: the 12-step way, foreign keys off around the transaction and checked before it
 * commits). VMs get `instance`, their name on the node (LXD container, netns namespace, files), unique across the
 * cloud: every existing VM keeps its name there (no container is renamed by an upgrade); new VMs of other projects
 * are `PROJECT--NAME` (names.ts vmInstanceName). AUTOINCREMENT high-water marks of groups and rules are carried
 * over, so no id is ever handed out twice. The v5/v7 triggers that name the rebuilt tables are made again.
 */
export const v9NamesPerProject: Migration = {
  version: 9,
  name: 'names-per-project',
  foreignKeysOff: true,
  sql: `
    DROP TRIGGER projects_delete_empty;
    DROP TRIGGER subnets_project_exists;
    DROP TRIGGER vms_project_exists;
    DROP TRIGGER security_groups_project_exists;

    CREATE TABLE subnets_v9 (
      project    TEXT NOT NULL DEFAULT 'default',
      name       TEXT NOT NULL,
      cidr       TEXT NOT NULL,
      gateway_ip TEXT NOT NULL,
      vni        INTEGER NOT NULL UNIQUE CHECK (vni BETWEEN 1 AND 16777215),
      created_at TEXT NOT NULL,
      PRIMARY KEY (project, name),
      UNIQUE (project, cidr)
    );
    INSERT INTO subnets_v9 (project, name, cidr, gateway_ip, vni, created_at)
      SELECT project, name, cidr, gateway_ip, vni, created_at FROM subnets;
    DROP TABLE subnets;
    ALTER TABLE subnets_v9 RENAME TO subnets;
    CREATE INDEX subnets_by_name ON subnets(name);

    CREATE TABLE vms_v9 (
      project    TEXT NOT NULL DEFAULT 'default',
      name       TEXT NOT NULL,
      instance   TEXT NOT NULL UNIQUE,
      subnet     TEXT NOT NULL,
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
      transit_ip TEXT UNIQUE,
      PRIMARY KEY (project, name),
      FOREIGN KEY (project, subnet) REFERENCES subnets(project, name),
      UNIQUE (node, port),
      UNIQUE (project, ip)
    );
    INSERT INTO vms_v9 (project, name, instance, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, transit_ip)
      SELECT project, name, name, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, error, created_at, transit_ip FROM vms;
    DROP TABLE vms;
    ALTER TABLE vms_v9 RENAME TO vms;
    CREATE INDEX vms_by_name ON vms(name);
    CREATE INDEX vms_by_node ON vms(node);
    CREATE INDEX vms_by_subnet ON vms(project, subnet);
    CREATE INDEX vms_by_gateway ON vms(gateway);

    CREATE TABLE security_groups_v9 (
      id          INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id BETWEEN 1 AND 65535),
      project     TEXT NOT NULL DEFAULT 'default',
      name        TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      created_at  TEXT NOT NULL,
      UNIQUE (project, name)
    );
    INSERT INTO security_groups_v9 (id, project, name, description, created_at)
      SELECT id, project, name, description, created_at FROM security_groups;

    CREATE TABLE security_rules_v9 (
      id           INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id BETWEEN 1 AND 16777215),
      project      TEXT NOT NULL DEFAULT 'default',
      group_name   TEXT NOT NULL,
      direction    TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),
      protocol     TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp', 'any')),
      port_min     INTEGER CHECK (port_min BETWEEN 1 AND 65535),
      port_max     INTEGER CHECK (port_max BETWEEN 1 AND 65535),
      icmp_type    INTEGER CHECK (icmp_type BETWEEN 0 AND 255),
      icmp_code    INTEGER CHECK (icmp_code BETWEEN 0 AND 255),
      remote_cidr  TEXT,
      remote_group TEXT,
      created_at   TEXT NOT NULL,
      FOREIGN KEY (project, group_name) REFERENCES security_groups(project, name) ON DELETE CASCADE,
      FOREIGN KEY (project, remote_group) REFERENCES security_groups(project, name) ON DELETE RESTRICT,
      CHECK ((remote_cidr IS NULL) <> (remote_group IS NULL)),
      CHECK ((port_min IS NULL) = (port_max IS NULL) AND (port_min IS NULL OR port_min <= port_max))
    );
    INSERT INTO security_rules_v9 (id, project, group_name, direction, protocol, port_min, port_max, icmp_type, icmp_code, remote_cidr, remote_group, created_at)
      SELECT r.id, g.project, r.group_name, r.direction, r.protocol, r.port_min, r.port_max, r.icmp_type, r.icmp_code, r.remote_cidr, r.remote_group, r.created_at
      FROM security_rules r JOIN security_groups g ON g.name = r.group_name;

    CREATE TABLE vm_security_groups_v9 (
      project    TEXT NOT NULL DEFAULT 'default',
      vm         TEXT NOT NULL,
      group_name TEXT NOT NULL,
      PRIMARY KEY (project, vm, group_name),
      FOREIGN KEY (project, vm) REFERENCES vms(project, name) ON DELETE CASCADE,
      FOREIGN KEY (project, group_name) REFERENCES security_groups(project, name) ON DELETE RESTRICT
    );
    INSERT INTO vm_security_groups_v9 (project, vm, group_name)
      SELECT v.project, m.vm, m.group_name FROM vm_security_groups m JOIN vms v ON v.name = m.vm;

    CREATE TABLE floating_ips_v9 (
      address    TEXT PRIMARY KEY,
      gateway    TEXT NOT NULL REFERENCES nodes(name),
      project    TEXT NOT NULL REFERENCES projects(name),
      vm         TEXT,
      created_at TEXT NOT NULL,
      FOREIGN KEY (project, vm) REFERENCES vms(project, name),
      UNIQUE (project, vm)
    );
    INSERT INTO floating_ips_v9 (address, gateway, project, vm, created_at)
      SELECT address, gateway, project, vm, created_at FROM floating_ips;

    -- No id ever handed out twice: the new tables' AUTOINCREMENT marks start where the old ones were.
    INSERT INTO sqlite_sequence (name, seq) SELECT t.v9, 0 FROM (SELECT 'security_groups_v9' AS v9 UNION ALL SELECT 'security_rules_v9') t
      WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence s WHERE s.name = t.v9);
    UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT o.seq FROM sqlite_sequence o WHERE o.name = 'security_groups'), 0)) WHERE name = 'security_groups_v9';
    UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT o.seq FROM sqlite_sequence o WHERE o.name = 'security_rules'), 0)) WHERE name = 'security_rules_v9';

    DROP TABLE floating_ips;
    DROP TABLE vm_security_groups;
    DROP TABLE security_rules;
    DROP TABLE security_groups;
    ALTER TABLE security_groups_v9 RENAME TO security_groups;
    ALTER TABLE security_rules_v9 RENAME TO security_rules;
    ALTER TABLE vm_security_groups_v9 RENAME TO vm_security_groups;
    ALTER TABLE floating_ips_v9 RENAME TO floating_ips;
    CREATE INDEX security_groups_by_name ON security_groups(name);
    CREATE INDEX security_rules_by_group ON security_rules(project, group_name);
    CREATE INDEX security_rules_by_remote ON security_rules(project, remote_group);
    CREATE INDEX vm_security_groups_by_group ON vm_security_groups(project, group_name);
    CREATE INDEX floating_ips_by_gateway ON floating_ips(gateway);
    CREATE INDEX floating_ips_by_project ON floating_ips(project);

    CREATE TRIGGER subnets_project_exists BEFORE INSERT ON subnets
      WHEN NOT EXISTS (SELECT 1 FROM projects WHERE name = NEW.project)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such project'); END;
    CREATE TRIGGER vms_project_exists BEFORE INSERT ON vms
      WHEN NOT EXISTS (SELECT 1 FROM projects WHERE name = NEW.project)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such project'); END;
    CREATE TRIGGER security_groups_project_exists BEFORE INSERT ON security_groups
      WHEN NOT EXISTS (SELECT 1 FROM projects WHERE name = NEW.project)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such project'); END;
    CREATE TRIGGER projects_delete_empty BEFORE DELETE ON projects
      WHEN EXISTS (SELECT 1 FROM subnets WHERE project = OLD.name)
        OR EXISTS (SELECT 1 FROM vms WHERE project = OLD.name)
        OR EXISTS (SELECT 1 FROM security_groups WHERE project = OLD.name)
      BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: the project still owns records'); END;
  `,
};
