// The HA lab (`minicloud demo --ha`, docs/lab.md, and test/lab/ha.test.ts): a 3-member etcd on loopback, three
// controller processes (`minicloud controller --config`, each with its own OpenFlow unix socket and API port, all on
// the etcd store) and the lab's nodes, whose br0 has every controller as a target (provisioned by whichever controller
// leads). Controllers are processes of their own so that one can be killed (`kill -9 <pid from /readyz>`) to watch
// another take over, and started again; the control plane can be moved to another etcd cluster (a restore).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callApi, type ApiResponse } from './cloud.js';
import { freeLoopbackPort, startEtcdCluster, type EtcdCluster } from './etcd.js';
import { labNodeRequest, labProvisioningConfig, labVmsConfig } from './lab-config.js';
import { cleanupLab, Lab, standardNodes, type LabNodeDef } from './lab.js';

export interface HaLabOptions {
  readonly prefix: string;
  /** Default /tmp/minicloud-lab/<prefix>. */
  readonly dir?: string;
  readonly computes?: number;
  /** The lab's nodes (default: standardNodes with `computes` compute nodes). */
  readonly nodes?: readonly LabNodeDef[];
  readonly apiHost?: string;
  /** One API port per controller (three); default: free loopback ports. */
  readonly apiPorts?: readonly [number, number, number];
  /** How to run the `minicloud` CLI: default this process's own (`node [--import tsx] main`). */
  readonly cli?: readonly string[];
  readonly statsIntervalSeconds?: number;
  /** `store.etcd.leaseTtlSeconds` (default the configuration's, 5 s). */
  readonly leaseTtlSeconds?: number;
  /** `store.etcd.prefix` (default /minicloud/). */
  readonly etcdPrefix?: string;
  /** CPUs each compute node offers (default 16): what bounds how many VMs fit. */
  readonly computeCpus?: number;
  /** The controllers' log level (default warn). */
  readonly logLevel?: string;
}

export interface HaController {
  readonly index: number;
  /** Its `store.etcd.controllerId`: what /readyz says as `id` and `leader`. */
  readonly id: string;
  readonly apiUrl: string;
  /** Its configuration file (JSON). */
  readonly config: string;
  readonly log: string;
  child?: ChildProcess;
}

/** What /readyz answers (docs/api.md). */
export interface Readiness {
  readonly status: string;
  readonly pid: number;
  readonly role?: 'leader' | 'follower';
  readonly id?: string;
  readonly leader?: string;
  readonly generation?: string;
}

const TOKEN_LINE = /miniCloud API token \(shown once\): (\S+)/;

export class HaLabCloud {
  private stopped = false;
  /** Every etcd cluster this lab started (a restore moves it to a new one); all go at stop. */
  private readonly clusters: EtcdCluster[];

  private constructor(
    readonly opts: HaLabOptions,
    readonly dir: string,
    readonly nodes: readonly LabNodeDef[],
    private cluster: EtcdCluster,
    readonly controllers: readonly HaController[],
    readonly lab: Lab,
    readonly token: string,
    private readonly cli: readonly string[],
  ) {
    this.clusters = [cluster];
  }

