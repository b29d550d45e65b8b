// Where a node's commands run, shared by the VM backends and node provisioning: in lab mode (`vms.labDir`) node N is
// the network namespace N whose OVS lives in `<labDir>/N`; otherwise a node with an SSH target is reached over SSH
// (`vms.ssh`), and one without runs locally. One executor per node, kept (SSH connections are reused).
// A lab node with the `lxd` backend runs its own LXD daemon (src/hosts/lxd/lab-daemon.ts, started by LabCloud) whose
// LXD_DIR is `<labDir>/N/lxd/lxd`: its executor carries that, so `lxc` reaches the node's daemon, not the machine's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalExecutor, NetnsExecutor, SshExecutor, type Executor, type Logger } from '../hosts/index.js';
import type { NodeRecord } from '../topology/records.js';
import type { Config } from './config.js';

export interface NodeExecutor {
  readonly exec: Executor;
  /** Lab mode: the node's namespace (VM namespaces are made from the machine, their veth end moved here). */
  readonly netns?: string;
}

export class NodeExecutors {
  /** Runs on this machine (lab: creates VM namespaces, which cannot be made from inside `ip netns exec`). */
  readonly local: Executor;
  private readonly byNode = new Map<string, NodeExecutor>();

  constructor(
    private readonly vms: Pick<Config['vms'], 'labDir' | 'ssh'> & Partial<Pick<Config['vms'], 'backend' | 'nodes'>>,
    private readonly logger?: Logger,
  ) {
    this.local = new LocalExecutor({ ...(logger && { logger }) });
  }

  for(node: NodeRecord): NodeExecutor {
    const key = `${node.name}\0${node.sshTarget ?? ''}`;
    let e = this.byNode.get(key);
    if (!e) {
      e = this.make(node);
      this.byNode.set(key, e);
    }
    return e;
  }

  async close(): Promise<void> {
    const all = [...this.byNode.values()];
    this.byNode.clear();
    await Promise.all(all.map((e) => e.exec.close().catch(() => undefined)));
  }

  private make(node: NodeRecord): NodeExecutor {
    const { labDir, ssh } = this.vms;
    if (labDir !== undefined) {
      const dir = join(labDir, node.name);
      const lxd = (this.vms.nodes?.[node.name] ?? this.vms.backend) === 'lxd' && { LXD_DIR: labLxdDir(labDir, node.name) };
      return { exec: new NetnsExecutor(this.local, node.name, { env: { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, ...lxd } }), netns: node.name };
    }
    if (node.sshTarget === undefined) return { exec: this.local };
    if (!ssh) throw new Error(`node '${node.name}' is reached over SSH (${node.sshTarget}) but vms.ssh.keyFile is not configured`);
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(node.sshTarget);
    if (!m) throw new Error(`node '${node.name}': bad SSH target '${node.sshTarget}'`);
    return {
      exec: new SshExecutor({
        host: m[2]!,
        ...(m[3] !== undefined && { port: Number(m[3]) }),
        username: m[1] ?? ssh.user,
        privateKey: readFileSync(ssh.keyFile),
        knownHosts: ssh.knownHostsFile,
        ...(this.logger && { logger: this.logger }),
      }),
    };
  }
}

/** Lab mode: the directory LabLxd is given for node N's daemon (its LXD_DIR is `lxd` inside it). */
export function labLxdBaseDir(labDir: string, node: string): string {
  return join(labDir, node, 'lxd');
}

/** Lab mode: the LXD_DIR of node N's own LXD daemon. */
export function labLxdDir(labDir: string, node: string): string {
  return join(labLxdBaseDir(labDir, node), 'lxd');
}
