// A real etcd cluster on loopback: Debian's etcd-server, N members (default 3) on 127.0.0.1, each with its own data
// directory, short heartbeat and election timeouts (50/500 ms) so that a member lost is noticed in about a second
// rather than the defaults' several. The one starter of the HA lab (`minicloud demo --ha`), the tests (store suite,
// leadership, HA lab) and bench/store.ts. Members can be killed (SIGKILL, as a crashed machine) and started again
// on the same data directory; with `tls`, clients and peers speak TLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = '/usr/bin/etcd';

/**
 * TLS for clients and peers: etcd's certificate and key (with subjectAltName IP:127.0.0.1) and the CA it trusts for
 * client certificates; with `clientCertAuth`, a client must show a certificate that CA signed.
 */
export interface EtcdTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCertAuth?: boolean;
  /** The client certificate the starter's own health checks show (needed with clientCertAuth). */
  readonly client?: { readonly cert: string; readonly key: string };
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  process?: ChildProcess;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client URLs of every member (what a client is given). */
  readonly endpoints: readonly string[];
  /** The directory holding every member's data and log; removed by `destroy`. */
  readonly dir: string;
  /** The running members' process ids (for a user who wants to `kill -9` one). */
  readonly pids: readonly number[];
  kill(index: number): Promise<void>;
  start(index: number): Promise<void>;
  /** Resolves once `GET /health` of every running member answers healthy (bounded). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every member and removes `dir`. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface EtcdClusterOptions {
  /** Members (default 3). */
  readonly size?: number;
  /** Where the members' data and logs go (default: a fresh directory under the system's temporary one). */
  readonly dir?: string;
  /** The cluster token (members with different tokens refuse each other). */
  readonly token?: string;
  readonly tls?: EtcdTls;
  /** How long the start waits for every member to be healthy (default 30 s). */
  readonly timeoutMs?: number;
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

/** A killed process has `exitCode` null and `signalCode` set. */
function isRunning(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

function healthyOverTls(url: string, tls: EtcdTls): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/health`,
      { ca: readFileSync(tls.ca), ...(tls.client && { cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key) }), timeout: 1000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body.includes('"health":"true"')));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function healthy(m: EtcdMember, tls: EtcdTls | undefined): Promise<boolean> {
  if (tls) return healthyOverTls(m.clientUrl, tls);
  try {
    const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

function memberArgs(m: EtcdMember, initialCluster: string, token: string, tls: EtcdTls | undefined): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    '--initial-cluster-state=new',
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--listen-metrics-urls=',
    '--log-level=warn',
    '--logger=zap',
    ...(tls
      ? [
          `--cert-file=${tls.cert}`,
          `--key-file=${tls.key}`,
          `--trusted-ca-file=${tls.ca}`,
          `--client-cert-auth=${tls.clientCertAuth === true}`,
          `--peer-cert-file=${tls.cert}`,
          `--peer-key-file=${tls.key}`,
          `--peer-trusted-ca-file=${tls.ca}`,
          '--peer-client-cert-auth=true',
        ]
      : []),
  ];
}

/** Starts the cluster; resolves once every member answers healthy (bounded), else kills what it started and throws. */
export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const tls = opts.tls;
  const scheme = tls ? 'https' : 'http';
  const size = opts.size ?? 3;
  let dir: string;
  if (opts.dir !== undefined) {
    dir = opts.dir;
    // etcd makes each member's data directory itself (mode 0700: it refuses one with other permissions).
    mkdirSync(dir, { recursive: true });
  } else {
    dir = mkdtempSync(join(tmpdir(), 'mc-etcd-'));
  }
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({ name: `m${i}`, clientUrl: `${scheme}://127.0.0.1:${await freeLoopbackPort()}`, peerUrl: `${scheme}://127.0.0.1:${await freeLoopbackPort()}`, dataDir: join(dir, `m${i}`) });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  // One token for the whole cluster, new for each cluster (a member refuses peers of another cluster's token).
  const token = opts.token ?? `mc-${process.pid}-${Date.now()}`;

  const start = async (index: number): Promise<void> => {
    const m = members[index]!;
    if (m.process && isRunning(m.process)) return;
    const log = createWriteStream(join(dir, `${m.name}.log`), { flags: 'a' });
    const child = spawn(ETCD_BINARY, memberArgs(m, initialCluster, token, tls), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (e) => log.write(`spawning ${ETCD_BINARY}: ${e.message}\n`));
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    m.process = child;
  };

  const kill = async (index: number): Promise<void> => {
    const p = members[index]!.process;
    if (!p || !isRunning(p) || p.pid === undefined) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };

  let destroyed = false;
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    dir,
    get pids() {
      return members.flatMap((m) => (m.process && isRunning(m.process) && m.process.pid !== undefined ? [m.process.pid] : []));
    },
    kill,
    start,
    async waitHealthy(timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const running = members.filter((m) => m.process && isRunning(m.process));
        if ((await Promise.all(running.map((m) => healthy(m, tls)))).every(Boolean)) return;
        if (Date.now() > end) throw new Error(`etcd members not healthy after ${timeoutMs} ms (logs in ${dir})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async destroy() {
      await Promise.all(members.map((_, i) => kill(i)));
      if (destroyed) return;
      destroyed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < size; i++) await start(i);
    await cluster.waitHealthy(opts.timeoutMs ?? 30_000);
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return cluster;
}
