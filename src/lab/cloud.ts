// A whole cloud on this machine, for tests and `minicloud demo`: the controller process (in-process `startServer`:
// store, OpenFlow on a unix socket, API, provisioning, netns VMs) and a Lab whose nodes are added through the HTTP
// API, so the controller provisions them itself (bootstrap through the namespace executor). See docs/lab.md.
// Compute nodes named in `lxdComputes` get their own LXD daemon (with the busybox image) and the `lxd` VM backend.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { resolveConfig, type Config, type ConfigFile } from '../daemon/config.js';
import { labLxdBaseDir, labLxdDir } from '../daemon/node-executors.js';
import { startServer, type Server } from '../daemon/server.js';
import { ensureBusyboxImage, LabLxd, LocalExecutor, NetnsExecutor, withEnv } from '../hosts/index.js';
import { labNodeRequest, labProvisioningConfig, labVmsConfig } from './lab-config.js';
import { cleanupLab, Lab, standardNodes, type LabNodeDef } from './lab.js';

export interface LabCloudOptions {
  /** Names: nodes `${prefix}-*`, VMs' namespaces `${prefix}v-*`. Lower-case letters and digits, 1-6 characters. */
  readonly prefix: string;
  /** Everything on disk (store, sockets, node run directories). Default /tmp/minicloud-lab/<prefix>. */
  readonly dir?: string;
  readonly computes?: number;
  readonly nodes?: readonly LabNodeDef[];
  readonly apiHost?: string;
  /** Default 0 (any free port). */
  readonly apiPort?: number;
  /** Extra OpenFlow listeners besides the lab's unix socket, e.g. ['tcp:127.0.0.1:6653']. */
  readonly extraListen?: readonly string[];
  readonly logger?: Logger;
  readonly statsIntervalSeconds?: number;
  /**
   * Compute nodes whose VMs are LXD containers: each gets an LXD daemon of its own inside its namespace (LXD must be
   * installed on the machine: scripts/install-lxd.sh), with the busybox image imported as `vms.lxdImage` and aliased
   * `busybox` too (the image name the docs and the demo use).
   */
  readonly lxdComputes?: readonly string[];
  /** `network.dhcp`: who answers VMs' DHCP (default: the controller). */
  readonly dhcp?: Config['network']['dhcp'];
  /** `network.broadcast`: who replicates broadcast (default: the sending node, head-end). */
  readonly broadcast?: Config['network']['broadcast'];
  /** `vms.ssh`: how the controller reaches nodes that have an `sshTarget` (test/lab/ssh-node.test.ts). */
  readonly ssh?: Config['vms']['ssh'];
  /** `sync.verifyIntervalSeconds` (drift repair); default the configuration's. */
  readonly verifyIntervalSeconds?: number;
  /** `floatingIps.pools` (their interface defaults to the lab's outside link, eth1). */
  readonly floatingIpPools?: NonNullable<NonNullable<ConfigFile['floatingIps']>['pools']>;
  /** `provisioning.retryMinSeconds` / `retryMaxSeconds`; default the configuration's. */
  readonly provisioningRetrySeconds?: { readonly min: number; readonly max: number };
}

export interface ApiResponse<T> {
  readonly status: number;
  readonly json: T;
}

/**
 * One HTTP request to a running server's API with its token, answering status and body (JSON when it parses) rather
 * than throwing on 4xx/5xx: what tests assert on (src/api/client.ts is the throwing client the CLI uses).
 */
