// The controller's configuration: one YAML or JSON file (every key optional, defaults below and in docs/configuration.md)
// plus MINICLOUD_* environment overrides, validated with TypeBox. Errors name the key (`api.port: must be <= 65535`).
import { isIP } from 'node:net';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { DEFAULT_MAX_UNKNOWN_DATAPATHS } from '../runtime/admission.js';
import { DEFAULT_MULTIPART_MAX_BYTES, DEFAULT_MULTIPART_MAX_PARTS, DEFAULT_MULTIPART_TIMEOUT_MS } from '../runtime/connection.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from '../api/limits.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../hosts/executor.js';
import { BROADCAST_MODES, DHCP_MODES, type BroadcastMode, type DhcpMode } from '../pipeline/modes.js';
import { DEFAULT_UNDERLAY_MTU, MAX_UNDERLAY_MTU, MIN_UNDERLAY_MTU } from '../pipeline/mtu.js';
import { DEFAULT_MAX_CONCURRENT_SYNCS } from '../runtime/controller.js';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_PER_ADDRESS } from '../runtime/datapaths.js';
import { ConfigFileError, readConfigFile, type ConfigFileText } from './config-file.js';
import { GatewayFailoverSchema, gatewayFailoverSettings } from './gateway-failover-config.js';
import { floatingIpPools, FloatingIpsSchema } from './floating-ip-config.js';
import type { FloatingIpPool } from '../topology/floating-ips.js';
import type { GatewayFailoverSettings } from './gateway-health.js';
import { overlaps } from '../topology/ipam.js';
import { parseCidr, type Cidr } from '../topology/model.js';
import { DEFAULT_TRANSIT_RANGE } from '../topology/north-south.js';

