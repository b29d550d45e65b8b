// sync() against a real bridge: install, modify, delete, read back with ovs-ofctl; typed errors; cookies; groups;
// coalescing; PACKET_IN / PACKET_OUT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { OFPGT, OFPMBT, OFPMF, OFPP } from '../../src/openflow/consts.js';
import type { MessageOf } from '../../src/openflow/types.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import { BundleError, SwitchError } from '../../src/runtime/errors.js';
import { sync, type DesiredState } from '../../src/runtime/sync.js';
import { until } from '../helpers/wait.js';
import { cleanupSocket, flows, flowSummaries, socketPath, startNode, testLogger, waitForEvent } from './helpers.js';

describe('sync against a real bridge', () => {
  let ovs: OvsInstance;
  let ctl: Controller;
  let dp: Datapath;
  let p0 = 0;
  const sock = socketPath('sync');
  let desired: DesiredState = { flows: [] };

  beforeAll(async () => {
    ovs = await startNode('rt-sync', { br0: { protocols: ['OpenFlow13'], datapathId: '0000000000000a01' } });
    // A veth whose p0 end is a port of br0 and whose p1 end has an address in the node: pings make real traffic.
    await ovs.exec('ip', ['link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    await ovs.exec('ip', ['link', 'set', 'p0', 'up']);
    await ovs.exec('ip', ['link', 'set', 'p1', 'up']);
    await ovs.exec('ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'p1']);
    await ovs.vsctl('add-port', 'br0', 'p0', '--', 'set', 'interface', 'p0', 'ofport_request=3');
    ctl = new Controller({ listen: [`unix:${sock}`], desiredState: () => desired, logger: testLogger() });
    await ctl.start();
    const synced = waitForEvent<[Datapath]>(ctl, 'synced');
    await ovs.setUnixController('br0', sock);
    [dp] = await synced;
    p0 = dp.portNo('p0');
  });

  afterAll(async () => {
    await ctl?.stop();
    await ovs?.stop();
    await stopAllOvs();
    cleanupSocket(sock);
  });

  const seedFlows = (): ReturnType<typeof flows> =>
    flows(
      'table=0,priority=20,dl_dst=ff:ff:ff:ff:ff:ff,actions=resubmit(,50)',
      'table=0,priority=10,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,10)',
      'table=0,priority=10,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,50)',
      'table=0,priority=0,actions=drop',
      `table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=output:${p0}`,
      'table=10,priority=15,dl_dst=02:00:00:00:00:02,actions=load:0x64->NXM_NX_TUN_ID[],load:0xa630002->NXM_NX_TUN_IPV4_DST[],output:9',
      'table=10,priority=10,ip,nw_dst=192.168.20.5,actions=mod_dl_src:12:00:00:ff:ff:ff,mod_dl_dst:02:00:00:00:00:05,output:9',
      'table=10,priority=0,actions=drop',
      'table=50,priority=20,arp,arp_tpa=192.168.20.1,arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:12:00:00:ff:ff:ff,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x120000ffffff->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xc0a81401->NXM_OF_ARP_SPA[],IN_PORT',
      'table=50,priority=0,actions=resubmit(,60)',
      `table=60,priority=0,actions=output:${p0}`,
    );

  it('installs a whole pipeline in one bundle and reads it back with ovs-ofctl', async () => {
    // output:9 needs a port 9 only at packet time; OVS accepts flows to absent ports.
    desired = { flows: seedFlows() };
    const stats = await ctl.resync(dp.dpid);
    expect(stats).toMatchObject({ added: 11, modified: 0, deleted: 0, unchanged: 0, bundles: 1 });
    const dump = await flowSummaries(ovs);
    expect(dump).toHaveLength(11);
    expect(dump).toContain('table=0, priority=20,dl_dst=ff:ff:ff:ff:ff:ff actions=resubmit(,50)');
    expect(dump).toContain(`table=10, priority=15,dl_dst=02:00:00:00:00:01 actions=output:${p0}`);
    expect(dump.join('\n')).toContain('load:0x2->NXM_OF_ARP_OP[]');
  });

  it('a second sync of the same state sends nothing (0 flow mods, no bundle)', async () => {
    const stats = await ctl.resync(dp.dpid);
    expect(stats).toMatchObject({ added: 0, modified: 0, deleted: 0, unchanged: 11, flowMods: 0, bundles: 0 });
  });

  it('modifies, adds and deletes exactly what changed', async () => {
    const next = seedFlows().filter((f) => !(f.tableId === 10 && f.priority === 0)); // delete one
    const i = next.findIndex((f) => f.tableId === 60);
    next[i] = flows(`table=60,priority=0,actions=output:${p0},output:9`)[0]!; // modify one
    next.push(...flows('table=50,priority=20,arp,arp_tpa=192.168.20.9,arp_op=1,actions=drop')); // add one
    desired = { flows: next };
    const stats = await ctl.resync(dp.dpid);
    expect(stats).toMatchObject({ added: 1, modified: 1, deleted: 1, unchanged: 9, flowMods: 3, bundles: 1 });
    const dump = await flowSummaries(ovs);
    expect(dump).toContain(`table=60, priority=0 actions=output:${p0},output:9`);
    expect(dump).toContain('table=50, priority=20,arp,arp_tpa=192.168.20.9,arp_op=1 actions=drop');
    expect(dump.some((l) => l.startsWith('table=10, priority=0'))).toBe(false);
    expect(dump).toHaveLength(11);
  });

  it('an invalid flow rejected by OVS is a typed error naming the flow, and nothing of the bundle is applied', async () => {
    const before = await flowSummaries(ovs);
    const bad = flows('table=0,priority=99,ip,actions=group:4242')[0]!; // no such group
    desired = { flows: [...seedFlows(), bad] };
    const err = await ctl.resync(dp.dpid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    const be = err as BundleError;
    expect(be.failures).toHaveLength(1);
    const f = be.failures[0]!;
    expect(f).toBeInstanceOf(SwitchError);
    expect(f.request.type).toBe('flow_mod');
    expect(f.request.flow).toMatch(/priority=99.*group:4242/);
    expect(f.errorName).toMatch(/OFPBAC_BAD_OUT_GROUP/);
    expect(be.message).toMatch(/group:4242/);
    expect(await flowSummaries(ovs)).toEqual(before);
  });

  it('leaves flows with foreign cookies alone unless told to take over their table', async () => {
    const ours = { value: 0x0100000000000000n, mask: 0xff00000000000000n };
    await ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br0', 'cookie=0x99,table=0,priority=77,udp,actions=drop');
    desired = { flows: seedFlows() };
    // Our flows carried cookie 0 so far: inside the new cookie space, those are foreign now.
    const s1 = await sync(dp, desired, { cookie: ours });
    // 10 desired flows found under a foreign cookie are re-cookied in place (ADD over them keeps counters), the
    // missing one added; the foreign leftovers (cookie 0x99, and the arp flow of an earlier test) stay.
    expect(s1).toMatchObject({ modified: 10, added: 1, deleted: 0 });
    let dump = await flowSummaries(ovs);
    expect(dump).toContain('cookie=0x99, table=0, priority=77,udp actions=drop');
    expect(dump).toContain('table=50, priority=20,arp,arp_tpa=192.168.20.9,arp_op=1 actions=drop');
    expect(dump.filter((l) => l.startsWith('cookie=0x100000000000000,'))).toHaveLength(11);
    const s2 = await sync(dp, desired, { cookie: ours, takeOverTables: [0] });
    expect(s2).toMatchObject({ deleted: 1, unchanged: 11 });
    dump = await flowSummaries(ovs);
    expect(dump.some((l) => l.includes('priority=77'))).toBe(false);
    expect(dump).toContain('table=50, priority=20,arp,arp_tpa=192.168.20.9,arp_op=1 actions=drop');
  });

  it('reconciles groups (group desc) in the same bundle as the flows using them', async () => {
    const bucket = (port: number) => ({ weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [{ type: 'output' as const, port, maxLen: 0 }] });
    const groupFlow = flows('table=0,priority=90,ip,nw_dst=10.9.9.9,actions=group:7')[0]!;
    desired = { flows: [...seedFlows(), groupFlow], groups: [{ groupId: 7, groupType: OFPGT.ALL, buckets: [bucket(p0)] }] };
    const s1 = await ctl.resync(dp.dpid);
    expect(s1).toMatchObject({ groupsAdded: 1 });
    expect(await flowSummaries(ovs)).toContain('table=0, priority=90,ip,nw_dst=10.9.9.9 actions=group:7');
    expect(await ovs.ofctl('-O', 'OpenFlow13', 'dump-groups', 'br0')).toContain(`group_id=7,type=all,bucket=actions=output:${p0}`);
    const s2 = await ctl.resync(dp.dpid);
    expect(s2).toMatchObject({ groupsAdded: 0, groupsModified: 0, groupsDeleted: 0, flowMods: 0, groupMods: 0, bundles: 0 });
    desired = { flows: [...seedFlows(), groupFlow], groups: [{ groupId: 7, groupType: OFPGT.ALL, buckets: [bucket(p0), bucket(9)] }] };
    expect(await ctl.resync(dp.dpid)).toMatchObject({ groupsModified: 1, groupMods: 1 });
    expect(await ovs.ofctl('-O', 'OpenFlow13', 'dump-groups', 'br0')).toContain('bucket=actions=output:9');
    desired = { flows: seedFlows(), groups: [] };
    expect(await ctl.resync(dp.dpid)).toMatchObject({ groupsDeleted: 1, deleted: 1 });
    expect(await ovs.ofctl('-O', 'OpenFlow13', 'dump-groups', 'br0')).not.toContain('group_id=7');
  });

  it('reconciles meters around the bundle (OVS takes no meter mods inside one)', async () => {
    const meter = (rate: number) => ({ meterId: 3, flags: OFPMF.KBPS, bands: [{ type: OFPMBT.DROP, rate, burstSize: 0 }] });
    const metered = flows(`table=0,priority=95,ip,nw_dst=10.8.8.8,actions=meter:3,output:${p0}`)[0]!;
    desired = { flows: [...seedFlows(), metered], meters: [meter(1000)] };
    expect(await ctl.resync(dp.dpid)).toMatchObject({ metersAdded: 1, meterMods: 1 });
    expect(await ovs.ofctl('-O', 'OpenFlow13', 'dump-meters', 'br0')).toMatch(/meter=3 kbps bands=\s*type=drop rate=1000/);
    expect(await flowSummaries(ovs)).toContain(`table=0, priority=95,ip,nw_dst=10.8.8.8 actions=meter:3,output:${p0}`);
    expect(await ctl.resync(dp.dpid)).toMatchObject({ meterMods: 0, flowMods: 0 });
    desired = { flows: [...seedFlows(), metered], meters: [meter(2000)] };
    expect(await ctl.resync(dp.dpid)).toMatchObject({ metersModified: 1, meterMods: 1, flowMods: 0 });
    expect(await ovs.ofctl('-O', 'OpenFlow13', 'dump-meters', 'br0')).toMatch(/rate=2000/);
    desired = { flows: seedFlows(), meters: [] };
    expect(await ctl.resync(dp.dpid)).toMatchObject({ metersDeleted: 1, deleted: 1 });
    expect(await ovs.ofctl('-O', 'OpenFlow13', 'dump-meters', 'br0')).not.toMatch(/meter=3/);
  });

  it('coalesces concurrent syncs: never interleaved, the waiting ones run once with the latest state', async () => {
    const a = { flows: seedFlows() };
    const b = { flows: [...seedFlows(), ...flows('table=0,priority=5,tcp,actions=drop')] };
    const c = { flows: [...seedFlows(), ...flows('table=0,priority=6,tcp,actions=drop')] };
    const [ra, rb, rc] = await Promise.all([sync(dp, a), sync(dp, b), sync(dp, c)]);
    expect(rb).toBe(rc); // one run served both
    expect(ra).not.toBe(rb);
    const dump = await flowSummaries(ovs);
    expect(dump.some((l) => l.includes('priority=6,tcp'))).toBe(true);
    expect(dump.some((l) => l.includes('priority=5,tcp'))).toBe(false);
  });

  it('incremental sync from the cache of the last commit changes one flow fast', async () => {
    const base = seedFlows();
    desired = { flows: base };
    await ctl.resync(dp.dpid);
    const next = [...base];
    next[4] = flows(`table=10,priority=15,dl_dst=02:00:00:00:00:01,actions=output:${p0},output:9`)[0]!;
    desired = { flows: next };
    const stats = await ctl.resync(dp.dpid, { source: 'cache' });
    expect(stats).toMatchObject({ source: 'cache', modified: 1, unchanged: 10, flowMods: 1 });
    expect(await flowSummaries(ovs)).toContain(`table=10, priority=15,dl_dst=02:00:00:00:00:01 actions=output:${p0},output:9`);
    // Positions shift (one removed from the middle, one inserted at the front): the cache still gets it right...
    const shifted = [...flows('table=0,priority=7,sctp,actions=drop'), ...next.slice(0, 2), ...next.slice(3)];
    desired = { flows: shifted };
    expect(await ctl.resync(dp.dpid, { source: 'cache' })).toMatchObject({ source: 'cache', added: 1, deleted: 1, modified: 0, unchanged: 10 });
    // ...as a full read of the switch confirms.
    expect(await ctl.resync(dp.dpid, { source: 'switch' })).toMatchObject({ source: 'switch', flowMods: 0, unchanged: 11 });
    // A one-flow change goes without a bundle (one flow mod is atomic); a refused one is a SwitchError naming it,
    // the switch keeps what it had and the next sync (from the switch: the cache was dropped) finds it right.
    const bad = { ...shifted[3]!, instructions: flows('table=0,priority=99,ip,actions=group:4242')[0]!.instructions };
    desired = { flows: [...shifted.slice(0, 3), bad, ...shifted.slice(4)] };
    const err = await ctl.resync(dp.dpid, { source: 'cache' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchError);
    expect((err as SwitchError).request.flow).toMatch(new RegExp(`priority=${bad.priority}.*group:4242`));
    desired = { flows: shifted };
    expect(await ctl.resync(dp.dpid, { source: 'cache' })).toMatchObject({ source: 'switch', flowMods: 0, unchanged: 11 });
  });

  it('dispatches PACKET_IN and sends PACKET_OUT', async () => {
    desired = { flows: [...seedFlows(), ...flows(`table=0,priority=100,in_port=${p0},arp,actions=CONTROLLER:65535`)] };
    await ctl.resync(dp.dpid);
    const got = waitForEvent<[MessageOf<'packet_in'>]>(dp.connection, 'packetIn', () => true, 10_000);
    // An ARP request from p1 enters br0 on p0.
    void ovs.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', '10.0.0.2']).catch(() => undefined);
    const [pin] = await got;
    expect(pin.data.length).toBeGreaterThanOrEqual(42);
    expect(pin.match.find((f) => f.field === 'in_port')).toBeTruthy();
    // Send it back through the pipeline as if it came in on p0: it matches the same flow and comes back to us.
    const data = new Uint8Array(pin.data);
    const again = waitForEvent<[MessageOf<'packet_in'>]>(dp.connection, 'packetIn', (m) => Buffer.from(m.data).equals(Buffer.from(data)), 5000);
    dp.connection.packetOut(data, [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }], p0);
    await again;
    await until(async () => (await flowSummaries(ovs)).length > 0, 1000);
  });
});
