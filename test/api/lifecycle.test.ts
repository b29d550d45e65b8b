// VM lifecycle edge cases: half-done creates are rolled back, failed deletes keep the address, crashes are
// recovered, and the network result tells pending nodes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Invalid } from '../../src/cloud/index.js';
import { validateCloud } from '../../src/topology/model.js';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
  for (const n of SEED_NODES) await h.call('POST', '/api/v1/nodes', n);
  await h.call('POST', '/api/v1/subnets', { name: 'a' });
});
afterEach(() => h.close());

const create = (name: string, over: object = {}) => h.call('POST', '/api/v1/vms', { name, subnet: 'a', flavor: '4C8G', image: 'images:debian/12', ...over });

describe('VM lifecycle', () => {
  it('a backend failure on create rolls everything back: record, allocation, flows', async () => {
    h.backend.failCreate.add('bad');
    const before = h.service.records();
    const applies = h.network.applies.length;
    const res = await create('bad');
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({ code: 'backend_failed', message: "creating VM 'bad' on node 'host-1' failed: lxd: image 'images:debian/12' not found" });
    expect(h.service.records()).toEqual(before);
    // Applied with the VM, then applied again without it.
    expect(h.network.applies.slice(applies).map((a) => a.cloud.vms.map((v) => v.name))).toEqual([['bad'], []]);
    // Its address and capacity are free again.
    const ok = await create('good');
    expect(ok.json.vm).toMatchObject({ ip: '192.168.20.2', node: 'host-1' });
  });

  it("a backend's Invalid (an image the node lacks) is the request's fault: 400 naming the field, rolled back all the same", async () => {
    h.backend.createErrors.set('img', new Invalid('image', "no LXD image 'x' on host-1"));
    const before = h.service.records();
    const res = await create('img', { image: 'x' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'invalid', message: "image: no LXD image 'x' on host-1" });
    expect(h.service.records()).toEqual(before);
  });

  it('a failed delete keeps the VM (state error) and its address; a retry deletes it', async () => {
    await create('v');
    h.backend.failDelete.add('v');
    const res = await h.call('DELETE', '/api/v1/vms/v');
    expect(res.status).toBe(502);
    expect(h.service.getVm('v')).toMatchObject({ state: 'error', error: 'delete failed: lxd: device busy; cleanup pending: delete the VM to retry it' });
    expect(res.json.error.message).toBe("deleting VM 'v' on node 'host-1' failed: lxd: device busy: the VM is kept in state error with its IP and MAC reserved; delete it again to retry");
    expect((await create('w')).json.vm.ip).toBe('192.168.20.3'); // .2 still held
    h.backend.failDelete.clear();
    expect((await h.call('DELETE', '/api/v1/vms/v')).status).toBe(200);
    expect((await create('x')).json.vm.ip).toBe('192.168.20.2');
  });

  it('while a VM is being deleted its flows are gone but its address is held', async () => {
    await create('v');
    h.backend.delayMs = 0;
    let seen: { vms: string[]; state: string; ipHeld: boolean } | undefined;
    const original = h.backend.delete.bind(h.backend);
    h.backend.delete = async (spec) => {
      seen = {
        vms: h.network.lastCloud!.vms.map((x) => x.name),
        state: h.service.getVm('v').state,
        ipHeld: h.service.listVms().some((x) => x.ip === spec.ip),
      };
      return original(spec);
    };
    await h.call('DELETE', '/api/v1/vms/v');
    expect(seen).toEqual({ vms: [], state: 'deleting', ipHeld: true });
  });

  it('a start that fails leaves the VM in error with the reason', async () => {
    await create('v');
    await h.call('POST', '/api/v1/vms/v/stop');
    h.backend.vms.delete('v'); // the container vanished behind our back
    const res = await h.call('POST', '/api/v1/vms/v/start');
    expect(res.status).toBe(502);
    expect(h.service.getVm('v')).toMatchObject({ state: 'error', error: 'start failed: no container v' });
  });

  it('a network apply that throws leaves the change committed and the nodes pending', async () => {
    h.network.failNext = true;
    const res = await create('v');
    expect(res.status).toBe(201);
    expect(res.json.network.confirmed).toEqual([]);
    expect(res.json.network.pending).toContain('host-1');
  });

  it('after a crash, VMs left creating or deleting are marked error and can be deleted', async () => {
    await create('v');
    await h.store.write((w) => w.setVmState({ name: 'v' }, 'creating'));
    expect(await h.service.recoverInterrupted()).toEqual(['v']);
    expect(h.service.getVm('v')).toMatchObject({ state: 'error', error: 'interrupted while creating (controller restarted)' });
    expect((await h.call('DELETE', '/api/v1/vms/v')).status).toBe(200);
    expect(validateCloud(h.service.cloud())).toEqual([]);
  });

  it('exec on a backend without exec is 501', async () => {
    await create('v');
    (h.backend as { exec?: unknown }).exec = undefined;
    const res = await h.call('POST', '/api/v1/vms/v/exec', { command: ['true'] });
    expect(res.status).toBe(501);
    expect(res.json.error.code).toBe('unsupported');
  });

  it('a VM being created refuses other operations', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = h.backend.create.bind(h.backend);
    h.backend.create = async (spec) => {
      await gate;
      return original(spec);
    };
    const creating = create('slow');
    while (h.service.listVms().length === 0) await new Promise((r) => setTimeout(r, 2));
    const del = await h.call('DELETE', '/api/v1/vms/slow');
    expect(del.status).toBe(409);
    expect(del.json.error.message).toBe("VM 'slow' is busy (create in progress)");
    release();
    expect((await creating).status).toBe(201);
  });
});
