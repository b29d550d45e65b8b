// NodeExecutors against a real sshd on 127.0.0.1: one connection per node, closed when the node's SSH target changes
// and when the node is released (deleted), counted on the sshd side (its per-connection processes).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/daemon/config.js';
import { NodeExecutors } from '../../src/daemon/node-executors.js';
import { NodeBackends } from '../../src/daemon/vm-backend.js';
import type { NodeRecord } from '../../src/topology/records.js';
import { TestSshd } from '../hosts/helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

let sshd: TestSshd;
let work: string;
const opened: NodeExecutors[] = [];

function executors(labDir?: string): NodeExecutors {
  const e = new NodeExecutors({
    ...(labDir !== undefined && { labDir }),
    ssh: { user: 'root', keyFile: sshd.clientKeyFile, knownHostsFile: join(work, 'known_hosts') },
  });
  opened.push(e);
  return e;
}

function node(name: string, sshTarget?: string): NodeRecord {
  return { name, roles: ['switch'], underlayIp: '10.99.0.100', cpus: 0, memoryMiB: 0, createdAt: new Date(0).toISOString(), ...(sshTarget !== undefined && { sshTarget }) };
}

/** Waits until sshd has `n` connections, none of them one of `gone`; answers their pids. */
const settled = (n: number, gone: readonly number[] = []): Promise<number[]> =>
  waitFor(`${n} sshd connection(s)`, () => sshd.connectionPids(), (p) => p.length === n && gone.every((x) => !p.includes(x)), 5_000, 50);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mc-node-exec-'));
  sshd = await TestSshd.start();
  writeFileSync(join(work, 'known_hosts'), sshd.knownHostsLine());
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((e) => e.close()));
  await settled(0);
});

afterAll(async () => {
  await Promise.all(opened.map((e) => e.close()));
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('NodeExecutors over SSH', () => {
  it('closes the old connection when a node\'s target changes; the executor handed out before follows the new one', async () => {
    const ex = executors();
    const first = ex.for(node('n1', `root@127.0.0.1:${sshd.port}`)).exec;
    expect((await first.run(['echo', 'one'])).stdout).toBe('one\n');
    const before = sshd.connectionPids();
    expect(before).toHaveLength(1);

    // The same sshd under another spelling of the target: a new connection, the old one closed.
    const second = ex.for(node('n1', `127.0.0.1:${sshd.port}`)).exec;
    expect(second).toBe(first);
    expect((await second.run(['echo', 'two'])).stdout).toBe('two\n');
    const t0 = Date.now();
    const after = await settled(1, before);
    console.log(`target change: sshd connections ${JSON.stringify(before)} -> ${JSON.stringify(after)} (old one gone after ${Date.now() - t0} ms)`);

    // Unchanged target: the connection is reused.
    await ex.for(node('n1', `127.0.0.1:${sshd.port}`)).exec.run(['true']);
    expect(sshd.connectionPids()).toEqual(after);
  });

  it('release closes a deleted node\'s connection; close closes them all', async () => {
    const ex = executors();
    const [a, b] = ['a', 'b'].map((n) => ex.for(node(n, `root@127.0.0.1:${sshd.port}`)).exec);
    await Promise.all([a!.run(['true']), b!.run(['true'])]);
    const open = await settled(2);
    await ex.release('a');
    const left = await settled(1);
    // The one left is b's: b runs on it without opening another.
    await b!.run(['true']);
    expect(sshd.connectionPids()).toEqual(left);
    await ex.release('nobody');
    await ex.close();
    const none = await settled(0);
    // A handle kept past close (a VM driver's) opens nothing new.
    await expect(b!.run(['true'])).rejects.toThrow(/executor was closed/);
    expect(sshd.connectionPids()).toEqual([]);
    console.log(`release: ${open.length} -> ${left.length} connections; close: -> ${none.length}`);
  });

  it('a node removed without provisioning gets its connection closed by the VM backends; with it, provisioning does', async () => {
    const vms = resolveConfig({}).vms;
    const ex = executors();
    await ex.for(node('a', `root@127.0.0.1:${sshd.port}`)).exec.run(['true']);
    await settled(1);
    // Provisioning runs: it still needs the connection to undo the node, and releases it itself.
    new NodeBackends({ vms, executors: ex, releaseRemovedNodes: false }).nodeRemoved('a');
    await new Promise((r) => setTimeout(r, 300));
    expect(sshd.connectionPids()).toHaveLength(1);
    new NodeBackends({ vms, executors: ex, releaseRemovedNodes: true }).nodeRemoved('a');
    await settled(0);
  });

  it('picks SSH for a lab node with an SSH target, the namespace for the others', () => {
    const ex = executors(join(work, 'nodes'));
    const ssh = ex.for(node('mcs-sw', `root@127.0.0.1:${sshd.port}`));
    expect(ssh.exec.target).toBe(`ssh:root@127.0.0.1:${sshd.port}`);
    expect(ssh.netns).toBeUndefined();
    const ns = ex.for(node('mcs-c1'));
    expect(ns.exec.target).toBe('netns:mcs-c1');
    expect(ns.netns).toBe('mcs-c1');
  });

  it('refuses an SSH node without vms.ssh, and a bad target, at for()', () => {
    const bare = new NodeExecutors({});
    expect(() => bare.for(node('x', '127.0.0.1:1'))).toThrow(/vms\.ssh\.keyFile is not configured/);
    expect(() => executors().for(node('y', 'h:1:2'))).toThrow(/bad SSH target 'h:1:2'/);
  });
});