export async function callApi<T = unknown>(
  server: { readonly apiUrl: string; readonly token?: string | undefined },
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  /** Extra request headers, e.g. `x-project`. */
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(`${server.apiUrl}${path}`, {
    method,
    headers: { ...headers, ...(server.token !== undefined && { authorization: `Bearer ${server.token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json: json as T };
}

export class LabCloud {
  server: Server;
  /** The admin token made at the first start (a restarted controller knows only its hash). */
  readonly token: string;
  /** The LXD daemons of the `lxdComputes` nodes, by node name. */
  readonly lxd = new Map<string, LabLxd>();
  private stopped = false;

  private constructor(
    public config: Config,
    readonly lab: Lab,
    server: Server,
    readonly nodes: readonly LabNodeDef[],
    readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.server = server;
    if (server.token === undefined) throw new Error('the lab controller started on a store that had an admin token');
    this.token = server.token;
  }

  /** Cleans leftovers of a crashed run with the same prefix, starts the controller and the lab, adds the nodes. */
  static async start(opts: LabCloudOptions): Promise<LabCloud> {
    const dir = opts.dir ?? join('/tmp/minicloud-lab', opts.prefix);
    const logger = opts.logger ?? pino({ level: 'warn' });
    const nodes = opts.nodes ?? standardNodes(opts.prefix, opts.computes ?? 2);
    const lxdNodes = opts.lxdComputes ?? [];
    for (const name of lxdNodes) {
      if (!nodes.some((n) => n.name === name && n.roles.includes('compute'))) throw new Error(`lxdComputes: ${name} is not a compute node of this lab`);
    }
    const config = labConfig(opts, dir, nodes);
    const labDir = config.vms.labDir!;
    for (const name of lxdNodes) await stopLeftoverLxd(labDir, name);
    await cleanupLab(opts.prefix, dir);
    await mkdir(dir, { recursive: true });
    const socket = join(dir, 'openflow.sock');
    let server: Server | undefined;
    let lab: Lab | undefined;
    let cloud: LabCloud | undefined;
    try {
      server = await startServer(config, { logger, onNewToken: () => undefined });
      lab = await Lab.start({ prefix: opts.prefix, nodesDir: labDir, controllerSocket: socket, nodes });
      cloud = new LabCloud(config, lab, server, nodes, dir, logger);
      // The daemons start while the controller provisions the nodes; both must be done before the first VM.
      const [lxdStarted, added] = await Promise.allSettled([cloud.startLxd(lxdNodes), cloud.addNodes()]);
      if (lxdStarted.status === 'rejected') throw lxdStarted.reason;
      if (added.status === 'rejected') throw added.reason;
      await lab.warmUnderlay();
      return cloud;
    } catch (e) {
      await server?.stop().catch(() => undefined);
      await cloud?.stopLxd();
      await lab?.stop().catch(() => undefined);
      await cleanupLab(opts.prefix, dir);
      throw e;
    }
  }

  private async addNodes(): Promise<void> {
    for (const n of this.nodes) {
      const res = await this.api('POST', '/api/v1/nodes', labNodeRequest(n));
      if (res.status !== 201) throw new Error(`adding node ${n.name}: ${res.status} ${JSON.stringify(res.json)}`);
    }
    await this.waitReady();
  }

  /** One LXD daemon per node, in parallel, each with the busybox image the controller's LXD driver uses. */
  private async startLxd(names: readonly string[]): Promise<void> {
    const host = new LocalExecutor();
    const labDir = this.config.vms.labDir!;
    await Promise.all(
      names.map(async (name) => {
        const ovsEnv = { OVS_RUNDIR: this.lab.node(name).dir };
        const lxd = await LabLxd.start({ host, netns: name, dir: labLxdBaseDir(labDir, name), env: ovsEnv });
        this.lxd.set(name, lxd);
        await ensureBusyboxImage(new NetnsExecutor(host, name, { env: { ...ovsEnv, ...lxd.env } }), { alias: this.config.vms.lxdImage });
      }),
    );
  }

  /** Stops every LXD daemon (and so its containers) and removes its directory. */
  private async stopLxd(): Promise<void> {
    const all = [...this.lxd.values()];
    this.lxd.clear();
    await Promise.all(all.map((l) => l.stop().catch(() => undefined)));
  }

  get apiUrl(): string {
    return this.server.apiUrl;
  }

  /** Every node provisioned and its datapath connected. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (const n of this.nodes) await this.server.provisioner!.ready(n.name, Math.max(1, end - Date.now()));
    for (const n of this.nodes) {
      const st = this.server.provisioner!.status(n.name);
      if (st?.state !== 'ready') throw new Error(`node ${n.name} not provisioned: ${st?.state ?? 'never tried'} ${st?.error ?? ''}`);
    }
    while (this.server.network.list().filter((d) => d.connected).length < this.nodes.length) {
      if (Date.now() > end) throw new Error(`datapaths not connected: ${JSON.stringify(this.server.network.list().map((d) => [d.node, d.connected]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<ApiResponse<T>> {
    return callApi<T>({ apiUrl: this.server.apiUrl, token: this.token }, method, path, body, headers);
  }

  /**
   * The controller process stopped and started again on the same store, socket and API port; `network` changes
   * those settings for this and later restarts (e.g. another `dhcp` or `broadcast` mode).
   */
  async restartController(network?: Partial<Config['network']>): Promise<Server> {
    const port = Number(new URL(this.server.apiUrl).port);
    await this.server.stop();
    if (network) this.config = { ...this.config, network: { ...this.config.network, ...network } };
    this.server = await startServer({ ...this.config, api: { ...this.config.api, port } }, { logger: this.logger, onNewToken: () => undefined });
    return this.server;
  }

  /** Stops the controller, removes the lab and every VM namespace. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.server.stop().catch(() => undefined);
    await this.stopLxd();
    await this.lab.stop().catch(() => undefined);
    await cleanupLab(this.lab.opts.prefix, this.dir);
  }
}

function labConfig(opts: LabCloudOptions, dir: string, nodes: readonly LabNodeDef[]): Config {
  const vms = labVmsConfig(opts.prefix, dir, nodes);
  const lxdVms = Object.fromEntries((opts.lxdComputes ?? []).map((name) => [name, 'lxd' as const]));
  return resolveConfig({
    openflow: { listen: [`unix:${join(dir, 'openflow.sock')}`, ...(opts.extraListen ?? [])], echoIntervalSeconds: 1 },
    api: { host: opts.apiHost ?? '127.0.0.1', port: opts.apiPort ?? 0, auth: true },
    store: { path: join(dir, 'cloud.db') },
    stats: { intervalSeconds: opts.statsIntervalSeconds ?? 5 },
    vms: { ...vms, nodes: { ...vms.nodes, ...lxdVms }, ...(opts.ssh && { ssh: opts.ssh }) },
    provisioning: {
      ...labProvisioningConfig(),
      ...(opts.provisioningRetrySeconds && { retryMinSeconds: opts.provisioningRetrySeconds.min, retryMaxSeconds: opts.provisioningRetrySeconds.max }),
    },
    ...(opts.verifyIntervalSeconds !== undefined && { sync: { verifyIntervalSeconds: opts.verifyIntervalSeconds } }),
    log: { level: 'warn' },
    network: { ...(opts.dhcp !== undefined && { dhcp: opts.dhcp }), ...(opts.broadcast !== undefined && { broadcast: opts.broadcast }) },
    ...(opts.floatingIpPools && { floatingIps: { pools: opts.floatingIpPools } }),
  });
}

/**
 * A crashed run's LXD daemon: shut down cleanly so it stops its containers (whose processes live in namespaces of
 * their own, out of cleanupLab's reach); the daemon process itself dies with the node's namespace.
 */
async function stopLeftoverLxd(labDir: string, node: string): Promise<void> {
  if (!existsSync(join(labLxdBaseDir(labDir, node), 'lxd.pid'))) return;
  await new LocalExecutor()
    .run(withEnv({ LXD_DIR: labLxdDir(labDir, node) }, ['lxd', 'shutdown', '--timeout=30']), { okCodes: [0, 1], timeoutMs: 40_000 })
    .catch(() => undefined);
}
