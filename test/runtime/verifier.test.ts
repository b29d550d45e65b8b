// Drift repair (src/runtime/verifier.ts) against a real bridge (prefix `mcdrt`): flows deleted (`del-flows`) or changed
// (`mod-flows`) by hand come back through the periodic verification on the same connection, the repair is reported
// with its count; a clean verification sends nothing; verifications of one switch never overlap; jitter bounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OvsInstance } from '../../src/lab/ovs.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import type { SyncStats } from '../../src/runtime/sync.js';
import { FlowVerifier, type Verifiable } from '../../src/runtime/verifier.js';
import { until } from '../helpers/wait.js';
import { cleanupSocket, flows, flowSummaries, socketPath, startNode, testLogger, waitForEvent } from './helpers.js';

const DESIRED = flows(
  'table=0,priority=20,dl_dst=ff:ff:ff:ff:ff:ff,actions=resubmit(,50)',
  'table=0,priority=10,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,10)',
  'table=0,priority=0,actions=drop',
  'table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=output:1',
  'table=10,priority=0,actions=drop',
  'table=50,priority=0,actions=drop',
);

describe('periodic verification against a real bridge', () => {
  let ovs: OvsInstance;
  let ctl: Controller;
  let dp: Datapath;
  let verifier: FlowVerifier | undefined;
  const sock = socketPath('verify');
  let connects = 0;
  let desired = DESIRED;

  beforeAll(async () => {
    ovs = await startNode('mcdrt', { br0: { protocols: ['OpenFlow13'], datapathId: '0000000000000d01' } });
    ctl = new Controller({
      listen: [`unix:${sock}`],
      desiredState: () => ({ flows: desired }),
      logger: testLogger(),
    });
    ctl.datapaths.on('connected', () => connects++);
    await ctl.start();
    const synced = waitForEvent<[Datapath]>(ctl, 'synced');
    await ovs.setUnixController('br0', sock);
    [dp] = await synced;
    expect(await flowSummaries(ovs)).toHaveLength(DESIRED.length);
  }, 60_000);

  afterAll(async () => {
    verifier?.stop();
    await ctl?.stop();
    await ovs?.stop();
    cleanupSocket(sock);
  });

  /** Stops the verifier and waits for a verification it may have in flight (syncs of one switch are serialised). */
  const quiesce = async (): Promise<void> => {
    verifier?.stop();
    await ctl.resync(dp.dpid, { source: 'cache' });
  };

  const startVerifier = (intervalMs: number): FlowVerifier => {
    verifier?.stop();
    verifier = new FlowVerifier(ctl, { intervalMs, logger: testLogger() });
    verifier.start();
    return verifier;
  };

  it('puts back flows deleted with del-flows, on the same connection, and reports the count', async () => {
    const before = await flowSummaries(ovs);
    const v = startVerifier(400);
    const clean = await waitForEvent<[Datapath, SyncStats, number]>(v, 'verified', () => true, 15_000);
    expect(clean[2]).toBe(0);
    expect(clean[1].flowMods).toBe(0);

    const t0 = Date.now();
    await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0'); // all of them: the repair adds every one back
    const [vdp, stats, repaired] = await waitForEvent<[Datapath, SyncStats, number]>(v, 'verified', (_d, _s, n) => n > 0, 15_000);
    const back = Date.now() - t0;
    expect(vdp).toBe(dp);
    expect(repaired).toBe(DESIRED.length);
    expect(stats.added).toBe(DESIRED.length);
    expect(await flowSummaries(ovs)).toEqual(before);
    expect(ctl.datapaths.get(dp.dpid)).toBe(dp); // no reconnect: the same connection did it
    expect(dp.connection.closed).toBe(false);
    expect(connects).toBe(1);
    console.log(`del-flows: ${DESIRED.length} flows back ${back} ms later (interval 400 ms +-20 %), repaired=${repaired}`);
  });

  it('puts back a flow changed with mod-flows (and deletes one added by hand in our cookie space)', async () => {
    const before = await flowSummaries(ovs);
    await quiesce(); // both changes made before the next verification, so that one repairs both
    await ovs.ofctl('-O', 'OpenFlow13', 'mod-flows', 'br0', 'table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=drop');
    await ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br0', 'table=10,priority=99,ip,actions=drop');
    expect(await flowSummaries(ovs)).not.toEqual(before);
    const v = startVerifier(400);
    const [, stats, repaired] = await waitForEvent<[Datapath, SyncStats, number]>(v, 'verified', (_d, _s, n) => n > 0, 15_000);
    expect(stats.modified).toBe(1);
    expect(stats.deleted).toBe(1);
    expect(repaired).toBe(2);
    expect(await flowSummaries(ovs)).toEqual(before);
    expect(connects).toBe(1);
  });

  it('sends nothing when nothing differs, and never runs two syncs of the switch at once', async () => {
    // Flow-table reads in flight on the connection: two syncs overlapping would read at once.
    let reading = 0;
    let maxReading = 0;
    const conn = dp.connection;
    const read = conn.multipartRaw.bind(conn);
    conn.multipartRaw = async (...args: Parameters<typeof read>) => {
      maxReading = Math.max(maxReading, ++reading);
      try {
        return await read(...args);
      } finally {
        reading--;
      }
    };
    const v = startVerifier(50);
    const seen: number[] = [];
    v.on('verified', (_d, _s, n) => seen.push(n));
    // A burst of explicit resyncs (as model changes make) next to verifications every ~50 ms.
    for (let i = 0; i < 20; i++) void ctl.resync(dp.dpid, { source: i % 2 ? 'cache' : 'switch' }).catch(() => undefined);
    await until(() => (seen.length >= 10 ? seen : undefined), 20_000, '10 verifications');
    expect(seen.every((n) => n === 0)).toBe(true);
    expect(maxReading).toBe(1);
    v.stop();
    expect(v.tracked).toBe(0);
  });

  it('does not count a change of the desired state that a verification carries as a repair', async () => {
    await quiesce();
    desired = [...DESIRED, ...flows('table=10,priority=15,dl_dst=02:00:00:00:00:02,actions=output:1')];
    const v = startVerifier(200);
    const [, stats, repaired] = await waitForEvent<[Datapath, SyncStats, number]>(v, 'verified', () => true, 15_000);
    expect(stats, JSON.stringify(stats)).toMatchObject({ flowMods: 1 });
    expect(stats.drift).toBe(0);
    expect(repaired).toBe(0);
    // Both at once: the model drops that flow again while someone deletes table 50 by hand.
    await quiesce();
    await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0', 'table=50');
    desired = DESIRED;
    const w = startVerifier(200);
    const [, both, drift] = await waitForEvent<[Datapath, SyncStats, number]>(w, 'verified', () => true, 15_000);
    expect(both, JSON.stringify(both)).toMatchObject({ flowMods: 2 });
    expect(drift).toBe(1);
  });

  it('stops verifying a switch that disconnected, and picks up its new connection', async () => {
    const v = startVerifier(300);
    expect(v.tracked).toBe(1);
    const gone = waitForEvent(ctl.datapaths, 'disconnected');
    const back = waitForEvent<[Datapath]>(ctl, 'synced', (d) => d !== dp, 20_000);
    dp.connection.close('test: reconnect');
    await gone;
    expect(v.tracked).toBe(0);
    const [dp2] = await back;
    dp = dp2;
    expect(v.tracked).toBe(1);
    await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0', 'table=50');
    const [vdp, , repaired] = await waitForEvent<[Datapath, SyncStats, number]>(v, 'verified', (_d, _s, n) => n > 0, 15_000);
    expect(vdp).toBe(dp2);
    expect(repaired).toBe(1);
  }, 40_000);
});

