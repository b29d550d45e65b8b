// A real etcd cluster for tests: Debian's etcd-server, N members on loopback, each with its own data directory under
// a fresh temporary directory, started by the test and removed by it (also when the test fails: call `destroy` in
// afterAll). Members can be killed (SIGKILL, as a crashed machine) and started again on the same data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export const ETCD_BINARY = '/usr/bin/etcd';

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
  kill(index: number): Promise<void>;
  start(index: number): Promise<void>;
  /** Resolves once `GET /health` of every running member answers healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
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

/** A killed process has `exitCode` null and `signalCode` set. */
function isRunning(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts an `n`-member cluster (default 3) on 127.0.0.1 with short heartbeat and election timeouts (50/500 ms) so that
 * failover tests take about a second rather than the defaults' several.
 */
/**
 * TLS for clients and peers: etcd's certificate and key (with subjectAltName IP:127.0.0.1) and the CA it trusts for
 * client certificates; with `clientCertAuth`, a client must show a certificate that CA signed.
 */
export interface EtcdTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCertAuth?: boolean;
  /** The client certificate the helper's own health checks show (needed with clientCertAuth). */
  readonly client?: { readonly cert: string; readonly key: string };
}

export async function startEtcdCluster(opts: { size?: number; token?: string; tls?: EtcdTls } = {}): Promise<EtcdCluster> {
  const tls = opts.tls;
  const scheme = tls ? 'https' : 'http';
  const size = opts.size ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'mc-etcd-'));
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({ name: `m${i}`, clientUrl: `${scheme}://127.0.0.1:${await freePort()}`, peerUrl: `${scheme}://127.0.0.1:${await freePort()}`, dataDir: join(dir, `m${i}`) });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = opts.token ?? `mc-${process.pid}-${Date.now()}`;

  const start = async (index: number): Promise<void> => {
    const m = members[index]!;
    if (m.process && isRunning(m.process)) return;
    const log = createWriteStream(join(dir, `${m.name}.log`), { flags: 'a' });
    const child = spawn(
      ETCD_BINARY,
      [
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
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    m.process = child;
  };

  const healthy = async (m: EtcdMember): Promise<boolean> => {
    if (tls) return healthyOverTls(m.clientUrl, tls);
    try {
      const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await r.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    dir,
    async kill(index) {
      const p = members[index]!.process;
      if (!p || !isRunning(p)) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
    start,
    async waitHealthy(timeoutMs = 20_000) {
      const running = members.filter((m) => m.process && isRunning(m.process));
      await waitFor('etcd members healthy', async () => Promise.all(running.map(healthy)), (v) => v.every(Boolean), timeoutMs, 100);
    },
    async destroy() {
      await Promise.all(members.map((_, i) => cluster.kill(i)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < size; i++) await start(i);
    await cluster.waitHealthy();
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return cluster;
}
