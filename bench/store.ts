// bench/store: the store backends side by side, through the real API (fastify inject, the real CloudService; VM
// backend, switches and SSH are the API tests' fakes, so what is measured is the API plus the store):
//   API write latency  N sequential writes (POST /api/v1/security-groups): p50 / p90 / p99 / max
//   VM create          M VMs through POST /api/v1/vms, C at a time: VMs per second, p50 / p99 of one create
// on SQLite (a file in a temp dir, synchronous=FULL) and on etcd (a real 3-member cluster on loopback, each member its
// own data dir on the same disk), one after the other in one run, then the etcd/SQLite ratio.
//   Run: npx tsx bench/store.ts [--writes 200] [--vms 200] [--concurrency 16]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEtcdStore } from '../src/topology/etcd-store.js';
import { openSqliteStore } from '../src/topology/sqlite-store.js';
import type { CloudStore, TokenStore } from '../src/topology/store.js';
import { makeHarness } from '../test/api/harness.js';
import { startEtcdCluster } from '../src/lab/etcd.js';

const arg = (name: string, dflt: string): number => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i >= 0 ? process.argv[i + 1]! : dflt);
};
const WRITES = arg('writes', '200');
const VMS = arg('vms', '200');
const CONCURRENCY = arg('concurrency', '16');

interface Figures {
  write: { p50: number; p90: number; p99: number; max: number };
  vms: { perSecond: number; p50: number; p99: number };
}

const NODES = [
  { name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1' },
  { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 4096, memoryMiB: 4096 * 1024 },
  { name: 'host-2', roles: ['compute'], underlayIp: '10.0.0.12', cpus: 4096, memoryMiB: 4096 * 1024 },
];

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function measure(store: CloudStore & TokenStore): Promise<Figures> {
  const h = await makeHarness({ store, overlay: '10.100.0.0/16' });
  try {
    for (const n of NODES) await expectOk(h.call('POST', '/api/v1/nodes', n), `node ${n.name}`);
    await expectOk(h.call('POST', '/api/v1/subnets', { name: 'bench', cidr: '10.100.0.0/20' }), 'subnet');
    // Warm-up (JIT, connections), not counted.
    for (let i = 0; i < 10; i++) await expectOk(h.call('POST', '/api/v1/security-groups', { name: `warm-${i}` }), 'warm-up');

    const writes: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const t = performance.now();
      await expectOk(h.call('POST', '/api/v1/security-groups', { name: `sg-${i}` }), 'security group');
      writes.push(performance.now() - t);
    }
    writes.sort((a, b) => a - b);

    const creates: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < VMS) {
          const i = next++;
          const t = performance.now();
          await expectOk(h.call('POST', '/api/v1/vms', { name: `vm-${i}`, subnet: 'bench', flavor: 'tiny', image: 'images:alpine/3.20' }), `vm-${i}`);
          creates.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    creates.sort((a, b) => a - b);
    return {
      write: { p50: pct(writes, 50), p90: pct(writes, 90), p99: pct(writes, 99), max: writes.at(-1)! },
      vms: { perSecond: VMS / seconds, p50: pct(creates, 50), p99: pct(creates, 99) },
    };
  } finally {
    await h.close();
  }
}

async function expectOk(p: Promise<{ status: number; json: unknown }>, what: string): Promise<void> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'mcst-bench-'));
const cluster = await startEtcdCluster();
try {
  console.log(`bench/store: ${WRITES} API writes, ${VMS} VM creates ${CONCURRENCY} at a time; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const sqlite = await measure(openSqliteStore(join(dir, 'cloud.db')));
  const etcd = await measure(await openEtcdStore({ endpoints: cluster.endpoints, prefix: '/bench/' }));
  const row = (name: string, s: number, e: number, unit: string, digits = 1): string =>
    `${name.padEnd(26)}${`${s.toFixed(digits)} ${unit}`.padStart(14)}${`${e.toFixed(digits)} ${unit}`.padStart(14)}${`${(e / s).toFixed(1)}x`.padStart(9)}`;
  console.log(`${''.padEnd(26)}${'sqlite'.padStart(14)}${'etcd'.padStart(14)}${'etcd/sqlite'.padStart(12)}`);
  console.log(row('API write p50', sqlite.write.p50, etcd.write.p50, 'ms', 2));
  console.log(row('API write p90', sqlite.write.p90, etcd.write.p90, 'ms', 2));
  console.log(row('API write p99', sqlite.write.p99, etcd.write.p99, 'ms', 2));
  console.log(row('API write max', sqlite.write.max, etcd.write.max, 'ms', 2));
  console.log(row('VM create throughput', sqlite.vms.perSecond, etcd.vms.perSecond, '/s'));
  console.log(row('VM create p50', sqlite.vms.p50, etcd.vms.p50, 'ms', 2));
  console.log(row('VM create p99', sqlite.vms.p99, etcd.vms.p99, 'ms', 2));
} finally {
  await cluster.destroy();
  rmSync(dir, { recursive: true, force: true });
}
