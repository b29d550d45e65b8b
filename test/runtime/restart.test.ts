// The seed's TODO: a restarted switch gets its pipeline back by itself; a restarted controller touches nothing
// that is already right (packet counters keep counting).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import type { SyncStats } from '../../src/runtime/sync.js';
import { until } from '../helpers/wait.js';
import { cleanupSocket, flows, flowSummaries, packetCount, socketPath, startNode, testLogger, waitForEvent } from './helpers.js';

describe('restarts', () => {
  let ovs: OvsInstance;
  let ctl: Controller | undefined;
  const sock = socketPath('restart');
  let port = 0;

  const desiredFor = (dp: Datapath) => {
    port = dp.portNo('p0');
    return {
      flows: flows(
        `table=0,priority=100,in_port=${port},arp,actions=resubmit(,10)`,
        `table=0,priority=50,in_port=${port},actions=drop`,
        'table=0,priority=0,actions=drop',
        'table=10,priority=10,arp,arp_op=1,actions=drop',
        'table=10,priority=0,actions=drop',
      ),
    };
  };

  const newController = (): Controller =>
    new Controller({ listen: [`unix:${sock}`], desiredState: (_dpid, dp) => desiredFor(dp), logger: testLogger() });

  /** ARP requests from p1 (10.0.0.1) into br0 through p0; a new target each time, so the kernel asks afresh. */
  let target = 1;
  const sendArp = (count: number) => ovs.exec('ping', ['-c', String(count), '-i', '0.2', '-W', '1', `10.0.0.${++target}`]).catch(() => undefined);

  beforeAll(async () => {
    ovs = await startNode('rt-restart', { br0: { protocols: ['OpenFlow13'], failMode: 'secure', datapathId: '0000000000000b01' } });
    await ovs.exec('ip', ['link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    for (const dev of ['p0', 'p1']) await ovs.exec('ip', ['link', 'set', dev, 'up']);
    await ovs.exec('ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'p1']);
    await ovs.vsctl('add-port', 'br0', 'p0');
    ctl = newController();
    await ctl.start();
    const synced = waitForEvent<[Datapath, SyncStats]>(ctl, 'synced');
    await ovs.setUnixController('br0', sock);
    // OVS's reconnect backoff is 1 s..8 s; keep it at 1 s so the tests stay quick.
    await ovs.vsctl('set', 'controller', 'br0', 'max_backoff=1000');
    const [, stats] = await synced;
    expect(stats.added).toBe(5);
  });

  afterAll(async () => {
    await ctl?.stop();
    await ovs?.stop();
    await stopAllOvs();
    cleanupSocket(sock);
  });

  it('restores every flow by itself after ovs-vswitchd is killed and restarted', async () => {
    const before = await flowSummaries(ovs);
    expect(before).toHaveLength(5);
    const disconnected = waitForEvent(ctl!.datapaths, 'disconnected');
    await ovs.killVswitchd();
    await disconnected;
    const restored = waitForEvent<[Datapath, SyncStats]>(ctl!, 'synced', () => true, 20_000);
    await ovs.startVswitchd();
    const [, stats] = await restored;
    expect(stats).toMatchObject({ added: 5, deleted: 0, unchanged: 0, bundles: 1 });
    expect(await flowSummaries(ovs)).toEqual(before);
  });

  it('a restarted controller sends 0 flow mods to a switch that kept its flows, and counters keep counting', async () => {
    await sendArp(3);
    const n1 = await until(async () => {
      const n = await packetCount(ovs, 'priority=100,');
      return n >= 3 ? n : undefined;
    }, 5000, 'ARP counted');
    await ctl!.stop();
    ctl = undefined;
    // fail_mode=secure: OVS keeps its flows and keeps forwarding with no controller.
    await sendArp(2);
    const n2 = await until(async () => {
      const n = await packetCount(ovs, 'priority=100,');
      return n >= n1 + 2 ? n : undefined;
    }, 5000, 'ARP counted without a controller');
    ctl = newController();
    const synced = waitForEvent<[Datapath, SyncStats]>(ctl, 'synced', () => true, 20_000);
    await ctl.start();
    const [, stats] = await synced;
    expect(stats).toMatchObject({ added: 0, modified: 0, deleted: 0, unchanged: 5, flowMods: 0, bundles: 0 });
    expect(await packetCount(ovs, 'priority=100,')).toBeGreaterThanOrEqual(n2);
    await sendArp(2);
    await until(async () => (await packetCount(ovs, 'priority=100,')) >= n2 + 2, 5000, 'counter still counting');
  });
});
