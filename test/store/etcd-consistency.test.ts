// The etcd store's two hard cases, on a real 3-member cluster:
// - exactly once: a transaction whose answer is lost (after it committed, before it was sent, or sent twice as the
//   client's retry does) is applied once, and one that was fenced can never commit late;
// - the watch: a store instance cut off from etcd while others write and the cluster is compacted past what it saw
//   (ErrCompacted) reloads its snapshot whole and follows etcd again.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore, type EtcdStore, type EtcdStoreOptions, type TxnResponse } from '../../src/topology/etcd-store.js';
import type { NodeRecord, SubnetRecord } from '../../src/topology/records.js';
import { StoreUnavailableError } from '../../src/topology/store.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

let cluster: EtcdCluster | undefined;
const opened: EtcdStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  cluster = await startEtcdCluster();
}, 60_000);

afterAll(async () => {
  for (const s of opened) s.close();
  await cluster?.destroy();
});

async function open(options: Partial<EtcdStoreOptions> & { prefix: string }): Promise<EtcdStore> {
  const s = await openEtcdStore({ endpoints: cluster!.endpoints, requestTimeoutMs: 3000, ...options });
  opened.push(s);
  return s;
}

const freshPrefix = (): string => `/mc-cons-${prefixes++}/`;
const counter = (s: EtcdStore): string | undefined => s.read((r) => r.getMeta('seq:c'));

