// Issue 16, full-size packets between nodes, on real packets in the lab of docs/lab.md (prefix `mcq`): the underlay
// stays at 1500 bytes, so VXLAN's 50 bytes are the real constraint. VMs get the overlay MTU (1450) and DHCP says so;
// 5 MB HTTP transfers between VMs on two nodes, same subnet and routed, and to and from the outside world through a
// gateway (SNAT), each with the right byte count; `ping -M do` at the largest size passes and one byte more gets ICMP
// fragmentation-needed from the gateway (table 20 and src/daemon/path-mtu.ts); VMs whose MTU was set back to
// 1500 by hand still complete 5 MB transfers (path-MTU discovery). busybox httpd serves (a 5 MiB file and a CGI that
// counts what is POSTed); curl fetches and posts (busybox 1.35's wget crashes here with -T or --post-file). Each
// scenario prints what it measured.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmView } from '../../src/cloud/index.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { INTERNET_HOST, namespacesWith } from '../../src/lab/lab.js';
import { waitFor } from '../helpers/wait.js';
import { parsePing } from '../helpers/ping.js';
import { vmExec } from './traffic.js';

const P = 'mcq';
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
const GW1 = `${P}-gw1`;
const VMS = [
  { name: 'a1', subnet: 'front', node: C1, gateway: GW1 },
  { name: 'a3', subnet: 'front', node: C2, gateway: GW1 },
  { name: 'b1', subnet: 'back', node: C2, gateway: GW1 },
  { name: 'b2', subnet: 'back', node: C1, gateway: GW1 },
] as const;
const TRANSFER_BYTES = 5 * 1024 * 1024;
const OVERLAY_MTU = 1450;

let cloud: LabCloud;
const vms = new Map<string, VmView>();
const ip = (vm: string): string => vms.get(vm)!.ip;
const vmNs = (vm: string): string => `${P}v-${vm}`;
const stops: (() => Promise<void>)[] = [];
let web: string;

/** busybox httpd in the foreground in a namespace, serving `dir` (and its cgi-bin); bounded, stopped in afterAll. */
function httpd(netns: string, dir: string, port = 8080): void {
  const child = spawn('ip', ['netns', 'exec', netns, 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir], { stdio: 'ignore' });
  child.on('error', () => undefined);
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  stops.push(async () => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
}

/** A web root with a TRANSFER_BYTES file `/big` and `/cgi-bin/count`, which answers with the size of what was POSTed. */
async function webRoot(dir: string): Promise<void> {
  await mkdir(join(dir, 'cgi-bin'), { recursive: true });
  await writeFile(join(dir, 'big'), Buffer.alloc(TRANSFER_BYTES, 'minicloud path mtu '));
  await writeFile(join(dir, 'cgi-bin', 'count'), "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nwc -c | tr -d ' '\n", { mode: 0o755 });
}

/** Bytes a namespace downloads from `url` (curl, bounded in time), with the time it took. */
async function download(netns: string, url: string): Promise<{ bytes: number; ms: number }> {
  const t0 = Date.now();
  const out = await run('curl', ['-sS', '--max-time', '40', '--connect-timeout', '5', '-o', '/dev/null', '-w', '%{size_download}', url], { netns, timeoutMs: 60_000 });
  return { bytes: Number(out.trim()), ms: Date.now() - t0 };
}

/** POSTs a file from a namespace to a /cgi-bin/count URL: the byte count the server received. */
async function upload(netns: string, url: string, file: string): Promise<{ bytes: number; ms: number }> {
  const t0 = Date.now();
  const out = await run('curl', ['-sS', '--max-time', '40', '--connect-timeout', '5', '-X', 'POST', '--data-binary', `@${file}`, url], { netns, timeoutMs: 60_000 });
  return { bytes: Number(out.trim()), ms: Date.now() - t0 };
}

/** Waits until a server answers the count CGI (a GET posts nothing: "0"). */
async function serving(from: string, host: string): Promise<void> {
  await waitFor(`httpd on ${host}`, () => upload(vmNs(from), `http://${host}:8080/cgi-bin/count`, '/dev/null').catch((e: Error) => ({ bytes: -1, ms: 0, e: e.message })), (r) => r.bytes === 0, 30_000);
}

const setMtu = (vm: string, mtu: number): Promise<string> => run('ip', ['link', 'set', 'eth0', 'mtu', String(mtu)], { netns: vmNs(vm) });
const mtuOf = async (vm: string): Promise<number> => Number((await run('cat', ['/sys/class/net/eth0/mtu'], { netns: vmNs(vm) })).trim());
const flushRoutes = (vm: string): Promise<string> => run('ip', ['route', 'flush', 'cache'], { netns: vmNs(vm) });

/** Sum of a counter family in the controller's /metrics (optionally only series whose labels contain `labels`). */
async function metricSum(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${cloud.apiUrl}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))].filter((m) => (m[1] ?? '').includes(labels)).reduce((s, m) => s + Number(m[2]), 0);
}