describe('FlowVerifier scheduling', () => {
  const noController: Verifiable = {
    datapaths: { on: () => undefined, off: () => undefined, get: () => undefined, list: () => [] } as unknown as Verifiable['datapaths'],
    resync: () => Promise.reject(new Error('not here')),
  };

  it('jitters each delay by at most +-20 % by default', () => {
    const at = (r: number): number => new FlowVerifier(noController, { intervalMs: 60_000, random: () => r }).nextDelayMs();
    expect(at(0)).toBe(48_000);
    expect(at(0.5)).toBe(60_000);
    expect(at(0.999999)).toBeLessThanOrEqual(72_000);
    expect(at(0.999999)).toBeGreaterThan(71_999);
    const v = new FlowVerifier(noController, { intervalMs: 1000 });
    for (let i = 0; i < 1000; i++) {
      const d = v.nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1200);
    }
  });

  it('is off with an interval of 0, and refuses nonsense', () => {
    const v = new FlowVerifier(noController, { intervalMs: 0 });
    v.start();
    expect(v.enabled).toBe(false);
    expect(v.tracked).toBe(0);
    expect(() => new FlowVerifier(noController, { intervalMs: -1 })).toThrow(RangeError);
    expect(() => new FlowVerifier(noController, { intervalMs: Infinity })).toThrow(RangeError);
    expect(() => new FlowVerifier(noController, { intervalMs: 1000, jitter: 1 })).toThrow(RangeError);
  });
});
