// An LXD daemon of a lab node: inside the node's network namespace, with its own LXD_DIR, talking to the node's own
// OVS (OVS_RUNDIR), so `lxc` NICs with parent=br0 land on that node's br0 exactly as on a real compute node.
//
// Why not `ip netns exec`: it remounts /sys for the namespace and so hides the cgroup mounts, and LXD then fails
// every resource limit ("Failed to setup cgroup limits"). We enter the namespace with nsenter in a private mount
// namespace, mount the namespace's sysfs, and bind the machine's cgroup tree back over /sys/fs/cgroup.
import type { Executor } from '../executor.js';
import { withEnv } from '../executor.js';
import { assertNetnsName, assertPath } from '../validate.js';

// Fixed script; every variable part arrives as a positional argument.
const ENTER_WITH_CGROUPS = `set -e
hold=$1; shift
mkdir -p "$hold"
mount --rbind /sys/fs/cgroup "$hold"
mount -t sysfs sysfs /sys
mount --rbind "$hold" /sys/fs/cgroup
umount -l "$hold"
exec "$@"`;

const PRESEED = `config: {}
networks: []
storage_pools: [{name: default, driver: dir, config: {}}]
profiles: [{name: default, config: {}, devices: {root: {path: /, pool: default, type: disk}}}]
`;

export interface LabLxdOptions {
  /** The machine (root namespace). */
  readonly host: Executor;
  /** The node's network namespace. */
  readonly netns: string;
  /** The daemon's LXD_DIR (database, storage pool, logs). Removed by stop(). */
  readonly dir: string;
  /** Environment for the daemon, e.g. { OVS_RUNDIR } of the node's OVS. */
  readonly env?: Readonly<Record<string, string>>;
}

export class LabLxd {
  private constructor(private readonly options: LabLxdOptions) {}

  /** Environment under which `lxc` reaches this daemon (add it to the node executor's env). */
  get env(): Record<string, string> {
    return { LXD_DIR: `${this.options.dir}/lxd` };
  }

  static async start(options: LabLxdOptions): Promise<LabLxd> {
    assertNetnsName('netns', options.netns);
    assertPath('LXD dir', options.dir);
    const lxd = new LabLxd(options);
    const { host, netns, dir } = options;
    const env = { ...options.env, ...lxd.env };
    try {
      await host.run(['mkdir', '-p', '--', `${dir}/lxd`]);
      await host.run([
        'nsenter', `--net=/run/netns/${netns}`, 'unshare', '--mount', '--propagation', 'private',
        ...withEnv(env, ['sh', '-c', ENTER_WITH_CGROUPS, 'sh', `${dir}/cgroup`,
          'start-stop-daemon', '--start', '--background', '--make-pidfile', '--pidfile', `${dir}/lxd.pid`,
          '--exec', '/usr/bin/lxd', '--', '--group', 'lxd', `--logfile=${dir}/lxd.log`]),
      ]);
      await host.run(withEnv(lxd.env, ['lxd', 'waitready', '--timeout=60']), { timeoutMs: 70_000 });
      await host.run(withEnv(lxd.env, ['lxd', 'init', '--preseed']), { input: PRESEED });
      return lxd;
    } catch (e) {
      await lxd.stop();
      throw e;
    }
  }

  /** Shuts the daemon down (stopping its containers), kills it if it lingers, removes its directory. */
  async stop(): Promise<void> {
    const { host, dir } = this.options;
    await host.run(withEnv(this.env, ['lxd', 'shutdown', '--timeout=30']), { okCodes: [0, 1], timeoutMs: 40_000 }).catch(() => undefined);
    const pid = (await host.run(['cat', `${dir}/lxd.pid`], { okCodes: [0, 1] })).stdout.trim();
    if (/^\d+$/.test(pid)) {
      const comm = (await host.run(['cat', `/proc/${pid}/comm`], { okCodes: [0, 1] })).stdout.trim();
      if (comm === 'lxd') await host.run(['kill', '-KILL', pid], { okCodes: [0, 1] });
    }
    await host.run(['rm', '-rf', '--', dir]);
  }
}