beforeAll(async () => {
  const t0 = Date.now();
  cloud = await LabCloud.start({ prefix: P });
  for (const name of ['front', 'back']) expect((await cloud.api('POST', '/api/v1/subnets', { name })).status).toBe(201);
  for (const vm of VMS) {
    const res = await cloud.api<{ vm: VmView }>('POST', '/api/v1/vms', { ...vm, flavor: 'tiny', image: 'busybox' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    vms.set(vm.name, res.json.vm);
  }
  web = join(cloud.dir, 'web');
  await webRoot(web);
  httpd(vmNs('a3'), web);
  httpd(cloud.lab.outsideNs, web);
  await serving('a1', ip('a3'));
  await serving('a1', INTERNET_HOST);
  console.log(`path-MTU lab: ${cloud.nodes.length} nodes, ${VMS.length} VMs and two web servers up in ${Date.now() - t0} ms`);
}, 180_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  await cloud?.stop();
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
}, 60_000);

describe('full-size packets between nodes and to the outside (issue 16)', () => {
  it('1: every VM has the overlay MTU (1500 - 50), and DHCP announces it (option 26)', async () => {
    const mtus = Object.fromEntries(await Promise.all(VMS.map(async (v) => [v.name, await mtuOf(v.name)] as const)));
    const script = join(cloud.dir, 'udhcpc-print.sh');
    await writeFile(script, '#!/bin/sh\n[ "$1" = bound ] && echo "bound mtu=$mtu"\nexit 0\n', { mode: 0o755 });
    const r = await vmExec(cloud, 'b2', ['busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-O', 'mtu', '-s', script]);
    const announced = /bound mtu=(\d+)/.exec(r.stdout)?.[1];
    console.log(`scenario 1: VM MTUs ${JSON.stringify(mtus)}; DHCP option 26 announced to b2: ${announced}`);
    for (const v of VMS) expect(mtus[v.name], v.name).toBe(OVERLAY_MTU);
    expect(Number(announced)).toBe(OVERLAY_MTU);
  });

  it('2: 5 MB over HTTP between VMs on two nodes, same subnet and routed, every byte', async () => {
    const same = await download(vmNs('a1'), `http://${ip('a3')}:8080/big`);
    const routed = await download(vmNs('b2'), `http://${ip('a3')}:8080/big`);
    console.log(`scenario 2: a1 (${C1}) <- a3 (${C2}) same subnet ${same.bytes} bytes in ${same.ms} ms; b2 back (${C1}) <- a3 front (${C2}) routed ${routed.bytes} bytes in ${routed.ms} ms`);
    expect(same.bytes).toBe(TRANSFER_BYTES);
    expect(routed.bytes).toBe(TRANSFER_BYTES);
  });

  it('3: 5 MB to and from the outside world through the gateway (SNAT), every byte', async () => {
    const down = await download(vmNs('a1'), `http://${INTERNET_HOST}:8080/big`);
    const up = await upload(vmNs('a1'), `http://${INTERNET_HOST}:8080/cgi-bin/count`, join(web, 'big'));
    console.log(`scenario 3: a1 <- outside ${down.bytes} bytes in ${down.ms} ms; a1 -> outside ${up.bytes} bytes in ${up.ms} ms (through ${GW1}, SNAT)`);
    expect(down.bytes).toBe(TRANSFER_BYTES);
    expect(up.bytes).toBe(TRANSFER_BYTES);
  });

  it('4: ping -M do: the largest size fits, one byte more gets ICMP fragmentation-needed from the gateway, not silence', async () => {
    const largest = OVERLAY_MTU - 28;
    const pingArgs = (size: number, count: number): string[] => ['-n', '-M', 'do', '-c', String(count), '-i', '0.5', '-W', '2', '-s', String(size), ip('b1')];
    const fits = parsePing(await run('ping', pingArgs(largest, 3), { netns: vmNs('a1'), timeoutMs: 20_000 }));
    // At the right MTU the VM refuses the bigger one itself.
    const local = await run('ping', pingArgs(largest + 1, 1), { netns: vmNs('a1'), timeoutMs: 20_000 }).catch((e: { stderr?: string; stdout?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
    // Set back to 1500 by hand, it sends it, and table 20 answers: iputils prints the ICMP error, the kernel learns.
    const before = await metricSum('minicloud_path_mtu_packets_total', 'outcome="icmp_sent"');
    await setMtu('a1', 1500);
    await flushRoutes('a1');
    const big = await run('ping', pingArgs(largest + 1, 3), { netns: vmNs('a1'), timeoutMs: 20_000 }).catch((e: { stdout?: string }) => e.stdout ?? '');
    const route = await run('ip', ['route', 'get', ip('b1')], { netns: vmNs('a1') });
    const after = await metricSum('minicloud_path_mtu_packets_total', 'outcome="icmp_sent"');
    await setMtu('a1', OVERLAY_MTU);
    await flushRoutes('a1');
    console.log(
      `scenario 4: a1 (${C1}) -> b1 (${C2}) -s ${largest} with DF: ${fits.received}/${fits.sent}; -s ${largest + 1} at MTU 1450: "${local.split('\n').find((l) => /too long|mtu/i.test(l))?.trim() ?? local.trim()}"; ` +
        `at MTU 1500: "${big.split('\n').find((l) => /Frag needed/i.test(l)) ?? big.trim()}"; route: "${route.trim().split('\n')[0]}"; ICMP frag-needed sent ${before} -> ${after}`,
    );
    expect(fits.lost).toBe(0);
    expect(local).toMatch(/message too long|mtu ?= ?1450/i);
    expect(big).toMatch(new RegExp(`From ${vms.get('a1')!.ip.replace(/\.\d+$/, '.1').replaceAll('.', '\\.')} icmp_seq=\\d+ Frag needed and DF set \\(mtu = ${OVERLAY_MTU}\\)`));
    expect(route).toMatch(new RegExp(`mtu ${OVERLAY_MTU}`));
    expect(after).toBeGreaterThan(before);
  });

  it('5: VMs left at MTU 1500 by hand still complete 5 MB transfers (path-MTU discovery), between nodes and to the outside', async () => {
    await setMtu('a1', 1500);
    await setMtu('b1', 1500);
    await flushRoutes('a1');
    await flushRoutes('b1');
    try {
      httpd(vmNs('b1'), web);
      await serving('a1', ip('b1'));
      const before = await metricSum('minicloud_path_mtu_packets_total', 'outcome="icmp_sent"');
      // b1 (1500) sends full-size segments to a1 (1500: it advertised MSS 1460); table 20 on b1's node answers b1.
      const between = await download(vmNs('a1'), `http://${ip('b1')}:8080/big`);
      const after = await metricSum('minicloud_path_mtu_packets_total', 'outcome="icmp_sent"');
      // a1 (1500) to the outside: the tunnel to its gateway answers a1; the outside's full-size replies meet the
      // gateway's br0 (MTU 1450), whose kernel sends fragmentation-needed back out.
      await flushRoutes('a1');
      const up = await upload(vmNs('a1'), `http://${INTERNET_HOST}:8080/cgi-bin/count`, join(web, 'big'));
      const down = await download(vmNs('a1'), `http://${INTERNET_HOST}:8080/big`);
      console.log(
        `scenario 5 (a1 and b1 at MTU 1500): a1 <- b1 routed (${C2} -> ${C1}) ${between.bytes} bytes in ${between.ms} ms, ICMP frag-needed sent ${before} -> ${after}; ` +
          `a1 -> outside ${up.bytes} bytes in ${up.ms} ms; a1 <- outside ${down.bytes} bytes in ${down.ms} ms`,
      );
      expect(between.bytes).toBe(TRANSFER_BYTES);
      expect(after).toBeGreaterThan(before);
      expect(up.bytes).toBe(TRANSFER_BYTES);
      expect(down.bytes).toBe(TRANSFER_BYTES);
    } finally {
      for (const vm of ['a1', 'b1']) await setMtu(vm, OVERLAY_MTU).catch(() => undefined);
    }
  });
});
