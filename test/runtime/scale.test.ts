// 100 bridges on one OVS instance connect at once; every one of them is synced.
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import type { SyncStats } from '../../src/runtime/sync.js';
import { until } from '../helpers/wait.js';
import { cleanupSocket, flows, flowSummaries, socketPath, startNode, testLogger } from './helpers.js';

const BRIDGES = 100;

describe('many datapaths', () => {
  let ovs: OvsInstance;
  let ctl: Controller;
  const sock = socketPath('scale');
  const synced = new Map<bigint, SyncStats>();

  const desiredFor = (dpid: bigint) =>
    ({
      flows: flows(
        `table=0,priority=10,ip,nw_dst=10.${Number(dpid >> 8n) & 255}.${Number(dpid & 255n)}.1,actions=resubmit(,10)`,
        'table=0,priority=0,actions=drop',
        `table=10,priority=5,dl_dst=02:00:00:00:${(Number(dpid >> 8n) & 255).toString(16).padStart(2, '0')}:${(Number(dpid) & 255).toString(16).padStart(2, '0')},actions=drop`,
      ),
    });

  beforeAll(async () => {
    ovs = await startNode('rt-scale', {});
    ctl = new Controller({ listen: [`unix:${sock}`], desiredState: (dpid) => desiredFor(dpid), logger: testLogger() });
    ctl.on('synced', (dp: Datapath, stats: SyncStats) => synced.set(dp.dpid, stats));
    await ctl.start();
  }, 60_000);

  afterAll(async () => {
    await ctl?.stop();
    await ovs?.stop();
    await stopAllOvs();
    cleanupSocket(sock);
  });

  it(`connects and syncs ${BRIDGES} bridges configured in one transaction`, async () => {
    const link = join(ovs.dir, 'controller.sock');
    symlinkSync(sock, link);
    const args: string[] = [];
    for (let i = 1; i <= BRIDGES; i++) {
      const br = `b${i}`;
      const dpid = (0x100 + i).toString(16).padStart(16, '0');
      args.push('--', 'add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13', `other_config:datapath-id=${dpid}`);
      args.push('--', 'set-controller', br, `unix:${link}`);
    }
    await ovs.vsctl(...args);
    await until(() => synced.size === BRIDGES, 60_000, `${BRIDGES} bridges synced (have ${synced.size})`);
    expect(ctl.datapaths.size).toBe(BRIDGES);
    for (const stats of synced.values()) expect(stats).toMatchObject({ added: 3, deleted: 0, bundles: 1 });
    // Spot-check a few with ovs-ofctl.
    for (const i of [1, 37, BRIDGES]) {
      const dump = await flowSummaries(ovs, `b${i}`);
      expect(dump).toHaveLength(3);
      expect(dump.join('\n')).toContain(`nw_dst=10.${(0x100 + i) >> 8}.${(0x100 + i) & 255}.1`);
    }
  }, 90_000);
});
