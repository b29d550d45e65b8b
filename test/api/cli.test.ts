// The `minicloud` API commands against a real listening API (real store and CloudService, fake collaborators).
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, registerApiCommands } from '../../src/cli/api-commands.js';
import { makeHarness, type Harness } from './harness.js';

let h: Harness;
let url: string;

beforeAll(async () => {
  h = await makeHarness();
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => h.close());

/** A local port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs `minicloud --api URL --token T ...args` in-process; returns exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const program = new Command('minicloud')
    .option('--api <url>')
    .option('--token <token>')
    .option('--json')
    .option('--project <name>')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerApiCommands(program, { out: (s) => (out += s), err: (s) => (err += s) });
  let code = 0;
  try {
    await program.parseAsync(['node', 'minicloud', '--api', url, '--token', h.token, ...args]);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode;
  }
  return { code, out, err };
}

describe('minicloud CLI', () => {
  it('builds the seed cloud and shows it as tables', async () => {
    expect(await cli('node', 'add', 'gw-1', '--roles', 'gateway', '--ip', '10.0.0.1', '--service-ip', '203.0.113.1', '--az', 'AZ-1', '--ssh', 'root@10.0.0.1')).toMatchObject({
      code: 0,
      err: '',
    });
    const add = await cli('node', 'add', 'host-1', '--roles', 'compute', '--ip', '10.0.0.11', '--az', 'AZ-1', '--cpus', '32', '--memory', '48G');
    expect(add.code).toBe(0);
    expect(add.out).toContain('node host-1 added');
    expect(add.out).toMatch(/memory:\s+0G used of 48G/);
    expect((await cli('subnet', 'create', 'a')).out).toBe('subnet a created: 192.168.20.0/27, gateway 192.168.20.1, VNI 1\n');
    expect((await cli('subnet', 'create', 'b', '--cidr', '192.168.21.0/24')).code).toBe(0);
    const vm = await cli('vm', 'create', 'web-1', '--subnet', 'a', '--flavor', '4C8G', '--image', 'images:debian/12');
    expect(vm).toEqual({ code: 0, out: 'vm web-1 running on host-1: 192.168.20.2 02:00:c0:a8:14:02, gateway gw-1\n', err: '' });

    const nodes = (await cli('node', 'list')).out.split('\n');
    expect(nodes[0]).toMatch(/^NAME\s+ROLES\s+UNDERLAY\s+AZ\s+CPUS\s+MEMORY\s+VMS$/);
    expect(nodes[2]).toMatch(/^host-1\s+compute\s+10\.0\.0\.11\s+AZ-1\s+4\/32\s+8G\/48G\s+1$/);
    expect((await cli('subnet', 'list')).out).toMatch(/a\s+default\s+192\.168\.20\.0\/27\s+192\.168\.20\.1\s+1\s+1\s+28/);
    expect((await cli('vm', 'list', '--subnet', 'a')).out).toMatch(/web-1\s+default\s+running\s+a\s+192\.168\.20\.2/);
    expect((await cli('vm', 'show', 'web-1')).out).toMatch(/flavor:\s+4C8G \(4 CPUs, 8G\)/);
    expect((await cli('subnet', 'show', 'a')).out).toMatch(/addresses:\s+1 used, 28 free of 29/);
    expect((await cli('node', 'show', 'gw-1')).out).toMatch(/service ip:\s+203\.0\.113\.1/);
  });

  it('sg create|list|show|delete, sg rule add|delete, vm create --sg, vm set-sg', async () => {
    const create = await cli('sg', 'create', 'web', '--description', 'the web tier');
    expect(create).toMatchObject({ code: 0, err: '' });
    expect(create.out).toMatch(/^security group web created \(id \d+\): egress any to 0\.0\.0\.0\/0\n$/);
    expect((await cli('sg', 'create', 'db')).code).toBe(0);
    const http = await cli('sg', 'rule', 'add', 'web', 'ingress', 'tcp', '80');
    expect(http.out).toMatch(/^rule \d+ added to web: ingress tcp 80 from 0\.0\.0\.0\/0\n$/);
    const pg = await cli('sg', 'rule', 'add', 'db', 'ingress', 'tcp', '5432-5433', '--remote-group', 'web');
    expect(pg.out).toMatch(/ingress tcp 5432-5433 from group web/);
    expect((await cli('sg', 'rule', 'add', 'db', 'ingress', 'icmp', '--remote', '10.0.0.0/8')).code).toBe(0);
    // Usage (2) for what the CLI can tell, refused (4) with the API's words for the rest.
    expect((await cli('sg', 'rule', 'add', 'db', 'ingress', 'tcp', 'http')).code).toBe(EXIT.usage);
    // icmp [TYPE[/CODE]]: the type and code go to the API, which says what is out of range.
    expect((await cli('sg', 'rule', 'add', 'db', 'ingress', 'icmp', '8', '--remote-group', 'db')).out).toMatch(/^rule \d+ added to db: ingress icmp 8 from group db\n$/);
    expect((await cli('sg', 'rule', 'add', 'db', 'ingress', 'icmp', '3/4')).out).toMatch(/ingress icmp 3\/4 from 0\.0\.0\.0\/0\n$/);
    expect((await cli('sg', 'rule', 'add', 'db', 'ingress', 'icmp', '1-5')).code).toBe(EXIT.usage);
    const icmpRange = await cli('sg', 'rule', 'add', 'db', 'ingress', 'icmp', '3/256');
    expect(icmpRange.code).toBe(EXIT.refused);
    expect(icmpRange.err).toMatch(/icmpCode/);
    expect((await cli('sg', 'rule', 'add', 'db', 'sideways', 'tcp')).code).toBe(EXIT.refused);

    const vm = await cli('vm', 'create', 'sg-vm', '--subnet', 'a', '--image', 'images:debian/12', '--sg', 'web', '--sg', 'db');
    expect(vm.code).toBe(0);
    expect(vm.out).toMatch(/groups db,web\n$/);
    expect((await cli('vm', 'show', 'sg-vm')).out).toMatch(/security groups:\s+db,web/);
    const show = await cli('sg', 'show', 'db');
    expect(show.out).toMatch(/members:\s+sg-vm/);
    expect(show.out).toMatch(/RULE\s+DIRECTION\s+PROTOCOL\s+PORTS\s+REMOTE/);
    expect(show.out).toMatch(/ingress\s+tcp\s+5432-5433\s+group web/);
    expect(show.out).toMatch(/ingress\s+icmp\s+3\/4\s+0\.0\.0\.0\/0/);
    expect(show.out).toMatch(/ingress\s+icmp\s+all\s+10\.0\.0\.0\/8/);
    expect((await cli('sg', 'list')).out).toMatch(/web\s+default\s+2\s+1\s+the web tier/);
    expect((await cli('vm', 'set-sg', 'sg-vm', 'web')).out).toBe('vm sg-vm security groups: web\n');
    expect((await cli('sg', 'delete', 'web')).code).toBe(EXIT.refused); // a member, and db's rule names it
    const id = /rule (\d+)/.exec(pg.out)![1]!;
    expect((await cli('sg', 'rule', 'delete', 'db', id)).out).toBe(`rule ${id} deleted from db\n`);
    expect((await cli('sg', 'rule', 'delete', 'db', id)).code).toBe(EXIT.notFound);
    expect((await cli('vm', 'delete', 'sg-vm')).code).toBe(0);
    expect((await cli('sg', 'delete', 'web')).out).toBe('security group web deleted\n');
  });

  it('node list shows removed nodes whose undo on the node is still pending', async () => {
    const node = { name: 'gw-old', roles: ['gateway'] as const, underlayIp: '10.0.0.99', sshTarget: 'root@10.0.0.99', cpus: 0, memoryMiB: 0, createdAt: '2026-01-01T00:00:00.000Z' };
    const at = '2026-01-02T00:00:00.000Z';
    await h.store.write((w) => w.putNodeRemoval({ node, undo: '{}', requestedAt: at, attempts: 2, lastError: 'connect ECONNREFUSED', nextAttemptAt: at }));
    try {
      const out = (await cli('node', 'list')).out.split('\n');
      const at2 = out.indexOf('removed, undo on the node pending (retried):');
      expect(at2).toBeGreaterThan(0);
      expect(out[at2 + 1]).toMatch(/^NAME\s+UNDERLAY\s+SSH\s+ATTEMPTS\s+NEXT\s+LAST ERROR$/);
      expect(out[at2 + 2]).toMatch(/^gw-old\s+10\.0\.0\.99\s+root@10\.0\.0\.99\s+2\s+2026-01-02T00:00:00\.000Z\s+connect ECONNREFUSED$/);
      expect(JSON.parse((await cli('--json', 'node', 'list')).out).removals).toEqual([expect.objectContaining({ name: 'gw-old', attempts: 2 })]);
    } finally {
      await h.store.write((w) => w.deleteNodeRemoval('gw-old'));
    }
  });

  it('--json prints the API\'s JSON', async () => {
    const res = await cli('--json', 'vm', 'show', 'web-1');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out).vm).toMatchObject({ name: 'web-1', ip: '192.168.20.2', state: 'running' });
    const list = JSON.parse((await cli('--json', 'node', 'list')).out);
    expect(list.nodes.map((n: { name: string }) => n.name)).toEqual(['gw-1', 'host-1']);
  });

  it('stop, start, exec, flows, datapaths', async () => {
    expect((await cli('vm', 'stop', 'web-1')).out).toBe('vm web-1 stopped\n');
    expect((await cli('vm', 'start', 'web-1')).out).toBe('vm web-1 running\n');
    expect(await cli('vm', 'exec', 'web-1', '--', 'ip', '-br', 'addr')).toEqual({ code: 0, out: 'ip -br addr on web-1\n', err: '' });
    h.datapaths.connect('host-1', '00000a000000000b', [{ name: 'vxlan-int', number: 1 }]);
    const flows = await cli('flows', 'host-1');
    expect(flows.out).toMatch(/^cookie=0x4d43000000000001, duration=12\.5s, table=0, n_packets=7, n_bytes=420, priority=20/);
    expect((await cli('flows', 'host-1', '--table', '10')).out).toBe('');
    const dps = (await cli('datapaths')).out;
    expect(dps).toMatch(/host-1\s+00000a000000000b\s+yes\s+\S+\s+1:vxlan-int/);
    expect(dps).toMatch(/gw-1\s+-\s+no/);
  });

  it('warns on stderr about pending nodes', async () => {
    h.network.disconnected.add('gw-1');
    const res = await cli('vm', 'create', 'web-2', '--subnet', 'a', '--image', 'img');
    h.network.disconnected.clear();
    expect(res.code).toBe(0);
    expect(res.err).toContain('minicloud: flows pending on gw-1');
  });

  it('exit codes: 3 not found, 4 refused, 6 unauthorised, 2 usage, 5 unreachable', async () => {
    expect(await cli('vm', 'show', 'ghost')).toEqual({ code: EXIT.notFound, out: '', err: "minicloud: no VM named 'ghost'\n" });
    const overlap = await cli('subnet', 'create', 'c', '--cidr', '192.168.20.16/28');
    expect(overlap).toMatchObject({ code: EXIT.refused, out: '' });
    expect(overlap.err).toBe("minicloud: cidr: 192.168.20.16/28 overlaps subnet 'a' (192.168.20.0/27)\n");
    expect((await cli('vm', 'create', 'x', '--subnet', 'a', '--image', 'img', '--flavor', 'huge')).code).toBe(EXIT.refused);
    expect((await cli('node', 'remove', 'host-1')).code).toBe(EXIT.refused);

    const usage = await cli('subnet', 'create');
    expect(usage.code).toBe(EXIT.usage);
    expect(usage.err).toContain("missing required argument 'name'");
    expect((await cli('subnet', 'create', 'x', '--prefix', '27', '--cidr', '192.168.22.0/24')).code).toBe(EXIT.usage);
    expect((await cli('node', 'add', 'n', '--roles', 'compute', '--ip', '10.0.0.99', '--memory', 'lots')).code).toBe(EXIT.usage);
    expect((await cli('vm', 'frobnicate')).code).toBe(EXIT.usage);
  });

  it('token create, list, revoke; a viewer token reads and is refused writes (exit 6)', async () => {
    const created = await cli('token', 'create', 'ci', '--role', 'viewer');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^mc_[0-9a-f]{16}_[A-Za-z0-9_-]{32}\n$/);
    expect(created.err).toBe('minicloud: viewer token ci created; its secret is shown this once\n');
    const viewer = created.out.trim();
    expect((await cli('--token', viewer, 'subnet', 'list')).code).toBe(0);
    const write = await cli('--token', viewer, 'subnet', 'create', 'nope');
    expect(write).toMatchObject({ code: EXIT.unauthorized, err: "minicloud: token 'ci' is a viewer token: POST needs an admin token\n" });
    const list = await cli('token', 'list');
    expect(list.out).toMatch(/^NAME\s+ROLE\s+PROJECT\s+CREATED\s+LAST USED\nci\s+viewer\s+\*\s+\S+\s+\S+\ninitial\s+admin\s+\*\s+/);
    expect(list.out).not.toContain(viewer);
    expect((await cli('token', 'create', 'bad', '--role', 'root')).code).toBe(EXIT.usage);
    expect(await cli('token', 'revoke', 'ci')).toMatchObject({ code: 0, out: 'token ci revoked\n' });
    expect((await cli('--token', viewer, 'subnet', 'list')).code).toBe(EXIT.unauthorized);
    expect(await cli('token', 'revoke', 'initial')).toMatchObject({ code: EXIT.refused, err: "minicloud: 'initial' is the last admin token: create another admin token before revoking it\n" });
  });

  it('project create|list|show|set-quota|delete, --project, a member token confined to its project', async () => {
    const created = await cli('project', 'create', 'team-a', '--description', 'team a', '--max-vms', '1', '--max-memory', '1G');
    expect(created.code).toBe(0);
    expect(created.out).toContain('security group: team-a-default\n');
    expect(created.out).toContain('VMs:            0/1\n');
    expect((await cli('--project', 'team-a', 'subnet', 'create', 'net-ta')).code).toBe(0);
    expect((await cli('--project', 'team-a', 'subnet', 'list')).out).toMatch(/net-ta/);
    const list = (await cli('project', 'list')).out;
    expect(list).toMatch(/^NAME\s+OVERLAY\s+VMS\s+VCPUS\s+MEMORY MIB\s+SUBNETS\s+FIPS\s+DESCRIPTION\n/);
    expect(list).toMatch(/\nteam-a\s+192\.168\.20\.0\/22\s+0\/1\s+0\/-\s+0\/1024\s+1\/-\s+0\/-\s+team a\n/);
    const member = (await cli('token', 'create', 'ta-member', '--role', 'member', '--scope', 'team-a')).out.trim();
    expect((await cli('--token', member, 'subnet', 'list')).out).not.toMatch(/^a\s/m);
    const other = await cli('--token', member, '--project', 'default', 'subnet', 'list');
    expect(other).toMatchObject({ code: EXIT.unauthorized, err: "minicloud: token 'ta-member' is scoped to project 'team-a': it cannot act on project 'default'\n" });
    expect((await cli('--token', member, 'node', 'list')).code).toBe(EXIT.unauthorized);
    expect((await cli('project', 'set-quota', 'team-a', '--max-subnets', '1')).out).toContain('subnets:        1/1\n');
    const over = await cli('--token', member, 'subnet', 'create', 'net-tb');
    expect(over).toMatchObject({ code: EXIT.refused, err: "minicloud: project 'team-a' has a quota of 1 subnets: 1 in use, this needs 1 more\n" });
    expect((await cli('project', 'delete', 'team-a')).code).toBe(EXIT.refused);
    expect((await cli('--token', member, 'subnet', 'delete', 'net-ta')).code).toBe(0);
    expect((await cli('token', 'revoke', 'ta-member')).code).toBe(0);
    expect(await cli('project', 'delete', 'team-a')).toMatchObject({ code: 0, out: 'project team-a deleted\n' });
    expect((await cli('project', 'show', 'team-a')).code).toBe(EXIT.notFound);
  });

  it('fip create|list|show|attach|detach|delete (after the seed cloud: gw-1 has the pool, web-1 a VM)', async () => {
    expect(await cli('fip', 'create', '--gateway', 'gw-1')).toEqual({ code: 0, out: 'floating IP 203.0.113.10 allocated on gateway gw-1 (project default)\n', err: '' });
    expect(await cli('fip', 'attach', '203.0.113.10', 'web-1')).toEqual({ code: 0, out: 'floating IP 203.0.113.10 attached to web-1 (gateway gw-1)\n', err: '' });
    expect((await cli('fip', 'list')).out).toMatch(/^ADDRESS\s+GATEWAY\s+PROJECT\s+VM\n203\.0\.113\.10\s+gw-1\s+default\s+web-1\n$/);
    expect((await cli('fip', 'show', '203.0.113.10')).out).toMatch(/^address:\s+203\.0\.113\.10\n.*\nvm:\s+web-1\n/s);
    expect(await cli('fip', 'delete', '203.0.113.10')).toEqual({ code: EXIT.refused, out: '', err: "minicloud: floating IP 203.0.113.10 is attached to VM 'web-1': detach it first\n" });
    expect((await cli('fip', 'show', 'x; rm')).code).toBe(EXIT.usage);
    expect((await cli('fip', 'show', '203.0.113.99')).code).toBe(EXIT.notFound);
    expect(await cli('fip', 'detach', '203.0.113.10')).toEqual({ code: 0, out: 'floating IP 203.0.113.10 detached\n', err: '' });
    expect(await cli('fip', 'delete', '203.0.113.10')).toEqual({ code: 0, out: 'floating IP 203.0.113.10 released\n', err: '' });
    expect(JSON.parse((await cli('--json', 'fip', 'list')).out)).toEqual({ floatingIps: [] });
  });

  it('a wrong token is 6 and an unreachable API is 5 (through the real main.ts)', async () => {
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    // Asynchronously: the API answering these runs in this process.
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
          resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
      });
    const ok = await run('--api', url, '--token', h.token, '--json', 'subnet', 'list');
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).subnets.length).toBeGreaterThan(0);
    const wrong = await run('--api', url, '--token', 'nope', 'node', 'list');
    expect(wrong.status).toBe(EXIT.unauthorized);
    expect(wrong.stderr).toBe('minicloud: the bearer token is not valid\n');
    const closed = await closedPort();
    const away = await run('--api', `http://127.0.0.1:${closed}`, 'node', 'list');
    expect(away.status).toBe(EXIT.server);
    expect(away.stderr).toBe(`minicloud: cannot reach the API at http://127.0.0.1:${closed}: ECONNREFUSED\n`);
    expect((await run('--api', url, 'vm', 'show', 'ghost', '--token', h.token)).status).toBe(EXIT.notFound);
    // Four node+tsx processes: 6-10 s each to start on the shared 2-core test machine, past vitest's 30 s default.
  }, 120_000);
});