describe('etcd store: a write whose answer is lost is applied exactly once', () => {
  it('committed, answer lost (a timeout after the commit): reported done, not run again', async () => {
    let lose = true;
    const s = await open({
      prefix: freshPrefix(),
      interceptTxn: async (send) => {
        const res = await send();
        if (lose) {
          lose = false;
          throw new Error('deadline exceeded (test: the answer was lost)');
        }
        return res;
      },
    });
    expect(await s.write((w) => w.nextSequence('c'))).toBe(1);
    expect(s.settled).toEqual({ committed: 1, fenced: 0 });
    expect(await s.write((w) => w.nextSequence('c'))).toBe(2);
    expect([counter(s), s.read((r) => r.revision())]).toEqual(['2', 2]);
  });

  it('committed, then sent again (the client retrying a request whose answer it lost): applied once', async () => {
    let twice = true;
    const prefix = freshPrefix();
    const s = await open({
      prefix,
      interceptTxn: async (send) => {
        if (!twice) return send();
        twice = false;
        const first = await send();
        expect(first.succeeded).toBe(true);
        return send();
      },
    });
    expect(await s.write((w) => w.nextSequence('c'))).toBe(1);
    expect(s.settled.committed).toBe(1);
    expect(s.conflicts).toBe(0);
    // A second instance reading etcd afresh sees one increment, one revision bump.
    const other = await open({ prefix });
    expect([counter(other), other.read((r) => r.revision())]).toEqual(['1', 1]);
  });

  it('never sent (answer lost before etcd saw it): fenced, run again once; the lost copy can never commit later', async () => {
    let held: (() => Promise<TxnResponse>) | undefined;
    const prefix = freshPrefix();
    const s = await open({
      prefix,
      interceptTxn: async (send) => {
        if (held !== undefined) return send();
        held = send;
        throw new Error('connection reset (test: not sent)');
      },
    });
    expect(await s.write((w) => w.nextSequence('c'))).toBe(1);
    expect(s.settled).toEqual({ committed: 0, fenced: 1 });
    // The lost transaction arrives now (a proposal etcd took and commits once it has a quorum again): refused.
    const late = await held!();
    expect(late.succeeded).toBe(false);
    const other = await open({ prefix });
    expect([counter(other), other.read((r) => r.revision())]).toEqual(['1', 1]);
  });

  it('quorum lost mid-write: 503 with an unknown outcome, settled before the next write, no double apply', async () => {
    const c = cluster!;
    const prefix = freshPrefix();
    const s = await open({ prefix, requestTimeoutMs: 1000, maxWriteMs: 3000 });
    await s.write((w) => w.nextSequence('c'));
    try {
      await c.kill(1);
      await c.kill(2);
      await expect(s.write((w) => w.nextSequence('c'))).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await c.start(1);
      await c.start(2);
      await c.waitHealthy();
    }
    // The next write settles the unknown one first (bounded retries while the client's circuit breaker recovers).
    const end = Date.now() + 30_000;
    let got: number;
    for (;;) {
      try {
        got = await s.write((w) => w.nextSequence('c'));
        break;
      } catch (e) {
        if (!(e instanceof StoreUnavailableError) || Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    // Whatever etcd did with the unknown one, this instance knows it now and the counter agrees with that.
    const settledFirst = s.settled.committed + s.settled.fenced;
    expect(settledFirst).toBeGreaterThanOrEqual(1);
    expect(got).toBe(2 + s.settled.committed);
    const other = await open({ prefix });
    expect(counter(other)).toBe(String(got));
  }, 120_000);
});

describe('etcd store: the watch survives disconnections and compactions', () => {
  it('cut off (a partition) while the cluster is compacted past what it saw: reloaded whole, follows again', async () => {
    const c = cluster!;
    const prefix = freshPrefix();
    const url = new URL(c.endpoints[0]!);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    try {
      const behind = await open({ prefix, endpoints: [proxy.url] });
      const writer = await open({ prefix });
      await writer.write((w) => w.setMeta('n', '0'));
      await until(() => behind.read((r) => r.getMeta('n')) === '0');
      proxy.cut();
      for (let i = 1; i <= 20; i++) await writer.write((w) => w.setMeta('n', String(i)));
      await writer.write((w) => w.setMeta('gone', 'soon'));
      await writer.write((w) => w.setMeta('gone', 'soon-2'));
      etcdctl(c.endpoints[0]!, 'compact', String(currentRevision(c.endpoints[0]!)), '--physical');
      proxy.restore();
      const want = JSON.stringify([writer.read((r) => r.records()), writer.read((r) => [r.getMeta('n'), r.getMeta('gone'), r.revision()])]);
      const have = (): string => JSON.stringify([behind.read((r) => r.records()), behind.read((r) => [r.getMeta('n'), r.getMeta('gone'), r.revision()])]);
      await until(() => behind.resyncs >= 1 && have() === want, 30_000);
      // Reloaded whole, not patched from a resumed watch whose start revision is compacted away (the old watcher,
      // which etcd would cancel with ErrCompacted, is dropped on reconnection; a cancel while connected resyncs too).
      expect(behind.lastResyncReason).toMatch(/reconnected|compacted/);
      await writer.write((w) => w.setMeta('after', '1'));
      await until(() => behind.read((r) => r.getMeta('after')) === '1');
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('its only member restarted while others write and compact: reloads its snapshot and follows again', async () => {
    const c = cluster!;
    const prefix = freshPrefix();
    // `behind` talks to member 0 only; `writer` to the two others.
    const behind = await open({ prefix, endpoints: [c.endpoints[0]!] });
    const writer = await open({ prefix, endpoints: c.endpoints.slice(1) });
    const node: NodeRecord = { name: 'h-0', roles: ['compute'], underlayIp: '10.0.0.10', cpus: 8, memoryMiB: 8192, createdAt: 't' };
    await writer.write((w) => w.insertNode(node));
    await until(() => behind.read((r) => r.listNodes().length) === 1);
    try {
      await c.kill(0);
      for (let i = 1; i <= 20; i++) await writer.write((w) => w.insertNode({ ...node, name: `h-${i}`, underlayIp: `10.0.0.${10 + i}` }));
      const subnet: SubnetRecord = { name: 's', cidr: '10.9.0.0/24', gatewayIp: '10.9.0.1', vni: 7, createdAt: 't' };
      await writer.write((w) => {
        w.deleteNode('h-0');
        w.insertSubnet(subnet);
      });
      const rev = currentRevision(c.endpoints[1]!);
      etcdctl(c.endpoints[1]!, 'compact', String(rev), '--physical');
    } finally {
      await c.start(0);
      await c.waitHealthy();
    }
    const want = JSON.stringify(writer.read((r) => r.records()));
    await until(() => behind.resyncs >= 1 && JSON.stringify(behind.read((r) => r.records())) === want, 30_000);
    expect(behind.read((r) => r.revision())).toBe(writer.read((r) => r.revision()));
    // And it follows the watch again, and writes.
    await writer.write((w) => w.setMeta('after', '1'));
    await until(() => behind.read((r) => r.getMeta('after')) === '1');
    await behind.write((w) => w.setMeta('from-behind', '1'));
    await until(() => writer.read((r) => r.getMeta('from-behind')) === '1');
  }, 120_000);
});

function etcdctl(endpoint: string, ...args: string[]): string {
  const r = spawnSync('etcdctl', [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=5s', ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 });
  if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function currentRevision(endpoint: string): number {
  const status = JSON.parse(etcdctl(endpoint, 'endpoint', 'status', '-w', 'json')) as { Status: { header: { revision: number } } }[];
  return status[0]!.Status.header.revision;
}

/** Polls a predicate, bounded in time. */
async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('not seen in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
