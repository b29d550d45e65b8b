// The DHCP node's server: dnsmasq (Debian dnsmasq-base) answering only for reserved MACs (one reservation per VM:
// MAC -> IP, router, DNS). Subnets live in the main config (a change restarts dnsmasq); reservations live in a
// hosts file and an options file that dnsmasq rereads on SIGHUP, so VM changes never restart it.
import type { Executor } from '../executor.js';
import { readNodeFile, removeNodeFiles, writeNodeFile } from '../files.js';
import { parseCidr, ValidationError } from '../validate.js';
import { bridgeOf, stateDirOf, validateReservation, type DhcpReservation, type DhcpSpec, type NodeBootstrapSpec } from './spec.js';

export interface DhcpPaths {
  readonly dir: string;
  readonly conf: string;
  readonly hosts: string;
  readonly opts: string;
  readonly leases: string;
  readonly pid: string;
  readonly log: string;
}

export function dhcpPaths(spec: NodeBootstrapSpec): DhcpPaths {
  const dir = spec.dhcp?.dir ?? `${stateDirOf(spec)}/dnsmasq`;
  return {
    dir,
    conf: `${dir}/dnsmasq.conf`,
    hosts: `${dir}/reservations.hosts`,
    opts: `${dir}/reservations.opts`,
    leases: `${dir}/dnsmasq.leases`,
    pid: `${dir}/dnsmasq.pid`,
    log: `${dir}/dnsmasq.log`,
  };
}

export function dnsmasqConfig(bridge: string, dhcp: DhcpSpec, paths: DhcpPaths): string {
  const lease = dhcp.leaseTime ?? '12h';
  const ranges = dhcp.addresses.map((a) => {
    const c = parseCidr('dhcp.addresses', a);
    // 'static': addresses come only from reservations; an unknown MAC gets nothing.
    return `dhcp-range=${c.network},static,${c.netmask},${lease}`;
  });
  return [
    '# Written by minicloud (src/hosts/bootstrap/dhcp.ts); changes here are overwritten.',
    'port=0',
    `interface=${bridge}`,
    'bind-interfaces',
    'dhcp-authoritative',
    'dhcp-no-override',
    ...ranges,
    ...(dhcp.domain ? [`domain=${dhcp.domain}`] : []),
    // Option 26 (RFC 2132 interface MTU): one overlay MTU for the whole cloud, so one line serves every subnet.
    ...(dhcp.mtu !== undefined ? [`dhcp-option=option:mtu,${assertMtu(dhcp.mtu)}`] : []),
    `dhcp-hostsfile=${paths.hosts}`,
    `dhcp-optsfile=${paths.opts}`,
    `dhcp-leasefile=${paths.leases}`,
    `pid-file=${paths.pid}`,
    `log-facility=${paths.log}`,
    'log-dhcp',
    // Debian's dnsmasq would otherwise drop to a user that cannot read our state directory.
    'user=root',
    '',
  ].join('\n');
}

function assertMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new ValidationError('dhcp.mtu', mtu, 'an integer MTU from 68 to 65535');
  return mtu;
}

export function reservationFiles(reservations: readonly DhcpReservation[]): { hosts: string; opts: string } {
  const sorted = [...reservations].sort((a, b) => a.vm.localeCompare(b.vm));
  const hosts = sorted.map((r) => `${r.mac.toLowerCase()},set:${r.vm},${r.ip},${r.vm}\n`).join('');
  const opts = sorted
    .flatMap((r) => [
      ...(r.router ? [`tag:${r.vm},option:router,${r.router}\n`] : []),
      ...(r.dns?.length ? [`tag:${r.vm},option:dns-server,${r.dns.join(',')}\n`] : []),
    ])
    .join('');
  return { hosts, opts };
}

