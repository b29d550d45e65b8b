// OpenFlow roles against a real ovs-vswitchd (prefix mcha): two runtime Controllers on one bridge, each on its own
// unix socket (both targets of br0). What it proves: a master with the current generation writes; a slave's sync is
// refused by our own guard before anything is sent (counted); when the other controller claims master with a newer
// generation, OVS itself refuses the old master's flow mod (OFPBRC_IS_SLAVE) even though the old master still believes
// it leads (the fencing docs/architecture.md relies on), and its later master claim with the old generation is
// answered OFPRRFC_STALE.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsInstance } from '../../src/lab/ovs.js';
import { parseFlow, type FlowMod } from '../../src/openflow/index.js';
import type { StaleGenerationError} from '../../src/runtime/index.js';
import { Controller, isSlaveRefusal, NotMasterError, RoleKeeper, type Datapath } from '../../src/runtime/index.js';
import { until } from '../helpers/wait.js';

const DPID = '00000000000000a1';
const flow = (text: string): FlowMod => parseFlow(`cookie=0x4d43000000000001,${text}`);
const COOKIE = { value: 0x4d43000000000000n, mask: 0xffff000000000000n };

let ovs: OvsInstance | undefined;
let dir = '';
const controllers: Controller[] = [];
let desired: FlowMod[] = [flow('table=0,priority=10,udp,tp_dst=7,actions=drop')];

function start(name: string, roles: RoleKeeper): Controller {
  const c = new Controller({ listen: [`unix:${join(dir, `${name}.sock`)}`], desiredState: () => ({ flows: desired }), roles, sync: { cookie: COOKIE } });
  controllers.push(c);
  return c;
}

const dpOf = (c: Controller): Promise<Datapath> => until(() => c.datapaths.get(BigInt(`0x${DPID}`)), 20_000, 'the switch to connect');
const ourFlows = async (): Promise<string[]> =>
  (await ovs!.ofctl('-O', 'OpenFlow13', '--no-stats', 'dump-flows', 'br0')).split('\n').filter((l) => l.includes('cookie=0x4d43')).map((l) => l.trim());

describe('OpenFlow roles on a real switch', () => {
  const rolesA = new RoleKeeper();
  const rolesB = new RoleKeeper();
  let a: Controller;
  let b: Controller;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcha-roles-'));
    a = start('a', rolesA);
    b = start('b', rolesB);
    await a.start();
    await b.start();
    ovs = await OvsInstance.start({ name: 'mcha-roles', baseDir: dir });
    await ovs.addBridge('br0', { protocols: ['OpenFlow13'], datapathId: DPID, failMode: 'secure' });
    // OVS follows a unix controller socket only inside its run directory (docs/lab.md).
    symlinkSync(join(dir, 'a.sock'), join(ovs.dir, 'ca.sock'));
    symlinkSync(join(dir, 'b.sock'), join(ovs.dir, 'cb.sock'));
    await ovs.vsctl('set-controller', 'br0', `unix:${join(ovs.dir, 'ca.sock')}`, `unix:${join(ovs.dir, 'cb.sock')}`);
  }, 60_000);

  afterAll(async () => {
    for (const c of controllers) await c.stop();
    await ovs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a slave never writes: our guard refuses its sync before a message is sent, and counts it', async () => {
    const dpB = await dpOf(b);
    await until(() => rolesB.roleOf(dpB) === 'slave', 10_000, 'B to be slave');
    await expect(b.resync(dpB.dpid)).rejects.toBeInstanceOf(NotMasterError);
    expect(rolesB.refusedWrites).toBeGreaterThanOrEqual(1);
    expect(await ourFlows()).toEqual([]);
  });

  it('the master with the current generation writes', async () => {
    const dpA = await dpOf(a);
    await rolesA.set({ role: 'master', generationId: 5n }, [dpA]);
    await rolesB.set({ role: 'slave', generationId: 5n }, [await dpOf(b)]);
    expect(rolesA.mayWrite(dpA)).toBe(true);
    const stats = await a.resync(dpA.dpid);
    expect(stats.flowMods).toBe(1);
    expect(await ourFlows()).toHaveLength(1);
    // The verify path: the switch is right, so nothing is sent.
    expect((await a.resync(dpA.dpid)).flowMods).toBe(0);
  });

  it('a newer master fences the old one at the switch: IS_SLAVE for its flow mod, STALE for its old generation', async () => {
    const dpA = await dpOf(a);
    const dpB = await dpOf(b);
    await rolesB.set({ role: 'master', generationId: 6n }, [dpB]);
    expect(rolesB.mayWrite(dpB)).toBe(true);
    // A still believes it is master (it was never told): OVS refuses it all the same.
    expect(rolesA.mayWrite(dpA)).toBe(true);
    desired = [flow('table=0,priority=10,udp,tp_dst=7,actions=drop'), flow('table=0,priority=11,udp,tp_dst=9,actions=drop')];
    const refused = await a.resync(dpA.dpid, { source: 'cache' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSlaveRefusal(refused), String(refused)).toBe(true);
    expect(await ourFlows()).toHaveLength(1);
    // Claiming master again with the old generation: stale.
    const stale = new Promise<StaleGenerationError>((resolve) => rolesA.once('stale', (_dp, e) => resolve(e)));
    await rolesA.set({ role: 'master', generationId: 5n }, [dpA]);
    expect((await stale).generationId).toBe(5n);
    expect(rolesA.mayWrite(dpA)).toBe(false);
    // The new master writes what the old one could not.
    expect((await b.resync(dpB.dpid)).flowMods).toBe(1);
    expect(await ourFlows()).toHaveLength(2);
  });
});
