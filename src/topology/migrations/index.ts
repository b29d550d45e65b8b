// Schema migrations, applied in order inside one transaction each; `schema_migrations` records which ran.
// Never edit a released migration: add the next one. A version missing below a newer one that ran (branches merged
// in another order) is applied too.
import type { Migration } from './migration.js';
import { v1Initial } from './v1-initial.js';
import { v2ApiTokens } from './v2-api-tokens.js';
import { v3NodeRemovals } from './v3-node-removals.js';
import { v4SecurityGroups } from './v4-security-groups.js';
import { v5Projects } from './v5-projects.js';
import { v6IcmpTypeCode } from './v6-icmp-type-code.js';
import { v7RoutingDomains } from './v7-routing-domains.js';
import { v8FloatingIps } from './v8-floating-ips.js';
import { v9NamesPerProject } from './v9-names-per-project.js';

export type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [v1Initial, v2ApiTokens, v3NodeRemovals, v4SecurityGroups, v5Projects, v6IcmpTypeCode, v7RoutingDomains, v8FloatingIps, v9NamesPerProject];
