// `minicloud demo`: the all-in-one lab on this machine (docs/lab.md). Cleans leftovers of a crashed demo, starts the
// controller (OpenFlow on the lab's unix socket and on tcp, API + UI + /metrics on loopback), the lab's nodes (each a
// namespace with its own OVS, provisioned by the controller), creates a sample cloud through the API, prints how to
// use it, and stays up until Ctrl-C (SIGINT/SIGTERM), then removes everything it made.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { LabCloud } from '../lab/cloud.js';
import { runHaDemo } from './demo-ha.js';
import { runUntilSignal } from './demo-run.js';

interface DemoOptions {
  prefix: string;
  apiHost: string;
  apiPort: string;
  openflow: string;
  computes: string;
  dir?: string;
  ha?: boolean;
}

interface VmView {
  name: string;
  ip: string;
  node: string;
}

// web-1 and web-2 are in default (they reach each other, and anything in default reaches them) and in web; db-1 is
// only in db, which takes ICMP and PostgreSQL from web's members and nothing else (docs/security-groups.md).
const SAMPLE_VMS = (p: string): { name: string; subnet: string; node: string; securityGroups: string[] }[] => [
  { name: 'web-1', subnet: 'front', node: `${p}-c1`, securityGroups: ['default', 'web'] },
  { name: 'web-2', subnet: 'front', node: `${p}-c2`, securityGroups: ['default', 'web'] },
  { name: 'db-1', subnet: 'back', node: `${p}-c2`, securityGroups: ['db'] },
];

const SAMPLE_GROUPS: { name: string; rules: object[] }[] = [
  { name: 'web', rules: [] },
  {
    name: 'db',
    rules: [
      { direction: 'ingress', protocol: 'icmp', remoteGroup: 'web' },
      { direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' },
    ],
  },
];

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('all-in-one lab on this machine: nodes as namespaces with their own OVS, the controller, API, UI (Ctrl-C stops and removes it)')
    .option('--prefix <prefix>', 'names of everything the demo makes (namespaces <prefix>-*, VMs <prefix>v-*)', 'mcd')
    .option('--api-host <host>', 'API, UI and /metrics address', '127.0.0.1')
    .option('--api-port <port>', 'API port (0: any free port)', '8080')
    .option('--openflow <endpoint>', "extra OpenFlow listener for switches outside the lab ('none' for none)", 'tcp:127.0.0.1:6653')
    .option('--computes <n>', 'compute nodes', '2')
    .option('--dir <dir>', 'where the store, sockets and node run directories go (default /tmp/minicloud-lab/<prefix>)')
    .option('--ha', 'three controllers on a 3-member etcd, APIs on --api-port and the next two ports (docs/lab.md)')
    .action(async (o: DemoOptions) => {
      // Exit explicitly: a stray handle (a socket closing late) must not keep a stopped demo alive.
      process.exit(o.ha ? await runHaDemo(o, { sampleCloud, serveBigFile, bigFile: BIG_FILE }) : await runDemo(o));
    });
}

async function runDemo(o: DemoOptions): Promise<number> {
  const prefix = o.prefix;
  let cloud: LabCloud | undefined;
  let web: ChildProcess | undefined;
  return runUntilSignal({
    name: 'minicloud demo',
    prefix,
    starting: `starting the lab '${prefix}' (controller, 2 gateways, ${o.computes} compute nodes, switch, DHCP, outside world)...`,
    stopping: 'stopping the controller and removing the lab...',
    start: async () => {
      cloud = await LabCloud.start({
        prefix,
        ...(o.dir !== undefined && { dir: o.dir }),
        apiHost: o.apiHost,
        apiPort: Number(o.apiPort),
        computes: Math.max(2, Number(o.computes)),
        extraListen: o.openflow === 'none' ? [] : [o.openflow],
        logger: pino({ level: 'warn' }, pino.destination(2)),
        statsIntervalSeconds: 5,
      });
    },
    steps: [() => sampleCloud(cloud!, prefix), async () => (web = await serveBigFile(cloud!, prefix)), () => printWelcome(cloud!, prefix, o.openflow)],
    stop: async () => {
      web?.kill('SIGKILL');
      await cloud?.stop();
    },
  });
}

async function sampleCloud(cloud: Pick<LabCloud, 'api'>, prefix: string): Promise<void> {
  for (const name of ['front', 'back']) {
    const res = await cloud.api('POST', '/api/v1/subnets', { name });
    if (res.status !== 201) throw new Error(`creating subnet ${name}: ${res.status} ${JSON.stringify(res.json)}`);
  }
  for (const g of SAMPLE_GROUPS) {
    const res = await cloud.api('POST', '/api/v1/security-groups', { name: g.name });
    if (res.status !== 201) throw new Error(`creating security group ${g.name}: ${res.status} ${JSON.stringify(res.json)}`);
    for (const rule of g.rules) {
      const r = await cloud.api('POST', `/api/v1/security-groups/${g.name}/rules`, rule);
      if (r.status !== 201) throw new Error(`adding a rule to ${g.name}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  }
  for (const vm of SAMPLE_VMS(prefix)) {
    const res = await cloud.api('POST', '/api/v1/vms', { ...vm, flavor: 'tiny', image: 'busybox' });
    if (res.status !== 201) throw new Error(`creating VM ${vm.name}: ${res.status} ${JSON.stringify(res.json)}`);
  }
}

/** web-2 serves a 5 MiB file (busybox httpd in its namespace): a transfer of full-size frames between two nodes. */
async function serveBigFile(cloud: Pick<LabCloud, 'dir'>, prefix: string): Promise<ChildProcess> {
  const dir = join(cloud.dir, 'www');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, BIG_FILE), Buffer.alloc(5 * 1024 * 1024, 'minicloud '));
  const child = spawn('ip', ['netns', 'exec', `${prefix}v-web-2`, 'busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

const BIG_FILE = '5mb';

function printWelcome(cloud: LabCloud, prefix: string, openflow: string): void {
  const say = (s = ''): boolean => process.stdout.write(`${s}\n`);
  const vms = cloud.server.service.listVms() as VmView[];
  const ipOf = (name: string): string => vms.find((v) => v.name === name)?.ip ?? '?';
  const api = cloud.apiUrl;
  say();
  say(`miniCloud demo is up: ${cloud.nodes.length} nodes, subnets front and back, VMs ${vms.map((v) => `${v.name} (${v.ip} on ${v.node})`).join(', ')}`);
  say('  security groups: web-1 and web-2 in default and web; db-1 in db, which takes ICMP and tcp 5432 from web only');
  say(`  UI and API: ${api}/   API docs: ${api}/docs   metrics: ${api}/metrics`);
  if (openflow !== 'none') say(`  OpenFlow: ${openflow} (and unix:${cloud.dir}/openflow.sock for the lab's nodes)`);
  say(`  token: ${cloud.token}`);
  say();
  say('Try:');
  say(`  export MINICLOUD_API=${api} MINICLOUD_TOKEN=${cloud.token}`);
  say(`  minicloud vm exec web-1 -- ping -c 3 ${ipOf('web-2')}`);
  say(`  minicloud vm exec web-1 -- busybox wget -O /dev/null http://${ipOf('web-2')}/${BIG_FILE}`);
  say(`  minicloud flows ${prefix}-c1`);
  say(`  minicloud vm create web-3 --subnet front --image busybox --flavor tiny`);
  say();
  say('Ctrl-C stops the demo and removes everything it made.');
}
