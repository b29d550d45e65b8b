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

/**
 * The second project: its own subnet and VM, quotas, and a member token that sees and touches only it (docs/projects.md).
 * Its subnet is front's block again (projects may share addresses: each is a routing domain of its own), so b-web-1
 * gets web-1's very address, 192.168.20.2, on the same node; its gateway's kernel knows it by a transit address.
 */
export const TEAM_B = {
  project: 'team-b',
  description: 'a second tenant: its own subnet, VM, security group, quotas and member token',
  quotas: { vms: 4, vcpus: 4, memoryMiB: 4096, subnets: 2 },
  subnet: { name: 'b-front', cidr: '192.168.20.0/27' },
  vm: { name: 'b-web-1', subnet: 'b-front' },
  token: 'team-b-member',
} as const;

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
  let sample: SampleCloud | undefined;
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
        // Floating IPs on each gateway's outside link (the lab's 203.0.113.0/24, the gateways .1 and .2).
        floatingIpPools: [
          { gateway: `${prefix}-gw1`, outside: '203.0.113.1/24', addresses: ['203.0.113.10-203.0.113.29'] },
          { gateway: `${prefix}-gw2`, outside: '203.0.113.2/24', addresses: ['203.0.113.30-203.0.113.49'] },
        ],
      });
    },
    steps: [
      async () => (sample = await sampleCloud(cloud!, prefix)),
      async () => (web = await serveBigFile(cloud!, prefix)),
      () => printWelcome(cloud!, prefix, o.openflow, sample!),
    ],
    stop: async () => {
      web?.kill('SIGKILL');
      await cloud?.stop();
    },
  });
}

interface SampleCloud {
  /** The secret of team-b's member token. */
  readonly memberToken: string;
}

async function sampleCloud(cloud: Pick<LabCloud, 'api'>, prefix: string): Promise<SampleCloud> {
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
  // team-b is made beside default's VMs (its addresses are its own: default's do not change), not after them:
  // creating a VM is most of the demo's start-up.
  const teamB = sampleProject(cloud, prefix);
  const defaultVms = (async () => {
    // One after the other: the README's walkthrough names their addresses.
    for (const vm of SAMPLE_VMS(prefix)) {
      const res = await cloud.api('POST', '/api/v1/vms', { ...vm, flavor: 'tiny', image: 'busybox' });
      if (res.status !== 201) throw new Error(`creating VM ${vm.name}: ${res.status} ${JSON.stringify(res.json)}`);
    }
  })();
  const [memberToken] = await Promise.all([teamB, defaultVms]);
  return { memberToken };
}

/** team-b: the project, its subnet and VM (made in it with X-Project), and its member token, whose secret it returns. */
async function sampleProject(cloud: Pick<LabCloud, 'api'>, prefix: string): Promise<string> {
  const b = TEAM_B;
  const must = async (what: string, res: Promise<{ status: number; json: unknown }>): Promise<unknown> => {
    const r = await res;
    if (r.status !== 201) throw new Error(`creating ${what}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  const inB = { 'x-project': b.project };
  await must(`project ${b.project}`, cloud.api('POST', '/api/v1/projects', { name: b.project, description: b.description, quotas: b.quotas }));
  await must(`subnet ${b.subnet.name}`, cloud.api('POST', '/api/v1/subnets', b.subnet, inB));
  await must(`VM ${b.vm.name}`, cloud.api('POST', '/api/v1/vms', { ...b.vm, node: `${prefix}-c1`, flavor: 'tiny', image: 'busybox' }, inB));
  const token = (await must(`token ${b.token}`, cloud.api('POST', '/api/v1/tokens', { name: b.token, role: 'member', project: b.project }))) as { token: string };
  return token.token;
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

function printWelcome(cloud: LabCloud, prefix: string, openflow: string, sample: SampleCloud): void {
  const say = (s = ''): boolean => process.stdout.write(`${s}\n`);
  const vms = cloud.server.service.listVms() as VmView[];
  const ipOf = (name: string): string => vms.find((v) => v.name === name)?.ip ?? '?';
  const api = cloud.apiUrl;
  say();
  const inDefault = vms.filter((v) => v.name !== TEAM_B.vm.name);
  say(`miniCloud demo is up: ${cloud.nodes.length} nodes, subnets front and back, VMs ${inDefault.map((v) => `${v.name} (${v.ip} on ${v.node})`).join(', ')}`);
  say('  security groups: web-1 and web-2 in default and web; db-1 in db, which takes ICMP and tcp 5432 from web only');
  say(`  project ${TEAM_B.project}: subnet ${TEAM_B.subnet.name} (${TEAM_B.subnet.cidr}, the same block as front), VM ${TEAM_B.vm.name} (${ipOf(TEAM_B.vm.name)}), quotas of ${TEAM_B.quotas.vms} VMs and ${TEAM_B.quotas.vcpus} vCPUs;`);
  say(`    its member token (sees and changes ${TEAM_B.project} only): ${sample.memberToken}`);
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
  say(`  MINICLOUD_TOKEN=${sample.memberToken} minicloud vm list     # ${TEAM_B.project}'s VMs only`);
  say();
  say('Ctrl-C stops the demo and removes everything it made.');
}
