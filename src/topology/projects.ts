// Projects (tenants): every subnet, VM and security group belongs to one. A project has its own overlay range
// (default: the cloud's), its own `default`-like security group and its quotas. Plain data and checks; the store
// keeps it, src/cloud enforces it.
//
// Names of subnets, VMs and groups are unique within a project (docs/projects.md "Names"); the pipeline's model names
// them `PROJECT/NAME` (modelName), a VM's node its instance name (names.ts vmInstanceName). Addresses are per project:
// each project is a routing domain of its own in the pipeline (docs/projects.md).
import { nameProblem, PROJECT_NAME } from './names.js';
import { DEFAULT_GROUP } from './security-groups.js';

/** The project every record made before projects existed belongs to, and what requests name by default. */
export const DEFAULT_PROJECT = 'default';


/** The store's sequence (meta `seq:<this>`) of routing domain ids: never reused. */
export const DOMAIN_SEQUENCE = 'routing-domain';

/** At most this many projects: every input gets a bound. */
export const MAX_PROJECTS = 256;

export const QUOTA_KINDS = ['vms', 'vcpus', 'memoryMiB', 'subnets', 'floatingIps'] as const;
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** Upper bounds of what a project may hold; an absent kind is unlimited. */
export type Quotas = Partial<Record<QuotaKind, number>>;

/** The largest quota one may set (a bound on input; far beyond any cloud this controls). */
export const MAX_QUOTA = 1 << 30;

export interface ProjectRecord {
  readonly name: string;
  readonly description: string;
  /** Where its subnets are carved from (a CIDR); absent = the cloud's overlay range (`overlay` in the config). */
  readonly overlay?: string;
  readonly quotas: Quotas;
  readonly createdAt: string;
  /**
   * Its routing domain (model.ts `Subnet.domain`, reg2 in the pipeline): store-assigned, 1..MAX_DOMAIN, never reused
   * (the default project's is 1). The store always fills it in.
   */
  readonly domain?: number;
}

/** What a project holds, counted against its quotas. */
export type Usage = Record<QuotaKind, number>;

/** The security group a project's VMs join when given none: `default` for the default project, `NAME-default` else. */
export function projectDefaultGroup(project: string): string {
  return project === DEFAULT_PROJECT ? DEFAULT_GROUP : `${project}-default`;
}

/** The project of a record (records stored before projects existed have none: the default project's). */
export function projectOf(record: { readonly project?: string }): string {
  return record.project ?? DEFAULT_PROJECT;
}

/**
 * A subnet, VM or security group's name in the model the pipeline compiles (model.ts), which must be unique across
 * the cloud: the plain name in the default project (so an upgraded cloud's flows and metrics keep their names),
 * `PROJECT/NAME` in any other ('/' is in no project, subnet, VM or group name, STORED_NAME included).
 */
export function modelName(record: { readonly project?: string; readonly name: string }): string {
  const project = projectOf(record);
  return project === DEFAULT_PROJECT ? record.name : `${project}/${record.name}`;
}

/** Everything wrong with a quota set (empty when it is sound). */
export function quotaProblems(quotas: Quotas): string[] {
  const p: string[] = [];
  for (const [k, v] of Object.entries(quotas)) {
    if (!(QUOTA_KINDS as readonly string[]).includes(k)) p.push(`quotas.${k}: unknown quota (${QUOTA_KINDS.join(', ')})`);
    else if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > MAX_QUOTA)) p.push(`quotas.${k}: ${String(v)} is not an integer in 0..${MAX_QUOTA}`);
  }
  return p;
}

export function projectNameProblem(name: unknown): string | undefined {
  return nameProblem(PROJECT_NAME, name);
}

/**
 * What `usage + more` would exceed, in words, or undefined when it fits. Only the kinds `more` adds to are checked: a
 * project already over a lowered quota can still delete, and create what the lowered quota does not count.
 */
export function quotaExceeded(project: ProjectRecord, usage: Usage, more: Partial<Usage>): string | undefined {
  for (const kind of QUOTA_KINDS) {
    const add = more[kind] ?? 0;
    const limit = project.quotas[kind];
    if (add <= 0 || limit === undefined) continue;
    if (usage[kind] + add > limit) {
      return `project '${project.name}' has a quota of ${limit} ${QUOTA_WORDS[kind]}: ${usage[kind]} in use, this needs ${add} more`;
    }
  }
  return undefined;
}

const QUOTA_WORDS: Record<QuotaKind, string> = { vms: 'VMs', vcpus: 'vCPUs', memoryMiB: 'MiB of memory', subnets: 'subnets', floatingIps: 'floating IPs' };
