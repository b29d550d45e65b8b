import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions } from './exec.js';

/**
 * One Open vSwitch instance (ovsdb-server + ovs-vswitchd) with its own run directory, normally inside a network
 * namespace of its own: a lab "node" (see ../shared/design/lab.md). Every bridge uses the userspace datapath unless
 * told otherwise, since these machines have no openvswitch kernel module.
 */
export interface OvsInstanceOptions {
  /** Node name: names the namespace and the run directory. Letters, digits, '-' and '_' only. */
  readonly name: string;
  /** Parent directory for run directories (default /tmp/minicloud-lab). */
  readonly baseDir?: string;
  /** Create and use a network namespace named after the node (default true). */
  readonly netns?: boolean;
  /**
   * Start ovs-vswitchd with `--enable-dummy`, so bridges may use `datapathType: 'dummy'`: no kernel device at all
   * (not even a tap), which lets an instance run in the machine's own namespace without adding anything to it.
   */
  readonly enableDummy?: boolean;
}

export interface BridgeOptions {
  readonly datapathType?: 'netdev' | 'system' | 'dummy';
  readonly failMode?: 'secure' | 'standalone';
  /** e.g. ['OpenFlow13'] or ['OpenFlow10', 'OpenFlow13', 'OpenFlow15']; omitted = OVS default. */
  readonly protocols?: readonly string[];
  /** Fixed datapath id, 16 hex digits. */
  readonly datapathId?: string;
}

const live = new Set<OvsInstance>();

export class OvsInstance {
  private stopped = false;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly netns: string | undefined,
    private readonly vswitchdExtra: readonly string[] = [],
  ) {}

  static async start(opts: OvsInstanceOptions): Promise<OvsInstance> {
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(opts.name)) throw new Error(`bad lab node name '${opts.name}'`);
    const dir = join(opts.baseDir ?? '/tmp/minicloud-lab', opts.name);
    const netns = opts.netns === false ? undefined : opts.name;
    const inst = new OvsInstance(opts.name, dir, netns, opts.enableDummy ? ['--enable-dummy'] : []);
    live.add(inst);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      if (netns) {
        await run('ip', ['netns', 'del', netns]).catch(() => undefined);
        await run('ip', ['netns', 'add', netns]);
        await run('ip', ['link', 'set', 'lo', 'up'], { netns });
      }
      await run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
      await inst.exec('ovsdb-server', [
        join(dir, 'conf.db'),
        `--remote=punix:${inst.dbSocket}`,
        `--pidfile=${join(dir, 'ovsdb.pid')}`,
        `--log-file=${join(dir, 'ovsdb.log')}`,
        '--detach',
        '--no-chdir',
      ]);
      await inst.vsctl('--no-wait', 'init');
      await inst.startVswitchd();
      return inst;
    } catch (e) {
      await inst.stop();
      throw e;
    }
  }

  get dbSocket(): string {
    return join(this.dir, 'db.sock');
  }

  /** The bridge's management socket: `ovs-ofctl` (or our controller, actively) connects here. */
  mgmtSocket(bridge = 'br0'): string {
    return join(this.dir, `${bridge}.mgmt`);
  }

  private get env(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.ovsEnv };
  }

  /** The environment OVS's tools need to find this node's daemons. */
  get ovsEnv(): Record<string, string> {
    return { OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };
  }

  /** Runs a command inside this node (its namespace, its OVS run directory). */
  exec(cmd: string, args: readonly string[], opts: Omit<RunOptions, 'env' | 'netns'> = {}): Promise<string> {
    return run(cmd, args, { ...opts, env: this.env, ...(this.netns ? { netns: this.netns } : {}) });
  }

  vsctl(...args: string[]): Promise<string> {
    return this.exec('ovs-vsctl', [`--db=unix:${this.dbSocket}`, ...args]);
  }

  ofctl(...args: string[]): Promise<string> {
    return this.exec('ovs-ofctl', args);
  }

  async appctl(...args: string[]): Promise<string> {
    return this.exec('ovs-appctl', ['-t', await this.vswitchdCtl(), ...args]);
  }

  private async vswitchdCtl(): Promise<string> {
    const pid = (await readFile(join(this.dir, 'vswitchd.pid'), 'utf8')).trim();
    return join(this.dir, `ovs-vswitchd.${pid}.ctl`);
  }

  async addBridge(name: string, opts: BridgeOptions = {}): Promise<void> {
    const set = [`datapath_type=${opts.datapathType ?? 'netdev'}`, `fail_mode=${opts.failMode ?? 'secure'}`];
    if (opts.protocols) set.push(`protocols=${opts.protocols.join(',')}`);
    if (opts.datapathId) set.push(`other_config:datapath-id=${opts.datapathId}`);
    await this.vsctl('--may-exist', 'add-br', name, '--', 'set', 'bridge', name, ...set);
  }

  /** Points a bridge at a controller listening on a unix socket outside this node, through a symlink (lab.md). */
  async setUnixController(bridge: string, controllerSocket: string): Promise<void> {
    const link = join(this.dir, `controller-${bridge}.sock`);
    await run('ln', ['-sfn', controllerSocket, link]);
    await this.vsctl('set-controller', bridge, `unix:${link}`);
  }

  /** Kills ovs-vswitchd only (as a crash would), keeping ovsdb; `startVswitchd` brings it back. */
  async killVswitchd(): Promise<void> {
    await killPidFile(join(this.dir, 'vswitchd.pid'), 'SIGKILL');
  }

  async startVswitchd(): Promise<void> {
    await this.exec('ovs-vswitchd', this.vswitchdArgs());
  }

  /** The arguments `startVswitchd` runs ovs-vswitchd with (in this node, with its run directory). */
  vswitchdArgs(): string[] {
    return [
      `unix:${this.dbSocket}`,
      `--pidfile=${join(this.dir, 'vswitchd.pid')}`,
      `--log-file=${join(this.dir, 'vswitchd.log')}`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
      ...this.vswitchdExtra,
    ];
  }

  /** Stops both daemons, removes the namespace and the run directory. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    await killPidFile(join(this.dir, 'vswitchd.pid'), 'SIGTERM');
    await killPidFile(join(this.dir, 'ovsdb.pid'), 'SIGTERM');
    if (this.netns) await run('ip', ['netns', 'del', this.netns]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function killPidFile(path: string, signal: NodeJS.Signals): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(path, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Stops every instance this process started and has not stopped (for exit handlers). */
export async function stopAllOvs(): Promise<void> {
  await Promise.all([...live].map((i) => i.stop()));
}
