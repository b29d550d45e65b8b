// Leader election on a real 3-member etcd (src/lab/etcd.ts): one leader among three candidates, its
// generation the election key's create revision; a leader that resigns is replaced at once by one with a higher
// generation; one etcd member lost changes nothing; etcd's quorum lost makes the leader step down by itself (no
// controller believes it leads while etcd cannot confirm it); `stepDown` hands leadership over; the store's generation
// epoch (set by a restore) puts every generation above the epoch's base, for the leader and its followers alike.
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdLeadership, soleLeadership, type LeaderState } from '../../src/daemon/leadership.js';
import { generationOf, splitGeneration } from '../../src/topology/generation.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';
import { until, waitFor } from '../helpers/wait.js';

const TTL = 2;
let etcd: EtcdCluster;
const all: EtcdLeadership[] = [];

function candidate(id: string, prefix: string): EtcdLeadership {
  const l = new EtcdLeadership({ endpoints: etcd.endpoints, prefix, requestTimeoutMs: 1000, leaseTtlSeconds: TTL, id, log: pino({ level: 'silent' }) });
  all.push(l);
  return l;
}

const leaders = (ls: readonly EtcdLeadership[]): LeaderState[] => ls.map((l) => l.state()).filter((s) => s.role === 'leader');

beforeAll(async () => {
  etcd = await startEtcdCluster();
}, 60_000);

afterAll(async () => {
  await Promise.all(all.map((l) => l.stop()));
  await etcd?.destroy();
});

describe('leadership', () => {
  it('with SQLite the one controller always leads', () => {
    expect(soleLeadership('x').state()).toMatchObject({ role: 'leader', id: 'x', leaderId: 'x', generation: 0n });
  });

  it('one leader among three; followers know it and its generation; a resigning leader is replaced by a newer generation', async () => {
    const ls = ['a', 'b', 'c'].map((id) => candidate(id, '/mcha-1/'));
    for (const l of ls) await l.start();
    const [first] = await waitFor('one leader', () => leaders(ls), (x) => x.length === 1, 20_000, 50);
    expect(first!.generation).toBeGreaterThan(0n);
    await waitFor('followers to know the leader', () => ls.map((l) => l.state()), (s) => s.every((x) => x.leaderId === first!.id && x.generation === first!.generation), 10_000, 50);

    const old = ls.find((l) => l.state().role === 'leader')!;
    const t0 = Date.now();
    await old.stop();
    const rest = ls.filter((l) => l !== old);
    const [next] = await waitFor('a new leader', () => leaders(rest), (x) => x.length === 1, 10_000, 20);
    // A resignation deletes the key: no lease TTL to wait for.
    expect(Date.now() - t0).toBeLessThan(TTL * 1000);
    expect(next!.generation).toBeGreaterThan(first!.generation);
    expect(next!.id).not.toBe(first!.id);
  }, 60_000);

  it('stepDown hands over; the one that stepped down campaigns again behind the others', async () => {
    const ls = ['d', 'e'].map((id) => candidate(id, '/mcha-2/'));
    for (const l of ls) await l.start();
    const [first] = await waitFor('one leader', () => leaders(ls), (x) => x.length === 1, 20_000, 50);
    const leader = ls.find((l) => l.state().id === first!.id)!;
    leader.stepDown('a switch said our generation is stale');
    expect(leader.state().role).toBe('follower');
    const [next] = await waitFor('the other to lead', () => leaders(ls), (x) => x.length === 1 && x[0]!.id !== first!.id, 10_000, 20);
    expect(next!.generation).toBeGreaterThan(first!.generation);
    await until(() => leader.state().leaderId === next!.id, 10_000, 'the old leader to see the new one');
    expect(leader.state().role).toBe('follower');
  }, 60_000);

  it('one etcd member lost changes nothing; the quorum lost makes the leader step down', async () => {
    const ls = ['f', 'g'].map((id) => candidate(id, '/mcha-3/'));
    for (const l of ls) await l.start();
    const [first] = await waitFor('one leader', () => leaders(ls), (x) => x.length === 1, 20_000, 50);
    await etcd.kill(2);
    await new Promise((r) => setTimeout(r, TTL * 1500));
    expect(leaders(ls)).toEqual([first]);

    await etcd.kill(1);
    const t0 = Date.now();
    await waitFor('no leader without quorum', () => leaders(ls), (x) => x.length === 0, TTL * 1000 * 3 + 5000, 50);
    const ms = Date.now() - t0;
    console.log(`[leadership] quorum lost: the leader stepped down after ${ms} ms (lease TTL ${TTL} s)`);

    await etcd.start(1);
    await etcd.start(2);
    await etcd.waitHealthy();
    await waitFor('a leader again once the quorum is back', () => leaders(ls), (x) => x.length === 1, 30_000, 100);
  }, 90_000);

  it('the generation is the epoch a restore set (meta/generation-epoch) above the election key revision', async () => {
    const client = new Etcd3({ hosts: [...etcd.endpoints] });
    try {
      await client.put('/mcha-4/meta/generation-epoch').value('7');
      const ls = ['h', 'i'].map((id) => candidate(id, '/mcha-4/'));
      for (const l of ls) await l.start();
      const [first] = await waitFor('one leader', () => leaders(ls), (x) => x.length === 1, 20_000, 50);
      const key = (await client.namespace('/mcha-4/election/controllers/').getAll().sort('Create', 'Ascend').limit(1).exec()).kvs[0]!;
      expect(first!.generation).toBe(generationOf(7, BigInt(key.create_revision)));
      expect(splitGeneration(first!.generation)).toEqual({ epoch: 7, revision: BigInt(key.create_revision) });
      await waitFor('the follower to know the leader with its epoch', () => ls.map((l) => l.state().generation), (g) => g.every((x) => x === first!.generation), 10_000, 50);
      // Any generation of epoch 7 is above every one of the epochs before, whatever the revisions.
      expect(first!.generation).toBeGreaterThan(generationOf(6, (1n << 40n) - 1n));
    } finally {
      client.close();
    }
  }, 60_000);
});
