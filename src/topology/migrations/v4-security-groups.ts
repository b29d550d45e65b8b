import type { Migration } from './migration.js';

/**
 * Security groups, their rules and VM memberships. Existing data gets the `default` group with the usual cloud
 * semantics (all egress; ingress from members of default) and every existing VM joins it, so an upgraded cloud keeps
 * VM-to-VM traffic and egress working and gains port security and stateful filtering. Ids are AUTOINCREMENT (never
 * reused): a rule's id names its flows (cookies), so a deleted rule's leftovers can never be taken for a new one's.
 * A group a VM or another group's rule refers to cannot be deleted (RESTRICT); a VM's memberships go with it.
 */
export const v4SecurityGroups: Migration = {
  version: 4,
  name: 'security-groups',
  sql: `
    CREATE TABLE security_groups (
      id          INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id BETWEEN 1 AND 65535),
      name        TEXT NOT NULL UNIQUE,
      description TEXT NOT NULL DEFAULT '',
      created_at  TEXT NOT NULL
    );

    CREATE TABLE security_rules (
      id           INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id BETWEEN 1 AND 16777215),
      group_name   TEXT NOT NULL REFERENCES security_groups(name) ON DELETE CASCADE,
      direction    TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),
      protocol     TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp', 'any')),
      port_min     INTEGER CHECK (port_min BETWEEN 1 AND 65535),
      port_max     INTEGER CHECK (port_max BETWEEN 1 AND 65535),
      remote_cidr  TEXT,
      remote_group TEXT REFERENCES security_groups(name) ON DELETE RESTRICT,
      created_at   TEXT NOT NULL,
      CHECK ((remote_cidr IS NULL) <> (remote_group IS NULL)),
      CHECK ((port_min IS NULL) = (port_max IS NULL) AND (port_min IS NULL OR port_min <= port_max))
    );
    CREATE INDEX security_rules_by_group ON security_rules(group_name);
    CREATE INDEX security_rules_by_remote ON security_rules(remote_group);

    CREATE TABLE vm_security_groups (
      vm         TEXT NOT NULL REFERENCES vms(name) ON DELETE CASCADE,
      group_name TEXT NOT NULL REFERENCES security_groups(name) ON DELETE RESTRICT,
      PRIMARY KEY (vm, group_name)
    );
    CREATE INDEX vm_security_groups_by_group ON vm_security_groups(group_name);

    INSERT INTO security_groups (name, description, created_at)
      VALUES ('default', 'every VM not given a group: all egress, ingress from members of default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    INSERT INTO security_rules (group_name, direction, protocol, remote_cidr, created_at)
      VALUES ('default', 'egress', 'any', '0.0.0.0/0', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    INSERT INTO security_rules (group_name, direction, protocol, remote_group, created_at)
      VALUES ('default', 'ingress', 'any', 'default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    INSERT INTO vm_security_groups (vm, group_name) SELECT name, 'default' FROM vms;
  `,
};