  static async start(opts: HaLabOptions): Promise<HaLabCloud> {
    const dir = opts.dir ?? join('/tmp/minicloud-lab', opts.prefix);
    const nodes = opts.nodes ?? standardNodes(opts.prefix, opts.computes ?? 2);
    const cli = opts.cli ?? [...process.execArgv, process.argv[1]!];
    await cleanupLab(opts.prefix, dir);
    await mkdir(dir, { recursive: true });
    let etcd: EtcdCluster | undefined;
    let lab: Lab | undefined;
    const controllers: HaController[] = [];
    try {
      etcd = await startEtcdCluster({ dir: join(dir, 'etcd') });
      const host = opts.apiHost ?? '127.0.0.1';
      for (let i = 0; i < 3; i++) {
        const port = opts.apiPorts?.[i] ?? (await freeLoopbackPort());
        const config = join(dir, `controller-${i}.json`);
        await writeFile(config, JSON.stringify(controllerConfig(opts, dir, nodes, etcd.endpoints, i, host, port)));
        controllers.push({ index: i, id: `controller-${i}`, apiUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, config, log: join(dir, `controller-${i}.log`) });
      }
      // The first one alone: it makes the store's layout and the admin token (printed once), and leads first.
      const token = await startController(controllers[0]!, cli);
      if (token === undefined) throw new Error('the first controller printed no API token (the etcd store was not new)');
      await Promise.all(controllers.slice(1).map((c) => startController(c, cli)));
      lab = await Lab.start({
        prefix: opts.prefix,
        nodesDir: join(dir, 'nodes'),
        controllerSocket: join(dir, 'controller-0.sock'),
        moreControllerSockets: [join(dir, 'controller-1.sock'), join(dir, 'controller-2.sock')],
        nodes,
      });
      const cloud = new HaLabCloud(opts, dir, nodes, etcd, controllers, lab, token, cli);
      await cloud.addNodes(opts.computeCpus ?? 16);
      await lab.warmUnderlay();
      return cloud;
    } catch (e) {
      for (const c of controllers) await stopController(c);
      await lab?.stop().catch(() => undefined);
      await etcd?.destroy();
      await cleanupLab(opts.prefix, dir);
      throw e;
    }
  }

  /** The etcd cluster the controllers are configured with now. */
  get etcd(): EtcdCluster {
    return this.cluster;
  }

  get apiUrl(): string {
    return this.controllers[0]!.apiUrl;
  }

