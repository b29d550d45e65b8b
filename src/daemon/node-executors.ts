// Where a node's commands run, shared by the VM backends and node provisioning: a node with an SSH target is reached
// over SSH (`vms.ssh`), in lab mode too; otherwise, in lab mode (`vms.labDir`) node N is the network namespace N whose
// OVS lives in `<labDir>/N`, and outside it the node is this machine.
// A lab node with the `lxd` backend runs its own LXD daemon (src/hosts/lxd/lab-daemon.ts, started by LabCloud) whose
// LXD_DIR is `<labDir>/N/lxd/lxd`: its executor carries that, so `lxc` reaches the node's daemon, not the machine's.
//
// One executor per node name, kept for the life of NodeExecutors (callers such as the VM drivers keep it): behind it,
// the executor for the node's current target, whose SSH connection is reused by every command, closed when the node's
// target changes, and closed by `release` once the node is gone (a later command would open it again).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalExecutor, NetnsExecutor, SshExecutor, type ExecOptions, type ExecResult, type Executor, type Logger } from '../hosts/index.js';
import type { NodeRecord } from '../topology/records.js';
import type { Config } from './config.js';

export interface NodeExecutor {
  readonly exec: Executor;
  /** Lab mode, node without an SSH target: its namespace (VM namespaces are made from the machine, their veth end moved here). */
  readonly netns?: string;
}

type Vms = Pick<Config['vms'], 'labDir' | 'ssh'> & Partial<Pick<Config['vms'], 'backend' | 'nodes'>>;

export class NodeExecutors {
  /** Runs on this machine (lab: creates VM namespaces, which cannot be made from inside `ip netns exec`). */
  readonly local: Executor;
  private readonly byNode = new Map<string, NodeHandle>();

  constructor(
    private readonly vms: Vms,
    private readonly logger?: Logger,
    /** Per-stream output limit of every command (`hosts.maxOutputBytes`; default the executors'). */
    private readonly maxOutputBytes?: number,
  ) {
    this.local = new LocalExecutor({ ...(logger && { logger }), ...(maxOutputBytes !== undefined && { maxOutputBytes }) });
  }

  /** The node's executor; a changed SSH target closes the connection to the old one. Throws on a bad SSH setup. */
  for(node: NodeRecord): NodeExecutor {
    let h = this.byNode.get(node.name);
    if (!h) {
      h = new NodeHandle((n) => this.make(n), node);
      this.byNode.set(node.name, h);
    } else h.follow(node);
    h.current(); // a missing key file or a bad target fails here, where the caller reports it for the node
    const netns = this.vms.labDir !== undefined && node.sshTarget === undefined ? node.name : undefined;
    return { exec: h, ...(netns !== undefined && { netns }) };
  }

  /** The node left the cloud (its removal went through): closes its connection. */
  async release(name: string): Promise<void> {
    await this.byNode.get(name)?.close();
  }

  async close(): Promise<void> {
    const all = [...this.byNode.values()];
    this.byNode.clear();
    await Promise.all(all.map((h) => h.close({ final: true })));
  }

  private make(node: NodeRecord): Executor {
    const { labDir, ssh } = this.vms;
    if (node.sshTarget !== undefined) return this.sshExecutor(node, node.sshTarget, ssh);
    if (labDir === undefined) return this.local;
    const dir = join(labDir, node.name);
    const lxd = (this.vms.nodes?.[node.name] ?? this.vms.backend) === 'lxd' && { LXD_DIR: labLxdDir(labDir, node.name) };
    return new NetnsExecutor(this.local, node.name, { env: { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, ...lxd } });
  }

  private sshExecutor(node: NodeRecord, target: string, ssh: Config['vms']['ssh']): SshExecutor {
    if (!ssh) throw new Error(`node '${node.name}' is reached over SSH (${target}) but vms.ssh.keyFile is not configured`);
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(target);
    if (!m) throw new Error(`node '${node.name}': bad SSH target '${target}'`);
    return new SshExecutor({
      host: m[2]!,
      ...(m[3] !== undefined && { port: Number(m[3]) }),
      username: m[1] ?? ssh.user,
      privateKey: readFileSync(ssh.keyFile),
      knownHosts: ssh.knownHostsFile,
      ...(this.logger && { logger: this.logger }),
      ...(this.maxOutputBytes !== undefined && { maxOutputBytes: this.maxOutputBytes }),
    });
  }
}

/** A node's executor as handed out: runs on the executor for the node's latest known target, made when needed. */
class NodeHandle implements Executor {
  private inner: Executor | undefined;
  private madeFor: string | undefined;
  /** NodeExecutors was closed: callers that kept this handle (VM drivers) must not open a connection nobody closes. */
  private closed = false;

  constructor(
    private readonly make: (node: NodeRecord) => Executor,
    private node: NodeRecord,
  ) {}

  get target(): string {
    return this.current().target;
  }

  /** The node's record as last seen: a new SSH target closes the old executor (commands in flight on it fail). */
  follow(node: NodeRecord): void {
    this.node = node;
    if (this.inner && this.madeFor !== (node.sshTarget ?? '')) void this.close();
  }

  current(): Executor {
    if (this.closed) throw new Error(`node '${this.node.name}': its executor was closed (the controller is stopping)`);
    if (!this.inner) {
      this.inner = this.make(this.node);
      this.madeFor = this.node.sshTarget ?? '';
    }
    return this.inner;
  }

  async run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.current().run(argv, opts);
  }

  /** Closes the connection; a later command opens it again, unless `final`. */
  async close(opts: { readonly final?: boolean } = {}): Promise<void> {
    if (opts.final) this.closed = true;
    const inner = this.inner;
    this.inner = undefined;
    await inner?.close().catch(() => undefined);
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
