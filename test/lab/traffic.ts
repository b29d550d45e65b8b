// Traffic tools for the lab scenarios: packet captures (tcpdump in a namespace the lab made), pings between VMs
// through the API (test/helpers/ping.ts), the flows still naming a VM, and `lxc` against a lab node's own LXD daemon.
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import type { VmExecResult } from '../../src/cloud/index.js';
import type { LabCloud } from '../../src/lab/cloud.js';
import { parsePing, pingArgv, type PingOptions, type PingResult } from '../helpers/ping.js';

export interface Capture {
  /** Stops tcpdump (after a short grace for packets in flight) and returns its lines. */
  stop(): Promise<string[]>;
}

/** Starts `tcpdump -l -nn -e` in a namespace; resolves once it is listening. Bounded: killed after `maxMs`. */
export async function capture(netns: string, iface: string, filter: string, extra: readonly string[] = [], maxMs = 60_000): Promise<Capture> {
  const child = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-l', '-nn', '-e', '-i', iface, ...extra, filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), maxMs);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump in ${netns} did not start`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump in ${netns} exited ${code}`));
    });
  });
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill('SIGKILL');
      clearTimeout(killer);
      if (out) lines.push(out);
      return lines;
    },
  };
}

/** Runs a command in a VM through the public API (POST /api/v1/vms/:name/exec); the request itself must succeed. */
export async function vmExec(cloud: LabCloud, vm: string, command: string[]): Promise<VmExecResult> {
  const res = await cloud.api<VmExecResult>('POST', `/api/v1/vms/${vm}/exec`, { command });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json;
}

/** Pings (pingArgv's defaults: 10, 0.2 s apart, 3 s wait) from a VM to an address, through the API. */
export async function pingFrom(cloud: LabCloud, from: string, to: string, opts: PingOptions = {}): Promise<PingResult> {
  return parsePing((await vmExec(cloud, from, pingArgv(to, opts))).stdout);
}

/** How many flows, over every node's br0, still name a VM's MAC or IP (a node without br0 counts none). */
export async function flowsMentioning(cloud: LabCloud, vm: { readonly mac: string; readonly ip: string }): Promise<number> {
  let mentions = 0;
  for (const ovs of cloud.lab.ovs.values()) {
    const flows = await ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0').catch(() => '');
    mentions += flows.split('\n').filter((l) => l.includes(vm.mac) || l.includes(`=${vm.ip},`) || l.includes(`=${vm.ip} `)).length;
  }
  return mentions;
}

/**
 * `lxc` against a lab node's own LXD daemon, run from the machine in the node's namespace (not through the
 * controller): what is really there. The same environment the controller's executor for that node carries.
 */
export function lxcOn(cloud: LabCloud, node: string): NetnsExecutor {
  const lxd = cloud.lxd.get(node);
  if (!lxd) throw new Error(`${node} has no LXD daemon in this lab`);
  return new NetnsExecutor(new LocalExecutor(), node, { env: { OVS_RUNDIR: cloud.lab.node(node).dir, ...lxd.env } });
}
