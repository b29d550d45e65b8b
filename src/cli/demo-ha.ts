// `minicloud demo --ha`: the demo's lab with three controllers on a 3-member etcd (src/lab/ha-cloud.ts), their APIs
// on --api-port and the next two ports, the same sample cloud; prints which controller leads and how to watch a
// failover; Ctrl-C stops and removes everything.
import type { ChildProcess } from 'node:child_process';
import { HaLabCloud } from '../lab/ha-cloud.js';
import { runUntilSignal } from './demo-run.js';

/** The demo's options this one uses (demo.ts's DemoOptions has them). */
export interface HaDemoOptions {
  readonly prefix: string;
  readonly apiHost: string;
  readonly apiPort: string;
  readonly computes: string;
  readonly dir?: string;
}

/** What the HA demo shares with the one-controller demo (passed in, so that neither module imports the other's). */
export interface DemoSample {
  readonly sampleCloud: (cloud: HaLabCloud, prefix: string) => Promise<unknown>;
  readonly serveBigFile: (cloud: HaLabCloud, prefix: string) => Promise<ChildProcess>;
  readonly bigFile: string;
}

export async function runHaDemo(o: HaDemoOptions, sample: DemoSample): Promise<number> {
  const prefix = o.prefix;
  const base = Number(o.apiPort);
  if (!Number.isInteger(base) || base < 1 || base > 65533) {
    process.stderr.write('minicloud demo --ha: --api-port must be a port number (the three APIs take it and the next two)\n');
    return 2;
  }
  let cloud: HaLabCloud | undefined;
  let web: ChildProcess | undefined;
  return runUntilSignal({
    name: 'minicloud demo --ha',
    prefix,
    starting: `starting the HA lab '${prefix}' (3 etcd members, 3 controllers, 2 gateways, ${o.computes} compute nodes, switch, DHCP)...`,
    stopping: 'stopping the controllers and etcd, removing the lab...',
    start: async () => {
      cloud = await HaLabCloud.start({
        prefix,
        ...(o.dir !== undefined && { dir: o.dir }),
        apiHost: o.apiHost,
        apiPorts: [base, base + 1, base + 2],
        computes: Math.max(2, Number(o.computes)),
      });
    },
    steps: [() => sample.sampleCloud(cloud!, prefix), async () => (web = await sample.serveBigFile(cloud!, prefix)), () => printWelcome(cloud!, prefix, sample.bigFile)],
    stop: async () => {
      web?.kill('SIGKILL');
      await cloud?.stop();
    },
  });
}

async function printWelcome(cloud: HaLabCloud, prefix: string, bigFile: string): Promise<void> {
  const say = (s = ''): boolean => process.stdout.write(`${s}\n`);
  const vms = ((await cloud.api<{ vms: { name: string; ip: string; node: string }[] }>('GET', '/api/v1/vms')).json.vms ?? []);
  const ipOf = (name: string): string => vms.find((v) => v.name === name)?.ip ?? '?';
  const roles = await cloud.roles();
  say();
  say(`miniCloud HA demo is up: ${cloud.nodes.length} nodes, VMs ${vms.map((v) => `${v.name} (${v.ip} on ${v.node})`).join(', ')}`);
  say(`  etcd: ${cloud.etcd.endpoints.join(' ')} (pids ${cloud.etcd.pids.join(' ')})`);
  for (const [i, c] of cloud.controllers.entries()) {
    const r = roles[i];
    say(`  ${c.id}: ${c.apiUrl}/  ${r?.role ?? 'not answering'}  pid ${r?.pid ?? '?'}`);
  }
  say(`  token: ${cloud.token}`);
  say();
  say('Try:');
  say(`  export MINICLOUD_API=${cloud.apiUrl} MINICLOUD_TOKEN=${cloud.token}`);
  say(`  for p in ${cloud.controllers.map((c) => new URL(c.apiUrl).port).join(' ')}; do curl -s ${new URL(cloud.apiUrl).protocol}//${new URL(cloud.apiUrl).hostname}:$p/readyz; echo; done`);
  say(`  ip netns exec ${prefix}v-web-1 ping -i 0.1 ${ipOf('web-2')}        # in another terminal, then kill -9 the leader's pid`);
  say(`  minicloud vm exec web-1 -- busybox wget -O /dev/null http://${ipOf('web-2')}/${bigFile}`);
  say(`  curl -s ${cloud.controllers[1]!.apiUrl}/metrics | grep -E '^minicloud_(leader|openflow_role|flow_mods_sent_total)'`);
  say();
  say('Ctrl-C stops the demo and removes everything it made.');
}