const BACKENDS = ['none', 'netns', 'lxd'] as const;
/** A dead leader is replaced after about this long (leadership.ts says why 5). */
export const DEFAULT_LEASE_TTL_SECONDS = 5;
export type BackendKind = (typeof BACKENDS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const Backend = Type.Union(BACKENDS.map((b) => Type.Literal(b)));
const Endpoint = Type.String({ pattern: '^(tcp|ssl|unix):.+$' });
const Dpid = Type.String({ pattern: '^[0-9a-fA-F]{1,16}$' });
/** Output limits, bytes per stream: at least 64 KiB (our own commands print that much), at most 1 GiB. */
const OutputBytes = Type.Integer({ minimum: 64 * 1024, maximum: 1024 * 1024 * 1024 });

/** The file's schema. Every key is optional; `resolveConfig` fills in the defaults. */
const UnderlayMtu = Type.Integer({ minimum: MIN_UNDERLAY_MTU, maximum: MAX_UNDERLAY_MTU });

export const ConfigSchema = Type.Object(
  {
    openflow: Type.Optional(
      Type.Object(
        {
          listen: Type.Optional(Type.Array(Endpoint)),
          connect: Type.Optional(Type.Array(Endpoint)),
          tls: Type.Optional(
            Type.Object(
              {
                key: Type.String({ minLength: 1 }),
                cert: Type.String({ minLength: 1 }),
                ca: Type.String({ minLength: 1 }),
                /** An ssl: switch's certificate must name its node or datapath id (src/runtime/peer-identity.ts). */
                requireNodeIdentity: Type.Optional(Type.Boolean()),
                /** ssl: connect targets: the switch's certificate must be for the host connected to. */
                verifyHostname: Type.Optional(Type.Boolean()),
              },
              { additionalProperties: false },
            ),
          ),
          echoIntervalSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          /** Node name -> datapath id (16 hex digits) for bridges whose id is not the one derived from the name. */
          datapathIds: Type.Optional(Type.Record(Type.String(), Dpid)),
          /** Full syncs (they read the switch's flow table, as on every connect) running at once; the others queue. */
          maxConcurrentSyncs: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
          /** Sync work gives way to connecting switches (src/runtime/turns.ts). */
          yieldToConnections: Type.Optional(Type.Boolean()),
          /** OpenFlow connections at once (handshaken or not); more are refused at accept. */
          maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
          /** Connections from one IP address still in their handshake; more from that address are refused. */
          maxPendingPerAddress: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
          /** Bounds on one whole multipart reply (e.g. a switch's flow table): bytes, parts, seconds. */
          multipartMaxBytes: Type.Optional(Type.Integer({ minimum: 65536 })),
          multipartMaxParts: Type.Optional(Type.Integer({ minimum: 1 })),
          multipartTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86400 })),
          /** Connected datapaths whose id belongs to no node, at once; more are refused. */
          maxUnknownDatapaths: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000 })),
          /** A node's datapath id is accepted only from the node's recorded addresses. */
          pinAddresses: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    api: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          auth: Type.Optional(Type.Boolean()),
          /** Request limits (src/api/limits.ts). */
          bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 })),
          maxHeaderBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1024 })),
          headersTimeoutSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 300 })),
          requestTimeoutSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 3600 })),
          keepAliveTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 600 })),
          connectionTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })),
          maxRequestsPerSocket: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    store: Type.Optional(
      Type.Object(
        {
          backend: Type.Optional(Type.Union([Type.Literal('sqlite'), Type.Literal('etcd')])),
          path: Type.Optional(Type.String({ minLength: 1 })),
          etcd: Type.Optional(
            Type.Object(
              {
                endpoints: Type.Optional(Type.Array(Type.String({ pattern: '^https?://[^\\s/]+(:[0-9]{1,5})?/?$', maxLength: 256 }), { minItems: 1, maxItems: 15 })),
                prefix: Type.Optional(Type.String({ pattern: '^/([A-Za-z0-9._-]+/)+$', maxLength: 128 })),
                requestTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 60 })),
                /** Leader election (src/daemon/leadership.ts): the lease's TTL, and this controller's name in it. */
                leaseTtlSeconds: Type.Optional(Type.Integer({ minimum: 2, maximum: 60 })),
                controllerId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:@/-]{1,128}$' })),
                tls: Type.Optional(
                  Type.Object({ ca: Type.String({ pattern: '^/' }), cert: Type.Optional(Type.String({ pattern: '^/' })), key: Type.Optional(Type.String({ pattern: '^/' })) }, { additionalProperties: false }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    overlay: Type.Optional(Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$' })),
    stats: Type.Optional(Type.Object({ intervalSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600 })) }, { additionalProperties: false })),
    /** Drift repair (src/runtime/verifier.ts): every switch re-verified this often, jittered +-20 %; 0 turns it off. */
    sync: Type.Optional(Type.Object({ verifyIntervalSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })) }, { additionalProperties: false })),
    vms: Type.Optional(
      Type.Object(
        {
          backend: Type.Optional(Backend),
          /** Per node name: overrides `backend`. */
          nodes: Type.Optional(Type.Record(Type.String(), Backend)),
          /** Lab mode: node N is the network namespace N with its own OVS in `<labDir>/N` (src/lab/ovs.ts). */
          labDir: Type.Optional(Type.String({ pattern: '^/' })),
          stateDir: Type.Optional(Type.String({ pattern: '^/' })),
          netnsPrefix: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,7}$' })),
          lxdImage: Type.Optional(Type.String({ minLength: 1 })),
          /** How long a VM create / delete on a node may take before the VM is kept in 'error' (cleanup pending). */
          createTimeoutSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
          deleteTimeoutSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
          /** `vm exec`: most bytes of stdout and of stderr returned; a command printing more is killed (400). */
          execMaxOutputBytes: Type.Optional(OutputBytes),
          ssh: Type.Optional(
            Type.Object(
              {
                user: Type.Optional(Type.String({ minLength: 1 })),
                keyFile: Type.String({ pattern: '^/' }),
                knownHostsFile: Type.Optional(Type.String({ pattern: '^/' })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    /** Commands the controller runs on nodes (locally, in a namespace, over SSH). */
    hosts: Type.Optional(
      Type.Object(
        {
          /** Most bytes kept of a command's stdout and of its stderr; a command printing more is killed. */
          maxOutputBytes: Type.Optional(OutputBytes),
        },
        { additionalProperties: false },
      ),
    ),
    log: Type.Optional(Type.Object({ level: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))) }, { additionalProperties: false })),
    /** Node provisioning from the store (src/daemon/provisioning.ts): bridges, tunnels, gateway NAT, DHCP. */
    provisioning: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          /** OpenFlow targets the nodes' br0 connect to (e.g. 'tcp:10.0.0.1:6653'); lab mode derives its own. */
          controller: Type.Optional(Type.Array(Endpoint)),
          /** Userspace tunnelling: the node's underlay NIC goes on br-phy, which holds `underlayIp/prefixLength`. */
          underlay: Type.Optional(
            Type.Object({ device: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,15}$' }), prefixLength: Type.Integer({ minimum: 1, maximum: 32 }) }, { additionalProperties: false }),
          ),
          /** Gateways: NAT only traffic leaving through this interface. */
          egressInterface: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,15}$' })),
          /** Bookkeeping on each node (lab mode: `<labDir>/<node>/state`). */
          stateDir: Type.Optional(Type.String({ pattern: '^/' })),
          /** OVS's reconnect backoff cap for br0's controller connection, ms (OVS default 8000). */
          maxBackoffMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 60000 })),
          /** Install each node's TLS key and certificates (`<dir>/<node>-privkey.pem`, `-cert.pem`; `ca`) with set-ssl. */
          tls: Type.Optional(Type.Object({ dir: Type.String({ pattern: '^/' }), ca: Type.String({ pattern: '^/' }) }, { additionalProperties: false })),
          /** A failed or waiting node is retried after retryMinSeconds, doubling (jittered) up to retryMaxSeconds. */
          retryMinSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600 })),
          retryMaxSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 86400 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Moving VMs off failed gateways (src/daemon/gateway-health.ts): detection graces and BFD. */
    gatewayFailover: Type.Optional(GatewayFailoverSchema),
    /** Floating IPs: each gateway's pool of outside addresses (src/daemon/floating-ip-config.ts). */
    floatingIps: Type.Optional(FloatingIpsSchema),
    /** /metrics: whether it needs an API token (any role). Default: yes unless the API listens on loopback. */
    metrics: Type.Optional(Type.Object({ auth: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
    /** The underlay network (docs/configuration.md, "network"): its MTU sets every VM's (minus VXLAN's 50 bytes). */
    network: Type.Optional(
      Type.Object(
        {
          underlayMtu: Type.Optional(UnderlayMtu),
          /** Nodes whose underlay MTU differs from underlayMtu, by node name. */
          underlayMtuByNode: Type.Optional(Type.Record(Type.String({ minLength: 1 }), UnderlayMtu)),
          /** Who answers VMs' DHCP: the controller itself (default), or the DHCP node's dnsmasq. */
          dhcp: Type.Optional(Type.Union(DHCP_MODES.map((m) => Type.Literal(m)))),
          /** Who replicates a subnet's broadcast to the other nodes: the sending node (default) or the switch node. */
          broadcast: Type.Optional(Type.Union(BROADCAST_MODES.map((m) => Type.Literal(m)))),
          /** Lease length the controller gives, seconds (T1 is half of it, T2 7/8). */
          dhcpLeaseSeconds: Type.Optional(Type.Integer({ minimum: 120, maximum: 31_536_000 })),
          /** DNS servers the controller's DHCP announces (option 6); none by default. */
          dns: Type.Optional(Type.Array(Type.String({ pattern: '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$' }), { maxItems: 8 })),
          /** Transit addresses of non-default projects' VMs (topology/north-south.ts); must not overlap `overlay`. */
          transitRange: Type.Optional(Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ConfigFile = Static<typeof ConfigSchema>;

/** The configuration with every default filled in. */
export interface Config {
  readonly openflow: {
    readonly listen: readonly string[];
    readonly connect: readonly string[];
    readonly tls?: { readonly key: string; readonly cert: string; readonly ca: string; readonly requireNodeIdentity: boolean; readonly verifyHostname: boolean };
    readonly echoIntervalSeconds: number;
    readonly datapathIds: Readonly<Record<string, string>>;
    readonly maxConcurrentSyncs: number;
    readonly yieldToConnections: boolean;
    readonly maxConnections: number;
    readonly maxPendingPerAddress: number;
    readonly multipartMaxBytes: number;
    readonly multipartMaxParts: number;
    readonly multipartTimeoutSeconds: number;
    readonly maxUnknownDatapaths: number;
    readonly pinAddresses: boolean;
  };
  readonly api: { readonly host: string; readonly port: number; readonly auth: boolean; readonly limits: ApiLimits };
  readonly store: {
    readonly backend: 'sqlite' | 'etcd';
    /** The SQLite file (backend sqlite). */
    readonly path: string;
    readonly etcd?: {
      readonly endpoints: readonly string[];
      readonly prefix: string;
      readonly requestTimeoutMs: number;
      readonly leaseTtlSeconds: number;
      /** Unset: `<hostname>/<pid>`. */
      readonly controllerId?: string;
      readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string };
    };
  };
  readonly overlay: string;
  readonly stats: { readonly intervalSeconds: number };
  readonly sync: { readonly verifyIntervalSeconds: number };
  readonly vms: {
    readonly backend: BackendKind;
    readonly nodes: Readonly<Record<string, BackendKind>>;
    readonly labDir?: string;
    readonly stateDir: string;
    readonly netnsPrefix: string;
    readonly lxdImage: string;
    /** Unset: CloudService's defaults (DEFAULT_BACKEND_TIMEOUTS). */
    readonly createTimeoutSeconds?: number;
    readonly deleteTimeoutSeconds?: number;
    readonly execMaxOutputBytes: number;
    readonly ssh?: { readonly user: string; readonly keyFile: string; readonly knownHostsFile: string };
  };
  readonly hosts: { readonly maxOutputBytes: number };
  readonly log: { readonly level: (typeof LOG_LEVELS)[number] };
  readonly provisioning: {
    readonly enabled: boolean;
    readonly controller: readonly string[];
    readonly underlay?: { readonly device: string; readonly prefixLength: number };
    readonly egressInterface?: string;
    readonly stateDir: string;
    readonly maxBackoffMs?: number;
    readonly tls?: { readonly dir: string; readonly ca: string };
    readonly retryMinSeconds: number;
    readonly retryMaxSeconds: number;
  };
  readonly gatewayFailover: GatewayFailoverSettings;
  readonly floatingIps: { readonly pools: readonly FloatingIpPool[] };
  /** `auth`: /metrics needs a token (always false when `api.auth` is). */
  readonly metrics: { readonly auth: boolean };
  readonly network: {
    readonly underlayMtu: number;
    readonly underlayMtuByNode: Readonly<Record<string, number>>;
    readonly dhcp: DhcpMode;
    readonly broadcast: BroadcastMode;
    readonly dhcpLeaseSeconds: number;
    readonly dns: readonly string[];
    /** Where VMs of non-default projects get their north-south (transit) address (topology/north-south.ts). */
    readonly transitRange: string;
  };
}

export const DEFAULTS = {
  listen: ['tcp:6653'],
  apiHost: '127.0.0.1',
  apiPort: 8080,
  storePath: '/var/lib/minicloud/cloud.db',
  overlay: '192.168.20.0/22',
  statsIntervalSeconds: 15,
  echoIntervalSeconds: 5,
  maxConcurrentSyncs: DEFAULT_MAX_CONCURRENT_SYNCS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxPendingPerAddress: DEFAULT_MAX_PENDING_PER_ADDRESS,
  multipartMaxBytes: DEFAULT_MULTIPART_MAX_BYTES,
  multipartMaxParts: DEFAULT_MULTIPART_MAX_PARTS,
  multipartTimeoutSeconds: DEFAULT_MULTIPART_TIMEOUT_MS / 1000,
  maxUnknownDatapaths: DEFAULT_MAX_UNKNOWN_DATAPATHS,
  stateDir: '/var/lib/minicloud/vms',
  netnsPrefix: 'vm-',
  lxdImage: 'minicloud-busybox',
  hostsMaxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
  execMaxOutputBytes: 1024 * 1024,
  sshUser: 'root',
  knownHostsFile: '/var/lib/minicloud/known_hosts',
  logLevel: 'info',
  provisioningStateDir: '/var/lib/minicloud',
  dhcp: 'controller',
  broadcast: 'head-end',
  /** 12 hours, as the DHCP node's dnsmasq: a VM renews after 6 h, so a controller may be away for hours unnoticed. */
  dhcpLeaseSeconds: 43_200,
  verifyIntervalSeconds: 60,
  provisioningRetryMinSeconds: 5,
  provisioningRetryMaxSeconds: 300,
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type EnvKind = 'string' | 'list' | 'int' | 'number' | 'bool';
/** MINICLOUD_* variable -> config key path and how its text is read. */
export const ENV_KEYS: readonly (readonly [string, readonly string[], EnvKind])[] = [
  ['MINICLOUD_OPENFLOW_LISTEN', ['openflow', 'listen'], 'list'],
  ['MINICLOUD_OPENFLOW_CONNECT', ['openflow', 'connect'], 'list'],
  ['MINICLOUD_TLS_KEY', ['openflow', 'tls', 'key'], 'string'],
  ['MINICLOUD_TLS_CERT', ['openflow', 'tls', 'cert'], 'string'],
  ['MINICLOUD_TLS_CA', ['openflow', 'tls', 'ca'], 'string'],
  ['MINICLOUD_TLS_REQUIRE_NODE_IDENTITY', ['openflow', 'tls', 'requireNodeIdentity'], 'bool'],
  ['MINICLOUD_TLS_VERIFY_HOSTNAME', ['openflow', 'tls', 'verifyHostname'], 'bool'],
  ['MINICLOUD_ECHO_INTERVAL_SECONDS', ['openflow', 'echoIntervalSeconds'], 'number'],
  ['MINICLOUD_OPENFLOW_MAX_CONCURRENT_SYNCS', ['openflow', 'maxConcurrentSyncs'], 'int'],
  ['MINICLOUD_OPENFLOW_YIELD_TO_CONNECTIONS', ['openflow', 'yieldToConnections'], 'bool'],
  ['MINICLOUD_OPENFLOW_MAX_CONNECTIONS', ['openflow', 'maxConnections'], 'int'],
  ['MINICLOUD_OPENFLOW_PIN_ADDRESSES', ['openflow', 'pinAddresses'], 'bool'],
  ['MINICLOUD_API_HOST', ['api', 'host'], 'string'],
  ['MINICLOUD_API_PORT', ['api', 'port'], 'int'],
  ['MINICLOUD_API_AUTH', ['api', 'auth'], 'bool'],
  ['MINICLOUD_STORE_PATH', ['store', 'path'], 'string'],
  ['MINICLOUD_STORE_BACKEND', ['store', 'backend'], 'string'],
  ['MINICLOUD_STORE_ETCD_ENDPOINTS', ['store', 'etcd', 'endpoints'], 'list'],
  ['MINICLOUD_STORE_ETCD_CONTROLLER_ID', ['store', 'etcd', 'controllerId'], 'string'],
  ['MINICLOUD_STORE_ETCD_LEASE_TTL_SECONDS', ['store', 'etcd', 'leaseTtlSeconds'], 'int'],
  ['MINICLOUD_OVERLAY', ['overlay'], 'string'],
  ['MINICLOUD_STATS_INTERVAL_SECONDS', ['stats', 'intervalSeconds'], 'number'],
  ['MINICLOUD_SYNC_VERIFY_INTERVAL_SECONDS', ['sync', 'verifyIntervalSeconds'], 'number'],
  ['MINICLOUD_VM_BACKEND', ['vms', 'backend'], 'string'],
  ['MINICLOUD_VM_LAB_DIR', ['vms', 'labDir'], 'string'],
  ['MINICLOUD_VM_STATE_DIR', ['vms', 'stateDir'], 'string'],
  ['MINICLOUD_VM_EXEC_MAX_OUTPUT_BYTES', ['vms', 'execMaxOutputBytes'], 'int'],
  ['MINICLOUD_HOSTS_MAX_OUTPUT_BYTES', ['hosts', 'maxOutputBytes'], 'int'],
  ['MINICLOUD_LOG_LEVEL', ['log', 'level'], 'string'],
  ['MINICLOUD_PROVISIONING_ENABLED', ['provisioning', 'enabled'], 'bool'],
  ['MINICLOUD_PROVISIONING_CONTROLLER', ['provisioning', 'controller'], 'list'],
  ['MINICLOUD_PROVISIONING_UNDERLAY_DEVICE', ['provisioning', 'underlay', 'device'], 'string'],
  ['MINICLOUD_PROVISIONING_UNDERLAY_PREFIX_LENGTH', ['provisioning', 'underlay', 'prefixLength'], 'int'],
  ['MINICLOUD_NETWORK_UNDERLAY_MTU', ['network', 'underlayMtu'], 'int'],
  ['MINICLOUD_NETWORK_DHCP', ['network', 'dhcp'], 'string'],
  ['MINICLOUD_NETWORK_BROADCAST', ['network', 'broadcast'], 'string'],
  ['MINICLOUD_PROVISIONING_EGRESS_INTERFACE', ['provisioning', 'egressInterface'], 'string'],
  ['MINICLOUD_PROVISIONING_TLS_DIR', ['provisioning', 'tls', 'dir'], 'string'],
  ['MINICLOUD_PROVISIONING_TLS_CA', ['provisioning', 'tls', 'ca'], 'string'],
  ['MINICLOUD_METRICS_AUTH', ['metrics', 'auth'], 'bool'],
];

/**
 * Reads FILE (YAML or JSON, see config-file.ts) if given, applies the environment (which wins over the file),
 * validates the result once and fills in defaults. Each problem names the file's line of the key, or the variable
 * that set it.
 */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  if (path === undefined) return resolveConfig({}, env, 'environment');
  let file: ConfigFileText;
  try {
    file = readConfigFile(path);
  } catch (e) {
    if (e instanceof ConfigFileError) throw new ConfigError(e.message);
    throw e;
  }
  const { data } = file;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(`${path}:${file.lineOf([]) ?? 1}: the configuration must be a mapping of keys (an object)`);
  return resolveConfig(data, env, path, file);
}

interface Problem {
  /** The key the problem is about (for an unknown key: that key). */
  readonly keys: readonly string[];
  /** `api.port: must be <= 65535` */
  readonly text: string;
  readonly unknownKey: boolean;
}

/** The schema's errors, with a union of literals said once (`must be one of none, netns, lxd`). */
function schemaProblems(data: unknown): Problem[] {
  const errors = [...Value.Errors(ConfigSchema, data)].filter((e) => e.keyword !== 'boolean' || e.instancePath === '');
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === 'const') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), (e.params as { allowedValue?: unknown }).allowedValue]);
  const out: Problem[] = [];
  for (const e of errors) {
    const values = allowed.get(e.instancePath);
    if (values !== undefined && e.keyword !== 'anyOf') continue;
    const params = (values === undefined ? e.params : {}) as Record<string, unknown>;
    const keys = e.instancePath.split('/').slice(1).map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const unknown = params['additionalProperties'];
    out.push({
      keys: Array.isArray(unknown) ? [...keys, String(unknown[0])] : keys,
      text: describe(e.instancePath, values === undefined ? e.message : `must be one of ${values.join(', ')}`, params),
      unknownKey: Array.isArray(unknown),
    });
  }
  return out;
}

/**
 * RAW (a file's data, or an object) with the environment applied, validated, with defaults. Problems are prefixed
 * with the variable that set the key, else `source:line` when the key is in FILE, else `source`.
 */
export function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv = {}, source = 'config', file?: Pick<ConfigFileText, 'lineOf'>): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: the configuration must be a JSON object`);
  const merged = structuredClone(raw) as Record<string, unknown>;
  const fromEnv: (readonly [string, readonly string[]])[] = [];
  for (const [name, keyPath, kind] of ENV_KEYS) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    if (setPath(merged, keyPath, envValue(name, text, kind))) fromEnv.push([name, keyPath]);
  }
  /** The variable that set the key (or made the object it is about), else the key's line in the file. */
  const where = (p: Problem): string => {
    const inFile = hasPath(raw, p.keys);
    const setBy = fromEnv.find(([, path]) => startsWith(p.keys, path) || (!inFile && startsWith(path, p.keys)));
    if (setBy) return setBy[0];
    const line = file && inFile ? file.lineOf(p.keys, p.unknownKey) : undefined;
    return line === undefined ? source : `${source}:${line}`;
  };
  const problems = schemaProblems(merged).map((p) => `${where(p)}: ${p.text}`);
  if (problems.length > 0) throw new ConfigError([...new Set(problems)].join('; '));
  const f = merged as ConfigFile;
  const vms = f.vms ?? {};
  const apiHost = f.api?.host ?? DEFAULTS.apiHost;
  const apiAuth = f.api?.auth ?? true;
  if (!apiAuth && !isLoopbackHost(apiHost)) {
    const setBy = fromEnv.find(([, path]) => path.join('.') === 'api.auth')?.[0] ?? (file ? `${source}:${file.lineOf(['api', 'auth']) ?? 1}` : source);
    throw new ConfigError(
      `${setBy}: api.auth: false is refused: the API listens on ${apiHost}, not on loopback, and without auth anyone reaching it could run commands on the nodes (set api.host to 127.0.0.1, or keep auth and use a token)`,
    );
  }
  transitRangeProblem(f.network?.transitRange ?? DEFAULT_TRANSIT_RANGE, f.overlay ?? DEFAULTS.overlay, source);
  return {
    openflow: {
      listen: f.openflow?.listen ?? (f.openflow?.connect?.length ? [] : [...DEFAULTS.listen]),
      connect: f.openflow?.connect ?? [],
      ...(f.openflow?.tls && { tls: { requireNodeIdentity: true, verifyHostname: true, ...f.openflow.tls } }),
      echoIntervalSeconds: f.openflow?.echoIntervalSeconds ?? DEFAULTS.echoIntervalSeconds,
      datapathIds: f.openflow?.datapathIds ?? {},
      maxConcurrentSyncs: f.openflow?.maxConcurrentSyncs ?? DEFAULTS.maxConcurrentSyncs,
      yieldToConnections: f.openflow?.yieldToConnections ?? true,
      maxConnections: f.openflow?.maxConnections ?? DEFAULTS.maxConnections,
      maxPendingPerAddress: f.openflow?.maxPendingPerAddress ?? DEFAULTS.maxPendingPerAddress,
      multipartMaxBytes: f.openflow?.multipartMaxBytes ?? DEFAULTS.multipartMaxBytes,
      multipartMaxParts: f.openflow?.multipartMaxParts ?? DEFAULTS.multipartMaxParts,
      multipartTimeoutSeconds: f.openflow?.multipartTimeoutSeconds ?? DEFAULTS.multipartTimeoutSeconds,
      maxUnknownDatapaths: f.openflow?.maxUnknownDatapaths ?? DEFAULTS.maxUnknownDatapaths,
      pinAddresses: f.openflow?.pinAddresses ?? false,
    },
    api: { host: apiHost, port: f.api?.port ?? DEFAULTS.apiPort, auth: apiAuth, limits: apiLimits(f.api ?? {}, source) },
    store: storeConfig(f.store ?? {}, source),
    overlay: f.overlay ?? DEFAULTS.overlay,
    stats: { intervalSeconds: f.stats?.intervalSeconds ?? DEFAULTS.statsIntervalSeconds },
    sync: { verifyIntervalSeconds: f.sync?.verifyIntervalSeconds ?? DEFAULTS.verifyIntervalSeconds },
    vms: {
      backend: vms.backend ?? 'none',
      nodes: vms.nodes ?? {},
      ...(vms.labDir !== undefined && { labDir: vms.labDir }),
      stateDir: vms.stateDir ?? DEFAULTS.stateDir,
      netnsPrefix: vms.netnsPrefix ?? DEFAULTS.netnsPrefix,
      lxdImage: vms.lxdImage ?? DEFAULTS.lxdImage,
      ...(vms.createTimeoutSeconds !== undefined && { createTimeoutSeconds: vms.createTimeoutSeconds }),
      ...(vms.deleteTimeoutSeconds !== undefined && { deleteTimeoutSeconds: vms.deleteTimeoutSeconds }),
      execMaxOutputBytes: vms.execMaxOutputBytes ?? DEFAULTS.execMaxOutputBytes,
      ...(vms.ssh && { ssh: { user: vms.ssh.user ?? DEFAULTS.sshUser, keyFile: vms.ssh.keyFile, knownHostsFile: vms.ssh.knownHostsFile ?? DEFAULTS.knownHostsFile } }),
    },
    hosts: { maxOutputBytes: f.hosts?.maxOutputBytes ?? DEFAULTS.hostsMaxOutputBytes },
    log: { level: f.log?.level ?? DEFAULTS.logLevel },
    provisioning: {
      enabled: f.provisioning?.enabled ?? false,
      controller: f.provisioning?.controller ?? [],
      ...(f.provisioning?.underlay && { underlay: f.provisioning.underlay }),
      ...(f.provisioning?.egressInterface !== undefined && { egressInterface: f.provisioning.egressInterface }),
      stateDir: f.provisioning?.stateDir ?? DEFAULTS.provisioningStateDir,
      ...(f.provisioning?.maxBackoffMs !== undefined && { maxBackoffMs: f.provisioning.maxBackoffMs }),
      ...(f.provisioning?.tls && { tls: f.provisioning.tls }),
      ...provisioningRetry(f.provisioning ?? {}, source),
    },
    gatewayFailover: gatewayFailoverSettings(f.gatewayFailover),
    floatingIps: { pools: checkedPools(f, source) },
    metrics: { auth: apiAuth && (f.metrics?.auth ?? !isLoopbackHost(apiHost)) },
    network: {
      underlayMtu: f.network?.underlayMtu ?? DEFAULT_UNDERLAY_MTU,
      underlayMtuByNode: f.network?.underlayMtuByNode ?? {},
      dhcp: f.network?.dhcp ?? DEFAULTS.dhcp,
      broadcast: f.network?.broadcast ?? DEFAULTS.broadcast,
      dhcpLeaseSeconds: f.network?.dhcpLeaseSeconds ?? DEFAULTS.dhcpLeaseSeconds,
      dns: f.network?.dns ?? [],
      transitRange: f.network?.transitRange ?? DEFAULT_TRANSIT_RANGE,
    },
  };
}

function checkedPools(f: ConfigFile, source: string): FloatingIpPool[] {
  try {
    return floatingIpPools(f.floatingIps, f.overlay ?? DEFAULTS.overlay, f.provisioning?.egressInterface, f.network?.transitRange ?? DEFAULT_TRANSIT_RANGE);
  } catch (e) {
    throw new ConfigError(`${source}: ${(e as Error).message}`);
  }
}

/** The transit range must be a network (/8 to /28) apart from the overlay: a VM address and a transit one never meet. */
function transitRangeProblem(transit: string, overlay: string, source: string): void {
  let t: Cidr;
  let o: Cidr;
  try {
    t = parseCidr(transit);
    o = parseCidr(overlay);
  } catch (e) {
    throw new ConfigError(`${source}: network.transitRange: ${(e as Error).message}`);
  }
  if (t.prefix < 8 || t.prefix > 28) throw new ConfigError(`${source}: network.transitRange: /${t.prefix} is out of range (/8 to /28)`);
  if (overlaps(t, o)) throw new ConfigError(`${source}: network.transitRange ${transit} overlaps the overlay range ${overlay}`);
}

function provisioningRetry(p: NonNullable<ConfigFile['provisioning']>, source: string): { retryMinSeconds: number; retryMaxSeconds: number } {
  const retryMinSeconds = p.retryMinSeconds ?? DEFAULTS.provisioningRetryMinSeconds;
  const retryMaxSeconds = p.retryMaxSeconds ?? Math.max(retryMinSeconds, DEFAULTS.provisioningRetryMaxSeconds);
  if (retryMaxSeconds < retryMinSeconds) throw new ConfigError(`${source}: provisioning.retryMaxSeconds (${retryMaxSeconds}) is below provisioning.retryMinSeconds (${retryMinSeconds})`);
  return { retryMinSeconds, retryMaxSeconds };
}

function apiLimits(api: NonNullable<ConfigFile['api']>, source: string): ApiLimits {
  const ms = (seconds: number | undefined, fallback: number): number => (seconds === undefined ? fallback : Math.round(seconds * 1000));
  const d = DEFAULT_API_LIMITS;
  const limits: ApiLimits = {
    bodyLimitBytes: api.bodyLimitBytes ?? d.bodyLimitBytes,
    maxHeaderBytes: api.maxHeaderBytes ?? d.maxHeaderBytes,
    headersTimeoutMs: ms(api.headersTimeoutSeconds, d.headersTimeoutMs),
    requestTimeoutMs: ms(api.requestTimeoutSeconds, d.requestTimeoutMs),
    keepAliveTimeoutMs: ms(api.keepAliveTimeoutSeconds, d.keepAliveTimeoutMs),
    connectionTimeoutMs: ms(api.connectionTimeoutSeconds, d.connectionTimeoutMs),
    maxRequestsPerSocket: api.maxRequestsPerSocket ?? d.maxRequestsPerSocket,
  };
  // Node refuses a header timeout longer than the request timeout (the head is part of the request).
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(`${source}: api.headersTimeoutSeconds (${limits.headersTimeoutMs / 1000}) must not exceed api.requestTimeoutSeconds (${limits.requestTimeoutMs / 1000})`);
  }
  return limits;
}

function storeConfig(store: NonNullable<ConfigFile['store']>, source: string): Config['store'] {
  const backend = store.backend ?? 'sqlite';
  const path = store.path ?? DEFAULTS.storePath;
  const e = store.etcd;
  if (backend === 'sqlite') {
    if (e !== undefined) throw new ConfigError(`${source}: store.etcd is set but store.backend is sqlite (set store.backend: etcd, or remove store.etcd)`);
    return { backend, path };
  }
  if (!e?.endpoints?.length) throw new ConfigError(`${source}: store.backend etcd needs store.etcd.endpoints (e.g. [https://10.0.0.1:2379, https://10.0.0.2:2379, https://10.0.0.3:2379])`);
  const https = e.endpoints.filter((u) => u.startsWith('https:'));
  if (https.length > 0 && e.tls === undefined) throw new ConfigError(`${source}: store.etcd.endpoints use https but store.etcd.tls.ca is not set`);
  if (e.tls !== undefined && https.length !== e.endpoints.length) throw new ConfigError(`${source}: store.etcd.tls is set but not every endpoint is https (mixing would send the cloud in clear text)`);
  if ((e.tls?.cert === undefined) !== (e.tls?.key === undefined)) throw new ConfigError(`${source}: store.etcd.tls.cert and store.etcd.tls.key go together (a client certificate and its key)`);
  return {
    backend,
    path,
    etcd: {
      endpoints: e.endpoints,
      prefix: e.prefix ?? '/minicloud/',
      requestTimeoutMs: Math.round((e.requestTimeoutSeconds ?? 5) * 1000),
      leaseTtlSeconds: e.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS,
      ...(e.controllerId !== undefined && { controllerId: e.controllerId }),
      ...(e.tls && { tls: e.tls }),
    },
  };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and 'localhost': only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // The URL parser writes an IPv6 address in its one short form (::ffff:127.0.0.1 becomes ::ffff:7f00:1).
  const short = new URL(`http://[${h}]`).hostname.slice(1, -1);
  return short === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(short);
}

function describe(instancePath: string, message: string, params: Record<string, unknown>): string {
  const key = instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
  if (Array.isArray(params['additionalProperties'])) return `${key}: unknown key(s) ${(params['additionalProperties'] as string[]).join(', ')}`;
  if (Array.isArray(params['requiredProperties'])) return `${key}: missing ${(params['requiredProperties'] as string[]).join(', ')}`;
  return `${key}: ${message}`;
}

function envValue(name: string, text: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'int':
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) throw new ConfigError(`${name}: '${text}' is not ${kind === 'int' ? 'an integer' : 'a number'}`);
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      throw new ConfigError(`${name}: '${text}' is not a boolean (true/false)`);
    default:
      return text;
  }
}

/** Sets the value at PATH, making the objects on the way; false when a non-object (a bad value) is in the way. */
function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): boolean {
  let at = obj;
  for (const k of path.slice(0, -1)) {
    const next = at[k];
    if (next === undefined) at[k] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) return false;
    at = at[k] as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = value;
  return true;
}

function hasPath(obj: unknown, path: readonly string[]): boolean {
  let at = obj;
  for (const k of path) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, k)) return false;
    at = (at as Record<string, unknown>)[k];
  }
  return true;
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => path[i] === k);
}
