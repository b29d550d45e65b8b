// Names with shell metacharacters: rejected by validation wherever a name is expected, and inert data wherever
// free text is allowed (arguments, environment values, file contents). A marker file proves nothing ran.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapNode, syncDhcpReservations, type NodeBootstrapSpec } from '../../src/hosts/bootstrap/index.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { ensureBusyboxImage } from '../../src/hosts/lxd/image.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import { assertIfName, assertMac, assertName, assertPath, assertVmInstance, assertVmInstanceName, ValidationError } from '../../src/hosts/validate.js';
import { LxdVmDriver } from '../../src/hosts/vm/lxd.js';
import { NetnsVmDriver } from '../../src/hosts/vm/netns.js';
import type { VmSpec } from '../../src/hosts/vm/driver.js';

const work = mkdtempSync(join(tmpdir(), 'mc-inject-'));
const MARKER = join(work, 'PWNED');
const touch = `touch ${MARKER}`;

/** The table: `;`, `$()`, backticks, spaces, quotes, newlines, leading `-`, and friends. */
const EVIL = [
  `a;${touch}`,
  `$(${touch})`,
  `\`${touch}\``,
  `a ${touch}`,
  `'${touch}'`,
  `"${touch}"`,
  `a\n${touch}`,
  `-rf`,
  `--all`,
  `a|${touch}`,
  `a&&${touch}`,
  `a>${MARKER}`,
  `../../etc`,
  `a/b`,
  ``,
  `a\0b`,
  `a`.repeat(40),
];

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('injection', () => {
  it('the validators reject every evil name', () => {
    for (const v of EVIL) {
      expect(() => assertName('name', v), JSON.stringify(v)).toThrow(ValidationError);
      expect(() => assertIfName('port', v), JSON.stringify(v)).toThrow(ValidationError);
    }
    expect(() => assertMac('mac', '02:00:00:00:00:01;id')).toThrow(ValidationError);
    expect(() => assertMac('mac', '03:00:00:00:00:01')).toThrow(/unicast/);
    expect(() => assertPath('path', '/tmp/$(id)')).toThrow(ValidationError);
    expect(() => assertPath('path', '/tmp/../etc')).toThrow(ValidationError);
    expect(assertName('name', 'vm-1')).toBe('vm-1');
  });

  it("instance names: a VM name, or PROJECT--NAME within every length limit; nothing else, evil names never", () => {
    const longest = `${'p'.repeat(20)}--${'v'.repeat(32)}`;
    for (const ok of ['web', 'blue--web', 'a--b--c', longest]) {
      expect(assertVmInstanceName('vm', ok), ok).toBe(ok);
      expect(assertVmInstance('vm', ok), ok).toBe(ok);
    }
    expect(new NetnsVmDriver({ node: { target: 'x', run: async () => ({}) as never, close: async () => {} }, stateDir: work, netnsPrefix: 'mcvv12-' }).netnsOf(longest)).toHaveLength(61);
    // Made before names were per project (any case): still managed, never made again.
    expect(assertVmInstance('vm', 'Old-VM')).toBe('Old-VM');
    expect(() => assertVmInstanceName('vm', 'Old-VM')).toThrow(ValidationError);
    for (const bad of [`${longest}x`, 'blue--', '--web', 'blue--Web', 'blue--web-', 'a'.repeat(33), 'blue---web', ...EVIL]) {
      expect(() => assertVmInstanceName('vm', bad), JSON.stringify(bad)).toThrow(ValidationError);
      // An older VM's name may have had any case and '--' (VM_REF): those two stay manageable.
      if (bad !== 'blue---web' && bad !== 'blue--Web') expect(() => assertVmInstance('vm', bad), JSON.stringify(bad)).toThrow(ValidationError);
    }
  });

  it('VM drivers refuse evil names and images for every operation, running nothing', async () => {
    let ran = 0;
    const counting = { target: 'counting', run: async () => void ran++ as never, close: async () => {} };
    const drivers = [
      new NetnsVmDriver({ node: counting, stateDir: work }),
      new LxdVmDriver({ node: counting }),
    ];
    const spec = (over: Partial<VmSpec>): VmSpec => ({ name: 'ok', mac: '02:00:00:00:00:01', network: { mode: 'dhcp' }, ...over });
    for (const d of drivers) {
      for (const v of EVIL) {
        await expect(d.create(spec({ name: v })), `${d.kind} create ${JSON.stringify(v)}`).rejects.toBeInstanceOf(ValidationError);
        await expect(d.create(spec({ image: v }))).rejects.toBeInstanceOf(ValidationError);
        await expect(d.create(spec({ port: v }))).rejects.toBeInstanceOf(ValidationError);
        await expect(d.delete(v)).rejects.toBeInstanceOf(ValidationError);
        await expect(d.info(v)).rejects.toBeInstanceOf(ValidationError);
        await expect(d.exec(v, ['true'])).rejects.toBeInstanceOf(ValidationError);
        await expect(d.start(v)).rejects.toBeInstanceOf(ValidationError);
        await expect(d.stop(v)).rejects.toBeInstanceOf(ValidationError);
      }
      await expect(d.create(spec({ network: { mode: 'static', address: `10.0.0.1/24;${touch}` } }))).rejects.toBeInstanceOf(ValidationError);
      await expect(d.create(spec({ network: { mode: 'static', address: '10.0.0.1/24', dns: [`$(${touch})`] } }))).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(ensureBusyboxImage(counting, { alias: `x;${touch}` })).rejects.toBeInstanceOf(ValidationError);
    expect(() => new NetnsExecutor(new LocalExecutor(), `ns;${touch}`)).toThrow(ValidationError);
    expect(ran).toBe(0);
  });

  it('node specs with evil names, peers, reservations or controllers are refused before any command', async () => {
    let ran = 0;
    const counting = { target: 'counting', run: async () => void ran++ as never, close: async () => {} };
    const base: NodeBootstrapSpec = { name: 'n1', roles: ['switch'], tunnelIp: '10.0.0.1', controller: 'tcp:10.0.0.2:6653', switchPeers: [] };
    for (const v of EVIL) {
      await expect(bootstrapNode(counting, { ...base, name: v })).rejects.toBeInstanceOf(ValidationError);
      await expect(bootstrapNode(counting, { ...base, switchPeers: [{ name: v, ip: '10.0.0.3' }] })).rejects.toBeInstanceOf(ValidationError);
      await expect(bootstrapNode(counting, { ...base, bridge: v })).rejects.toBeInstanceOf(ValidationError);
      await expect(syncDhcpReservations(counting, base, [{ vm: v, mac: '02:00:00:00:00:01', ip: '10.0.0.9' }])).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(bootstrapNode(counting, { ...base, controller: `tcp:10.0.0.2:6653 ${touch}` })).rejects.toBeInstanceOf(ValidationError);
    await expect(bootstrapNode(counting, { ...base, tunnelIp: `10.0.0.1$(${touch})` })).rejects.toBeInstanceOf(ValidationError);
    expect(ran).toBe(0);
  });

  it('free text travels as inert data through the local and namespace executors', async () => {
    const local = new LocalExecutor();
    const args = EVIL.filter((v) => !v.includes('\0'));
    const out = (await local.run(['printf', '%s\\0', ...args])).stdout.split('\0').slice(0, -1);
    expect(out).toEqual(args);
    // Environment values too: `env` hands them over verbatim (the netns executor passes env this way, as SSH would).
    const ns = new NetnsExecutor(local, 'mchi-none', { env: { X: `$(${touch})` } });
    expect(ns.target).toBe('netns:mchi-none');
    const viaEnv = await local.run(['env', `X=$(${touch});\`${touch}\``, 'printenv', 'X']);
    expect(viaEnv.stdout).toBe(`$(${touch});\`${touch}\`\n`);
    // stdin is data as well.
    expect((await local.run(['cat'], { input: `${touch}\n` })).stdout).toBe(`${touch}\n`);
    expect(existsSync(MARKER)).toBe(false);
  });
});