/** The pid of our dnsmasq if it runs (pid file, and that process is dnsmasq with our config). */
async function runningPid(exec: Executor, paths: DhcpPaths): Promise<number | undefined> {
  const pid = Number((await readNodeFile(exec, paths.pid))?.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const cmdline = await readNodeFile(exec, `/proc/${pid}/cmdline`);
  return cmdline?.split('\0').includes(`--conf-file=${paths.conf}`) ? pid : undefined;
}

/**
 * Whether the process still runs. A zombie does not: dnsmasq daemonizes, so its parent is the node's init, and an
 * init that reaps late (a container's PID 1, a sandbox's) would otherwise keep `kill -0` answering yes.
 */
async function alive(exec: Executor, pid: number): Promise<boolean> {
  const stat = await readNodeFile(exec, `/proc/${pid}/stat`);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function stop(exec: Executor, pid: number): Promise<void> {
  await exec.run(['kill', String(pid)], { okCodes: [0, 1] });
  for (let i = 0; i < 50; i++) {
    if (!(await alive(exec, pid))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await exec.run(['kill', '-KILL', String(pid)], { okCodes: [0, 1] });
}

/** Writes the reservations; SIGHUPs dnsmasq when they changed. Returns what changed. */
export async function syncDhcpReservations(
  exec: Executor,
  spec: NodeBootstrapSpec,
  reservations: readonly DhcpReservation[],
): Promise<string[]> {
  reservations.forEach(validateReservation);
  const paths = dhcpPaths(spec);
  const files = reservationFiles(reservations);
  const changed = (await writeNodeFile(exec, paths.hosts, files.hosts)) || false;
  const optsChanged = await writeNodeFile(exec, paths.opts, files.opts);
  if (!changed && !optsChanged) return [];
  const pid = await runningPid(exec, paths);
  if (pid !== undefined) await exec.run(['kill', '-HUP', String(pid)]);
  return [`dhcp: ${reservations.length} reservation(s) written${pid !== undefined ? ', dnsmasq reloaded' : ''}`];
}

export async function ensureDhcpServer(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  const dhcp = spec.dhcp;
  if (!dhcp) return [];
  const paths = dhcpPaths(spec);
  const changes: string[] = [];
  const confChanged = await writeNodeFile(exec, paths.conf, dnsmasqConfig(bridgeOf(spec), dhcp, paths));
  if (confChanged) changes.push(`dhcp: ${paths.conf} written`);
  if (dhcp.reservations) changes.push(...(await syncDhcpReservations(exec, spec, dhcp.reservations)));
  else {
    // dnsmasq refuses to start without the files it is told to read.
    for (const f of [paths.hosts, paths.opts]) if (await writeNodeFile(exec, f, (await readNodeFile(exec, f)) ?? '')) changes.push(`dhcp: ${f} created`);
  }
  let pid = await runningPid(exec, paths);
  if (pid !== undefined && confChanged) {
    await stop(exec, pid);
    pid = undefined;
    changes.push('dhcp: dnsmasq stopped for the new config');
  }
  if (pid === undefined) {
    await exec.run(['dnsmasq', `--conf-file=${paths.conf}`]);
    changes.push('dhcp: dnsmasq started');
  }
  return changes;
}

export async function removeDhcpServer(exec: Executor, spec: NodeBootstrapSpec): Promise<string[]> {
  const paths = dhcpPaths(spec);
  const changes: string[] = [];
  const pid = await runningPid(exec, paths);
  if (pid !== undefined) {
    await stop(exec, pid);
    changes.push('dhcp: dnsmasq stopped');
  }
  const present = await Promise.all([paths.conf, paths.hosts, paths.opts, paths.leases, paths.log, paths.pid].map(async (f) => ((await readNodeFile(exec, f)) !== undefined ? f : undefined)));
  const files = present.filter((f): f is string => f !== undefined);
  if (files.length) {
    await removeNodeFiles(exec, ...files);
    changes.push(`dhcp: ${files.length} file(s) removed`);
  }
  await exec.run(['rmdir', '--', paths.dir], { okCodes: [0, 1] });
  return changes;
}
