// Lab nodes for src/hosts tests: an OvsInstance (own namespace, own OVS) driven through a NetnsExecutor, exactly how
// a real node is driven through an SshExecutor. Names carry a per-file prefix so parallel test files (and other
// people's tests) never share a namespace.
import { OvsInstance } from '../../../src/lab/ovs.js';
import { run } from '../../../src/lab/exec.js';
import { LocalExecutor } from '../../../src/hosts/local.js';
import { NetnsExecutor } from '../../../src/hosts/netns.js';
import type { Logger } from '../../../src/hosts/types.js';

export interface LabNode {
  readonly ovs: OvsInstance;
  readonly exec: NetnsExecutor;
  readonly name: string;
}

export async function startLabNode(name: string, opts: { logger?: Logger; env?: Record<string, string> } = {}): Promise<LabNode> {
  const ovs = await OvsInstance.start({ name });
  const local = new LocalExecutor(opts.logger ? { logger: opts.logger } : {});
  const exec = new NetnsExecutor(local, name, { env: { OVS_RUNDIR: ovs.dir, OVS_LOGDIR: ovs.dir, OVS_DBDIR: ovs.dir, ...opts.env } });
  return { ovs, exec, name };
}

/** An underlay "network": a Linux bridge in a namespace of its own, with a veth to each node's eth0 (lab.md). */
export class Underlay {
  private constructor(readonly netns: string) {}

  static async create(netns: string): Promise<Underlay> {
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['-n', netns, 'link', 'add', 'ul', 'type', 'bridge']);
    await run('ip', ['-n', netns, 'link', 'set', 'ul', 'up']);
    return new Underlay(netns);
  }

  /** Gives the node an `eth0` plugged into this underlay. */
  async attach(node: LabNode, index: number): Promise<void> {
    const peer = `ul${index}`;
    await run('ip', ['link', 'add', peer, 'netns', this.netns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.name]);
    await run('ip', ['-n', this.netns, 'link', 'set', peer, 'master', 'ul', 'up']);
    await run('ip', ['-n', node.name, 'link', 'set', 'eth0', 'up']);
  }

  async destroy(): Promise<void> {
    await run('ip', ['netns', 'del', this.netns]).catch(() => undefined);
  }
}

/** Stops everything given, ignoring failures (for afterAll / finally). */
export async function cleanup(...things: ({ stop(): Promise<void> } | { destroy(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(
    things.map(async (t) => {
      if (!t) return;
      try {
        if ('stop' in t) await t.stop();
        else await t.destroy();
      } catch {
        /* best effort */
      }
    }),
  );
}
