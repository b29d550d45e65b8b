// The listener under attack (namespace prefix mcr): 1,000 idle or dripping connections, a peer streaming an endless
// flow-stats reply while holding the only sync slot, a flood from one address and an impostor claiming the datapath
// id of a live switch, all from raw sockets on loopback; meanwhile a real OVS (in its namespace, on a unix socket)
// has its ovs-vswitchd restarted. The real switch is synced again to exactly its flows within a bound printed
// below, the impostor gets HELLO_FAILED/EPERM and is closed, the refusals are counted in the metrics, and every
// hostile connection is cut off by a bound (HELLO timeout, echo timeout, reply bounds).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/daemon/metrics.js';
import { type OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { OFPET, OFPHFC, OFPMPF } from '../../src/openflow/consts.js';
import type { Message } from '../../src/openflow/types.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import type { SyncStats } from '../../src/runtime/sync.js';
import { FakeSwitch, switchLike, type Answer } from './fake-switch.js';
import { until } from '../helpers/wait.js';
import { bridgeDpid, cleanupSocket, flows, flowSummaries, socketPath, startNode, testLogger, waitForEvent } from './helpers.js';

const IDLE = 500;
const DRIPPING = 500;
/** Hostile connections per source address (127.0.1.x): below maxPendingPerAddress, so all of them get in. */
const PER_ADDRESS = 25;
const FLOOD = 40;
const MAX_PENDING_PER_ADDRESS = 32;
const STREAMER_DPID = 0x5eaan;

const desired = flows('table=0,priority=100,arp,actions=drop', 'table=0,priority=0,actions=drop', 'table=10,priority=5,ip,actions=drop');
const expectedFlows = ['table=0, priority=0 actions=drop', 'table=0, priority=100,arp actions=drop', 'table=10, priority=5,ip actions=drop'];

/** The soft limit on open files of this process (each hostile connection costs two descriptors here). */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

/** Answers the controller's flow-stats request with REPLY_MORE parts forever, one every 10 ms (until the socket goes). */
function endlessReply(dpid: bigint, stats: { parts: number }): Answer {
  const base = switchLike(dpid);
  const flow = { tableId: 0, durationSec: 0, durationNsec: 0, priority: 1, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [], instructions: [] };
  return (m, sw) => {
    base(m, sw);
    if (m.type !== 'flow_stats_request') return;
    const part = (): void => {
      if (sw.socket.destroyed || stats.parts >= 100_000) return;
      stats.parts++;
      sw.send({ type: 'flow_stats_reply', xid: m.xid, flags: OFPMPF.REPLY_MORE, flows: Array.from({ length: 50 }, (_, i) => ({ ...flow, priority: i })) } as Message);
      // Slow enough to stay under the byte bound: only the whole-reply deadline stops it.
      setTimeout(part, 10);
    };
    part();
  };
}

describe('the listener under attack while a real switch restarts', () => {
  let ovs: OvsInstance | undefined;
  let ctl: Controller | undefined;
  let realDpid = 0n;
  const sock = socketPath('hostile');
  const hostile: FakeSwitch[] = [];
  const drips: NodeJS.Timeout[] = [];
  const metrics = new Metrics({ processMetrics: false });
  const rejections: string[] = [];

  beforeAll(async () => {
    expect(openFilesLimit(), 'ulimit -n: this test holds about 2,200 sockets (both ends in this process)').toBeGreaterThanOrEqual(4096);
    ovs = await startNode('mcr-hostile', { br0: { protocols: ['OpenFlow13'], failMode: 'secure', datapathId: '0000000000000e01' } });
    realDpid = await bridgeDpid(ovs);
    ctl = new Controller({
      listen: [`unix:${sock}`, 'tcp:127.0.0.1:0'],
      manages: (dpid) => dpid === realDpid || dpid === STREAMER_DPID,
      desiredState: () => ({ flows: desired }),
      maxConcurrentSyncs: 1, // the streamer holds the only slot: the real switch's sync waits until it is cut off
      connection: { helloTimeoutMs: 10_000, echoIntervalMs: 1000, echoTimeoutMs: 3000, multipartTimeoutMs: 6000, multipartMaxBytes: 8 * 1024 * 1024 },
      registry: { limits: { maxConnections: 2000, maxPendingPerAddress: MAX_PENDING_PER_ADDRESS } },
      logger: testLogger(),
    });
    ctl.datapaths.on('refused', (_peer, reason) => metrics.openflowRefused(reason));
    ctl.datapaths.on('rejected', (_peer, err) => rejections.push(err.message));
    await ctl.start();
    const synced = waitForEvent<[Datapath]>(ctl, 'synced', (dp) => dp.dpid === realDpid, 20_000);
    await ovs.setUnixController('br0', sock);
    await ovs.vsctl('set', 'controller', 'br0', 'max_backoff=1000');
    await synced;
    expect(await flowSummaries(ovs)).toEqual(expectedFlows);
  }, 60_000);

  afterAll(async () => {
    for (const t of drips) clearInterval(t);
    for (const f of hostile) f.destroy();
    await ctl?.stop();
    await ovs?.stop();
    await stopAllOvs();
    cleanupSocket(sock);
  }, 30_000);

  it('keeps the real switch synced and cuts off every hostile peer by a bound', async () => {
    const c = ctl!;
    const port = Number(c.addresses.find((a) => a.startsWith('tcp:'))!.split(':').pop());
    const open = async (localAddress: string, answer?: Answer): Promise<FakeSwitch> => {
      const f = await FakeSwitch.open({ port, localAddress }, answer);
      hostile.push(f);
      return f;
    };

    // The streamer first: its sync takes the only slot and reads an endless flow-stats reply.
    const streamed = { parts: 0 };
    const streamer = await open('127.0.2.1', endlessReply(STREAMER_DPID, streamed));
    await until(() => streamed.parts > 0, 10_000, 'the streamer streaming');

    // The real switch's ovs-vswitchd is killed (its flows go with it) and restarted while 1,000 hostile connections
    // arrive from 40 addresses (in batches: the listen backlog is 511): half never say HELLO, half stop in the
    // middle of the handshake and drip a never-ending frame, one byte every 300 ms. It must be synced again to
    // exactly its flows although the streamer holds the only sync slot (until the whole-reply deadline cuts it off).
    const disconnected = waitForEvent(c.datapaths, 'disconnected', (dp: Datapath) => dp.dpid === realDpid, 10_000);
    await ovs!.killVswitchd();
    await disconnected;
    const restored = waitForEvent<[Datapath, SyncStats]>(c, 'synced', (dp) => dp.dpid === realDpid, 40_000);
    const t0 = performance.now();
    let connectedMs = NaN;
    void waitForEvent<[Datapath]>(c.datapaths, 'connected', (dp) => dp.dpid === realDpid, 40_000).then(() => (connectedMs = performance.now() - t0), () => undefined);
    const opening = (async (): Promise<number> => {
      for (let i = 0; i < IDLE + DRIPPING; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, IDLE + DRIPPING - i) }, async (_, j) => {
            const n = i + j;
            const from = `127.0.1.${1 + Math.floor(n / PER_ADDRESS)}`;
            if (n < IDLE) return open(from);
            // Answers HELLO, FEATURES and PORT_DESC like a switch, then, instead of the BARRIER reply, drips.
            const almost = switchLike(BigInt(0x4d00 + n));
            return open(from, (m, sw) => {
              if (m.type !== 'barrier_request') return almost(m, sw);
              sw.socket.write(Buffer.from([4, 0, 0xff, 0xf0, 0, 0, 0, 1])); // a header claiming 65520 bytes
              let dripped = 0;
              const t = setInterval(() => (sw.socket.destroyed || dripped++ > 200 ? clearInterval(t) : sw.socket.write(Buffer.from([0]))), 300);
              drips.push(t);
            });
          }),
        );
      }
      return performance.now() - t0;
    })();
    await ovs!.startVswitchd();
    const [, stats] = await restored;
    const syncedMs = performance.now() - t0;
    const openedMs = await opening;
    expect(stats).toMatchObject({ added: 3, deleted: 0, unchanged: 0 });
    expect(await flowSummaries(ovs!)).toEqual(expectedFlows);
    expect(streamer.closed).toBe(true); // cut off by the reply bounds, which is what freed the slot

    // A flood from one address: past maxPendingPerAddress, connections are refused at accept.
    const flood = await Promise.all(Array.from({ length: FLOOD }, () => open('127.0.3.1')));
    await until(() => flood.filter((f) => f.closed).length >= FLOOD - MAX_PENDING_PER_ADDRESS, 10_000, 'the flood beyond the per-address limit refused');

    // An impostor claiming the real switch's datapath id while it is connected and answering.
    const impostor = await open('127.0.4.1', switchLike(realDpid));
    await until(() => impostor.closed, 15_000, 'the impostor closed');
    const refusal = impostor.errors.find((e) => e.errType === OFPET.HELLO_FAILED && e.code === OFPHFC.EPERM);
    expect(new TextDecoder().decode(refusal?.data)).toBe(`datapath id ${realDpid.toString(16).padStart(16, '0')} is in use by a live connection`);
    expect(c.datapaths.get(realDpid)?.connection.closed).toBe(false);
    const hostileOpen = hostile.filter((f) => !f.closed).length;

    // Every hostile connection is closed by the controller within its bound: HELLO timeout (10 s) for the idle ones,
    // echo timeout (1 s + 3 s after their last whole message; the BARRIER they owe would take 10 s) for the dripping
    // ones.
    await until(() => hostile.every((f) => f.closed), 20_000, 'every hostile connection closed');
    await until(() => c.datapaths.connectionCount === 1, 5000, 'only the real switch left');
    const dead = rejections.filter((r) => /peer dead/.test(r)).length;
    const noHello = rejections.filter((r) => /no HELLO/.test(r)).length;
    expect(noHello).toBeGreaterThanOrEqual(IDLE);
    expect(dead).toBeGreaterThanOrEqual(DRIPPING);

    const text = await metrics.render();
    expect(text).toContain('minicloud_openflow_refused_total{reason="dpid_in_use"} 1');
    expect(text).toContain(`minicloud_openflow_refused_total{reason="max_pending_per_address"} ${FLOOD - MAX_PENDING_PER_ADDRESS}`);
    expect(text).toContain('minicloud_openflow_refused_total{reason="max_connections"} 0');
    // The real switch still answers and syncs.
    await c.datapaths.get(realDpid)!.connection.barrier();
    console.log(
      `hostile listener: ${IDLE} idle + ${DRIPPING} dripping connections opened in ${Math.round(openedMs)} ms (${hostileOpen} hostile still open when the impostor was refused); ` +
        `streamer cut off after ${streamed.parts} parts; real switch connected ${Math.round(connectedMs)} ms and synced ${Math.round(syncedMs)} ms after ovs-vswitchd restarted ` +
        `(${stats.added} flows added); rejected: ${noHello} without HELLO, ${dead} dead by echo timeout`,
    );
  }, 90_000);
});