  /** The API of the first controller that answers (any of them serves the whole API). */
  async api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<ApiResponse<T>> {
    let last: unknown;
    for (const c of this.controllers) {
      try {
        return await this.apiOf<T>(c, method, path, body, headers);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /** One controller's API. */
  apiOf<T = unknown>(c: HaController, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<ApiResponse<T>> {
    return callApi<T>({ apiUrl: c.apiUrl, token: this.token }, method, path, body, headers);
  }

  /** A controller's /readyz (with the admin token: ids and generation too), undefined when it does not answer. */
  async readyz(c: HaController): Promise<Readiness | undefined> {
    try {
      return (await (await fetch(`${c.apiUrl}/readyz`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(2000) })).json()) as Readiness;
    } catch {
      return undefined;
    }
  }

  /** Each controller's /readyz (role, pid, leader), undefined for one that does not answer. */
  roles(): Promise<(Readiness | undefined)[]> {
    return Promise.all(this.controllers.map((c) => this.readyz(c)));
  }

  /** The controller whose /readyz says it leads, if one does. */
  async leader(): Promise<HaController | undefined> {
    const rs = await this.roles();
    return this.controllers.find((_, i) => rs[i]?.role === 'leader');
  }

  running(c: HaController): boolean {
    return c.child !== undefined && c.child.exitCode === null && c.child.signalCode === null;
  }

  /** Kills a controller (SIGKILL: a crash; SIGTERM: a stop, the leader resigns); resolves once it has exited. */
  async kill(c: HaController, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    if (signal === 'SIGTERM') return stopController(c);
    const child = c.child;
    if (!child || !this.running(c)) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** (Re)starts a controller on its configuration; resolves once its API answers. */
  async startController(c: HaController): Promise<void> {
    if (this.running(c)) return;
    await startController(c, this.cli);
  }

  /**
   * Points every controller's configuration at another etcd cluster (a restore into new members: stop the
   * controllers first, restore, then start them). The lab stops that cluster with the rest.
   */
  async useEtcd(cluster: EtcdCluster): Promise<void> {
    if (!this.clusters.includes(cluster)) this.clusters.push(cluster);
    this.cluster = cluster;
    const host = this.opts.apiHost ?? '127.0.0.1';
    for (const c of this.controllers) {
      await writeFile(c.config, JSON.stringify(controllerConfig(this.opts, this.dir, this.nodes, cluster.endpoints, c.index, host, Number(new URL(c.apiUrl).port))));
    }
  }

  /** Runs the `minicloud` CLI (as a user would, e.g. `store backup`); resolves with its exit code and output. */
  runCli(args: readonly string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [...this.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => (stderr += e.message));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  private async addNodes(cpus: number): Promise<void> {
    for (const n of this.nodes) {
      const res = await this.api('POST', '/api/v1/nodes', labNodeRequest(n, cpus));
      if (res.status !== 201) throw new Error(`adding node ${n.name}: ${res.status} ${JSON.stringify(res.json)}`);
    }
    // The leader provisions; every controller must see every switch connected.
    const end = Date.now() + 180_000;
    for (const n of this.nodes) {
      for (;;) {
        const res = await this.api<{ node?: { provisioning?: { state?: string } } }>('GET', `/api/v1/nodes/${n.name}`);
        if (res.json.node?.provisioning?.state === 'ready') break;
        if (Date.now() > end) throw new Error(`node ${n.name} not provisioned: ${JSON.stringify(res.json)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    for (const c of this.controllers) {
      for (;;) {
        const res = await this.apiOf<{ datapaths?: { connected: boolean }[] }>(c, 'GET', '/api/v1/datapaths');
        if ((res.json.datapaths ?? []).filter((d) => d.connected).length === this.nodes.length) break;
        if (Date.now() > end) throw new Error(`not every datapath connected to ${c.id}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  /** Stops the controllers (SIGTERM: the leader resigns), the lab and etcd; removes everything. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.controllers) await stopController(c);
    await this.lab.stop().catch(() => undefined);
    for (const cluster of this.clusters) await cluster.destroy();
    await cleanupLab(this.opts.prefix, this.dir);
  }
}

function controllerConfig(opts: HaLabOptions, dir: string, nodes: readonly LabNodeDef[], endpoints: readonly string[], i: number, host: string, port: number): object {
  return {
    openflow: { listen: [`unix:${join(dir, `controller-${i}.sock`)}`], echoIntervalSeconds: 1 },
    api: { host, port, auth: true },
    store: {
      backend: 'etcd',
      etcd: {
        endpoints,
        prefix: opts.etcdPrefix ?? '/minicloud/',
        controllerId: `controller-${i}`,
        ...(opts.leaseTtlSeconds !== undefined && { leaseTtlSeconds: opts.leaseTtlSeconds }),
      },
    },
    stats: { intervalSeconds: opts.statsIntervalSeconds ?? 5 },
    vms: labVmsConfig(opts.prefix, dir, nodes),
    // Relative unix: targets are each node's links to the controllers' sockets (Lab's moreControllerSockets).
    provisioning: { ...labProvisioningConfig(), controller: ['unix:controller.sock', 'unix:controller-1.sock', 'unix:controller-2.sock'] },
    log: { level: opts.logLevel ?? 'warn' },
  };
}

/** Starts a controller process; resolves once its API answers, with the admin token if it printed one. */
async function startController(c: HaController, cli: readonly string[]): Promise<string | undefined> {
  const log = createWriteStream(c.log, { flags: 'a' });
  const child = spawn(process.execPath, [...cli, 'controller', '--config', c.config], { stdio: ['ignore', 'pipe', 'pipe'] });
  c.child = child;
  let token: string | undefined;
  child.on('error', () => undefined);
  child.stderr!.pipe(log);
  child.stdout!.on('data', (d: Buffer) => {
    log.write(d);
    token ??= TOKEN_LINE.exec(d.toString())?.[1];
  });
  const end = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${c.id} exited with ${child.exitCode} (log: ${c.log})`);
    try {
      const r = await fetch(`${c.apiUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) {
        // The token line is printed before the API listens; give its pipe a moment.
        if (token === undefined) await new Promise((res) => setTimeout(res, 500));
        return token;
      }
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`${c.id} did not serve its API within 90 s (log: ${c.log})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopController(c: HaController): Promise<void> {
  const child = c.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
