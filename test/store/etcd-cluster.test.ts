// The etcd test cluster itself, and the etcd behaviour the store backend relies on: a 3-member cluster keeps taking
// writes with one member down, refuses them without quorum, and recovers when a member returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';

describe('etcd test cluster (3 members on loopback)', () => {
  let cluster: EtcdCluster;
  let client: Etcd3;

  beforeAll(async () => {
    cluster = await startEtcdCluster();
    client = new Etcd3({ hosts: [...cluster.endpoints], dialTimeout: 2000 });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await cluster?.destroy();
  });

  it('writes and reads through any member', async () => {
    await client.put('mc/probe').value('1');
    for (const endpoint of cluster.endpoints) {
      const one = new Etcd3({ hosts: endpoint });
      try {
        expect(await one.get('mc/probe').string()).toBe('1');
      } finally {
        one.close();
      }
    }
  });

  it('keeps taking writes with one member killed, refuses them without quorum, recovers', async () => {
    await cluster.kill(0);
    await client.put('mc/one-down').value('ok');
    expect(await client.get('mc/one-down').string()).toBe('ok');

    await cluster.kill(1);
    const started = Date.now();
    const noQuorum = new Etcd3({ hosts: cluster.endpoints[2]!, dialTimeout: 1000 });
    try {
      await expect(
        Promise.race([
          noQuorum.put('mc/no-quorum').value('x').exec(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000)),
        ]),
      ).rejects.toThrow();
    } finally {
      noQuorum.close();
    }
    expect(Date.now() - started).toBeLessThan(10_000);

    await cluster.start(0);
    await cluster.start(1);
    await cluster.waitHealthy();
    await client.put('mc/recovered').value('yes');
    expect(await client.get('mc/recovered').string()).toBe('yes');
  }, 60_000);
});
