import type { Migration } from './migration.js';

/**
 * Projects. The `default` project owns everything that exists (its overlay NULL: the cloud's configured range, as
 * before); subnets, VMs and security groups get a `project` column defaulting to it. SQLite's ALTER TABLE cannot add
 * a REFERENCES column with a non-NULL default while foreign keys are on, so triggers hold the reference: a record
 * names an existing project, and a project that still owns records cannot be deleted.
 * API tokens may be scoped to one project and get the `member` role: the role's CHECK changes, so the table is
 * rebuilt (nothing references it).
 */
export const v5Projects: Migration = {
  version: 5,
  name: 'projects',
  sql: `
    CREATE TABLE projects (
      name        TEXT PRIMARY KEY,
      description TEXT NOT NULL DEFAULT '',
      overlay     TEXT,
      quotas      TEXT NOT NULL DEFAULT '{}',
      created_at  TEXT NOT NULL
    );
    INSERT INTO projects (name, description, created_at)
      VALUES ('default', 'everything made before projects existed, and what requests naming no project make', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

    ALTER TABLE subnets ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE vms ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE security_groups ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX subnets_by_project ON subnets(project);
    CREATE INDEX vms_by_project ON vms(project);
    CREATE INDEX security_groups_by_project ON security_groups(project);

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

    CREATE TABLE api_tokens_v5 (
      id           TEXT PRIMARY KEY,
      name         TEXT NOT NULL UNIQUE,
      role         TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
      project      TEXT,
      hash         TEXT NOT NULL CHECK (length(hash) = 64),
      created_at   TEXT NOT NULL,
      last_used_at TEXT,
      CHECK (role <> 'admin' OR project IS NULL),
      CHECK (role <> 'member' OR project IS NOT NULL)
    );
    INSERT INTO api_tokens_v5 (id, name, role, hash, created_at, last_used_at)
      SELECT id, name, role, hash, created_at, last_used_at FROM api_tokens;
    DROP TABLE api_tokens;
    ALTER TABLE api_tokens_v5 RENAME TO api_tokens;
  `,
};
