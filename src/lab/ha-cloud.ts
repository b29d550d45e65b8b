// The HA lab (`minicloud demo --ha`, docs/lab.md): a 3-member etcd on loopback, three controller processes
// (`minicloud controller --config`, each with its own OpenFlow unix socket and API port, all on the etcd store) and the
// lab's nodes, whose br0 has every controller as a target (provisioned by whichever controller leads). Controllers are
// processes of their own so that one can be killed (`kill -9 <pid from /readyz>`) to watch another take over.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callApi, type ApiResponse } from './cloud.js';
import { startEtcdCluster, type EtcdCluster } from './etcd.js';
import { cleanupLab, EGRESS_DEVICE, Lab, standardNodes, UNDERLAY_DEVICE, UNDERLAY_PREFIX_LENGTH, type LabNodeDef } from './lab.js';

export interface HaLabOptions {
  readonly prefix: string;
  /** Default /tmp/minicloud-lab/<prefix>. */
  readonly dir?: string;
  readonly computes?: number;
  readonly apiHost?: string;
  /** One API port per controller (three). */
  readonly apiPorts: readonly [number, number, number];
  /** How to run the `minicloud` CLI: default this process's own (`node [--import tsx] main`). */
  readonly cli?: readonly string[];
  readonly statsIntervalSeconds?: number;
  /** CPUs each compute node offers (default 16): what bounds how many VMs fit. */
  readonly computeCpus?: number;
  /** The lab's nodes (default: standardNodes with `computes` compute nodes). */
  readonly nodes?: readonly LabNodeDef[];
  /** The controllers' log level (default warn). */
  readonly logLevel?: string;
}

export interface HaController {
  readonly id: string;
  readonly apiUrl: string;
  readonly config: string;
  child?: ChildProcess;
}

const TOKEN_LINE = /miniCloud API token \(shown once\): (\S+)/;

export class HaLabCloud {
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly nodes: readonly LabNodeDef[],
    readonly etcd: EtcdCluster,
    readonly controllers: readonly HaController[],
    readonly lab: Lab,
    readonly token: string,
    private readonly prefix: string,
  ) {}

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
      for (const [i, port] of opts.apiPorts.entries()) {
        const config = join(dir, `controller-${i}.json`);
        await writeFile(config, JSON.stringify(controllerConfig(opts, dir, nodes, etcd.endpoints, i, host, port)));
        controllers.push({ id: `controller-${i}`, apiUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, config });
      }
      // The first one alone: it makes the store's layout and the admin token (printed once), and leads first.
      const token = await startController(controllers[0]!, cli, dir);
      if (token === undefined) throw new Error('the first controller printed no API token (the etcd store was not new)');
      await Promise.all(controllers.slice(1).map((c) => startController(c, cli, dir)));
      lab = await Lab.start({
        prefix: opts.prefix,
        nodesDir: join(dir, 'nodes'),
        controllerSocket: join(dir, 'controller-0.sock'),
        moreControllerSockets: [join(dir, 'controller-1.sock'), join(dir, 'controller-2.sock')],
        nodes,
      });
      const cloud = new HaLabCloud(dir, nodes, etcd, controllers, lab, token, opts.prefix);
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

  get apiUrl(): string {
    return this.controllers[0]!.apiUrl;
  }

  /** The API of the first controller that answers (any of them serves the whole API). */
  async api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<ApiResponse<T>> {
    let last: unknown;
    for (const c of this.controllers) {
      try {
        return await callApi<T>({ apiUrl: c.apiUrl, token: this.token }, method, path, body, headers);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /** Each controller's /readyz (role, pid, leader), undefined for one that does not answer. */
  async roles(): Promise<({ role?: string; pid?: number; leader?: string } | undefined)[]> {
    return Promise.all(
      this.controllers.map(async (c) => {
        try {
          return (await (await fetch(`${c.apiUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).json()) as { role?: string; pid?: number; leader?: string };
        } catch {
          return undefined;
        }
      }),
    );
  }

  private async addNodes(cpus: number): Promise<void> {
    for (const n of this.nodes) {
      const res = await this.api('POST', '/api/v1/nodes', {
        name: n.name,
        roles: n.roles,
        underlayIp: n.underlayIp,
        ...(n.az !== undefined && { az: n.az }),
        ...(n.roles.includes('compute') && { cpus, memoryMiB: cpus * 2048 }),
      });
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
        const res = await callApi<{ datapaths?: { connected: boolean }[] }>({ apiUrl: c.apiUrl, token: this.token }, 'GET', '/api/v1/datapaths');
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
    await this.etcd.destroy();
    await cleanupLab(this.prefix, this.dir);
  }
}

function controllerConfig(opts: HaLabOptions, dir: string, nodes: readonly LabNodeDef[], endpoints: readonly string[], i: number, host: string, port: number): object {
  return {
    openflow: { listen: [`unix:${join(dir, `controller-${i}.sock`)}`], echoIntervalSeconds: 1 },
    api: { host, port, auth: true },
    store: { backend: 'etcd', etcd: { endpoints, prefix: '/minicloud/', controllerId: `controller-${i}` } },
    stats: { intervalSeconds: opts.statsIntervalSeconds ?? 5 },
    vms: {
      backend: 'netns',
      nodes: Object.fromEntries(nodes.filter((n) => !n.roles.includes('compute')).map((n) => [n.name, 'none'])),
      labDir: join(dir, 'nodes'),
      stateDir: join(dir, 'vms'),
      netnsPrefix: `${opts.prefix}v-`,
    },
    provisioning: {
      enabled: true,
      // Relative unix: targets are each node's links to the controllers' sockets (Lab's moreControllerSockets).
      controller: ['unix:controller.sock', 'unix:controller-1.sock', 'unix:controller-2.sock'],
      underlay: { device: UNDERLAY_DEVICE, prefixLength: UNDERLAY_PREFIX_LENGTH },
      egressInterface: EGRESS_DEVICE,
      maxBackoffMs: 1000,
    },
    log: { level: opts.logLevel ?? 'warn' },
  };
}

/** Starts a controller process; resolves once its API answers, with the admin token if it printed one. */
async function startController(c: HaController, cli: readonly string[], dir: string): Promise<string | undefined> {
  const log = createWriteStream(join(dir, `${c.id}.log`), { flags: 'a' });
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
    if (child.exitCode !== null) throw new Error(`${c.id} exited with ${child.exitCode} (log: ${join(dir, `${c.id}.log`)})`);
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
    if (Date.now() > end) throw new Error(`${c.id} did not serve its API within 90 s (log: ${join(dir, `${c.id}.log`)})`);
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
