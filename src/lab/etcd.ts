// A 3-member etcd cluster on loopback for the HA lab (`minicloud demo --ha`): Debian's etcd-server, each member with
// its own data directory under the lab's, short heartbeat and election timeouts (50/500 ms) so that a member lost is
// noticed in about a second. Tests use test/helpers/etcd-cluster.ts, which can also kill and restart members.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ETCD_BINARY = '/usr/bin/etcd';

export interface LabEtcd {
  /** Client URLs of every member. */
  readonly endpoints: readonly string[];
  /** Member processes, for a user who wants to kill one (`kill -9`). */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** Starts `size` members (default 3) with data in `<dir>/m<i>`; resolves once every one answers healthy (bounded). */
export async function startLabEtcd(dir: string, size = 3, timeoutMs = 30_000): Promise<LabEtcd> {
  const members: { name: string; client: string; peer: string }[] = [];
  for (let i = 0; i < size; i++) members.push({ name: `m${i}`, client: `http://127.0.0.1:${await freeLoopbackPort()}`, peer: `http://127.0.0.1:${await freeLoopbackPort()}` });
  const cluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
  // One token for the whole cluster (members with different tokens refuse each other).
  const token = `minicloud-lab-${process.pid}-${Date.now()}`;
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
  };
  try {
    // etcd makes each member's data directory itself (mode 0700: it refuses one with other permissions).
    await mkdir(dir, { recursive: true });
    for (const m of members) {
      const log = createWriteStream(join(dir, `${m.name}.log`), { flags: 'a' });
      const child = spawn(
        ETCD_BINARY,
        [
          `--name=${m.name}`,
          `--data-dir=${join(dir, m.name)}`,
          `--listen-client-urls=${m.client}`,
          `--advertise-client-urls=${m.client}`,
          `--listen-peer-urls=${m.peer}`,
          `--initial-advertise-peer-urls=${m.peer}`,
          `--initial-cluster=${cluster}`,
          `--initial-cluster-token=${token}`,
          '--initial-cluster-state=new',
          '--heartbeat-interval=50',
          '--election-timeout=500',
          '--listen-metrics-urls=',
          '--log-level=warn',
          '--logger=zap',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.on('error', () => undefined);
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      children.push(child);
    }
    const end = Date.now() + timeoutMs;
    while (!(await Promise.all(members.map((m) => healthy(m.client)))).every(Boolean)) {
      if (Date.now() > end) throw new Error(`etcd members not healthy after ${timeoutMs} ms (logs in ${dir})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoints: members.map((m) => m.client), pids: children.map((c) => c.pid ?? 0), stop };
}
