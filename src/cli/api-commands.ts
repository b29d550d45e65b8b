// `minicloud node|subnet|vm|sg|fip|project|flows|datapaths|token`: the HTTP API from the command line. Tables for people, `--json` for
// scripts (the API's JSON as is), errors on stderr. Exit codes:
//   0 ok · 2 usage (bad arguments) · 3 not found · 4 invalid or conflict (the API refused the request)
//   5 server error or API unreachable · 6 not authorised (missing or wrong --token)
// `vm exec` exits with the command's own exit code.
import { CommanderError, InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient, ApiError, ApiUnreachable, seg } from '../api/client.js';
import type { TokenInfo } from '../api/tokens.js';
import type { DatapathInfo, VmExecResult, FlowRow, FloatingIpView, NetworkResult, NodeRemovalView, NodeDetails, ProjectView, SecurityGroupView, SubnetView, VmView } from '../cloud/index.js';
import type { SecurityRuleRecord } from '../topology/records.js';
import { describeRule, icmpText } from '../topology/security-groups.js';

export const EXIT = { ok: 0, usage: 2, notFound: 3, refused: 4, server: 5, unauthorized: 6 } as const;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly fetch?: typeof fetch;
}

const STDIO: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

interface GlobalFlags {
  api: string;
  token?: string;
  json?: boolean;
  project?: string;
}

export function registerApiCommands(program: Command, io: CliIo = STDIO): void {
  const run =
    <A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<number | void>) =>
    async (...args: A): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const ctx: Ctx = {
        api: new ApiClient({ baseUrl: flags.api, ...(flags.token && { token: flags.token }), ...(flags.project && { project: flags.project }), ...(io.fetch && { fetch: io.fetch }) }),
        json: flags.json === true,
        io,
      };
      let code: number;
      try {
        code = (await fn(ctx, ...args)) ?? EXIT.ok;
      } catch (e) {
        code = reportError(io, e);
      }
      if (code !== EXIT.ok) throw new CommanderError(code, 'minicloud.failed', `exit ${code}`);
    };

  const usageExit = (c: Command): Command =>
    c.exitOverride((e) => {
      throw e.exitCode === 0 ? e : new CommanderError(EXIT.usage, e.code, e.message);
    });

  // --- nodes
  const node = usageExit(program.command('node').description('compute, gateway, switch, DHCP and management nodes'));
  usageExit(
    node
      .command('add <name>')
      .description('register a node')
      .requiredOption('--roles <roles>', 'comma-separated: compute, gateway, switch, dhcp, management')
      .requiredOption('--ip <address>', 'underlay address (its VXLAN local_ip)')
      .option('--service-ip <address>', 'gateways: tunnel endpoint other nodes send to')
      .option('--ssh <target>', '[user@]host[:port] for node configuration')
      .option('--az <zone>', 'availability zone, e.g. AZ-1')
      .option('--cpus <n>', 'compute nodes: CPUs for VMs', intArg('--cpus'))
      .option('--memory <size>', "compute nodes: memory for VMs, e.g. 48G or 512M (a bare number is GiB, as in the seed)", memoryArg)
      .action(
        run(async (ctx, name: string, o: { roles: string; ip: string; serviceIp?: string; ssh?: string; az?: string; cpus?: number; memory?: number }) => {
          const body = {
            name,
            roles: o.roles.split(',').map((r) => r.trim()).filter(Boolean),
            underlayIp: o.ip,
            ...(o.serviceIp !== undefined && { serviceIp: o.serviceIp }),
            ...(o.ssh !== undefined && { sshTarget: o.ssh }),
            ...(o.az !== undefined && { az: o.az }),
            ...(o.cpus !== undefined && { cpus: o.cpus }),
            ...(o.memory !== undefined && { memoryMiB: o.memory }),
          };
          const res = await ctx.api.post<{ node: NodeDetails; network: NetworkResult }>('/api/v1/nodes', body);
          return mutation(ctx, res, `node ${name} added`, () => showNode(ctx, res.node));
        }),
      ),
  );
  node
    .command('list')
    .description('list nodes')
    .action(
      run(async (ctx) => {
        const { nodes, removals = [] } = await ctx.api.get<{ nodes: NodeDetails[]; removals?: NodeRemovalView[] }>('/api/v1/nodes');
        if (ctx.json) return printJson(ctx, { nodes, removals });
        printTable(ctx, ['NAME', 'ROLES', 'UNDERLAY', 'AZ', 'CPUS', 'MEMORY', 'VMS'], nodes.map((n) => [
          n.name,
          n.roles.join(','),
          n.serviceIp ? `${n.underlayIp} (service ${n.serviceIp})` : n.underlayIp,
          n.az ?? '-',
          n.cpus ? `${n.used.cpus}/${n.cpus}` : '-',
          n.memoryMiB ? `${mib(n.used.memoryMiB)}/${mib(n.memoryMiB)}` : '-',
          String(n.used.vms),
        ]));
        if (removals.length === 0) return;
        ctx.io.out('\nremoved, undo on the node pending (retried):\n');
        printTable(ctx, ['NAME', 'UNDERLAY', 'SSH', 'ATTEMPTS', 'NEXT', 'LAST ERROR'], removals.map((r) => [
          r.name,
          r.underlayIp,
          r.sshTarget ?? '-',
          String(r.attempts),
          r.nextAttemptAt,
          r.lastError ?? '-',
        ]));
      }),
    );
  node
    .command('show <name>')
    .description('show a node')
    .action(
      run(async (ctx, name: string) => {
        const { node: n } = await ctx.api.get<{ node: NodeDetails }>(`/api/v1/nodes/${seg(name)}`);
        return ctx.json ? printJson(ctx, { node: n }) : showNode(ctx, n);
      }),
    );
  node
    .command('remove <name>')
    .description('remove a node (it must have no VMs); undoing its bootstrap on the host follows')
    .option('--force', 'the host is gone for good: undo nothing on it (also drops a pending removal)')
    .action(
      run(async (ctx, name: string, opts: { force?: boolean }) => {
        const res = await ctx.api.delete<{ deleted: string; network: NetworkResult }>(`/api/v1/nodes/${seg(name)}${opts.force ? '?force=true' : ''}`);
        return mutation(ctx, res, `node ${name} removed`);
      }),
    );

  // --- subnets
  const subnet = usageExit(program.command('subnet').description('VXLAN subnets carved from the overlay range'));
  usageExit(
    subnet
      .command('create <name>')
      .description('create a subnet: the next free block of --prefix (default /27), or exactly --cidr')
      .addOption(new Option('--prefix <length>', 'prefix length of the block to carve').argParser(intArg('--prefix')).conflicts('cidr'))
      .option('--cidr <cidr>', 'take exactly this block, e.g. 192.168.20.64/27')
      .action(
        run(async (ctx, name: string, o: { prefix?: number; cidr?: string }) => {
          const body = { name, ...(o.prefix !== undefined && { prefixLength: o.prefix }), ...(o.cidr !== undefined && { cidr: o.cidr }) };
          const res = await ctx.api.post<{ subnet: SubnetView; network: NetworkResult }>('/api/v1/subnets', body);
          return mutation(ctx, res, `subnet ${name} created: ${res.subnet.cidr}, gateway ${res.subnet.gatewayIp}, VNI ${res.subnet.vni}`);
        }),
      ),
  );
  subnet
    .command('list')
    .description('list subnets')
    .action(
      run(async (ctx) => {
        const { subnets } = await ctx.api.get<{ subnets: SubnetView[] }>('/api/v1/subnets');
        if (ctx.json) return printJson(ctx, { subnets });
        // Names repeat across projects: the project beside each.
        printTable(ctx, ['NAME', 'PROJECT', 'CIDR', 'GATEWAY', 'VNI', 'VMS', 'FREE'], subnets.map((s) => [
          s.name,
          s.project,
          s.cidr,
          s.gatewayIp,
          String(s.vni),
          String(s.addresses.used),
          String(s.addresses.free),
        ]));
      }),
    );
  subnet
    .command('show <name>')
    .description('show a subnet')
    .action(
      run(async (ctx, name: string) => {
        const { subnet: s } = await ctx.api.get<{ subnet: SubnetView }>(`/api/v1/subnets/${seg(name)}`);
        if (ctx.json) return printJson(ctx, { subnet: s });
        printFields(ctx, [
          ['name', s.name],
          ['cidr', s.cidr],
          ['gateway', s.gatewayIp],
          ['vni', String(s.vni)],
          ['addresses', `${s.addresses.used} used, ${s.addresses.free} free of ${s.addresses.usable}`],
          ['created', s.createdAt],
        ]);
      }),
    );
  subnet
    .command('delete <name>')
    .description('delete a subnet (it must have no VMs)')
    .action(
      run(async (ctx, name: string) => {
        const res = await ctx.api.delete<{ deleted: string; network: NetworkResult }>(`/api/v1/subnets/${seg(name)}`);
        return mutation(ctx, res, `subnet ${name} deleted`);
      }),
    );

  // --- VMs
  const vm = usageExit(program.command('vm').description('virtual machines'));
  usageExit(
    vm
      .command('create <name>')
      .description('create and start a VM')
      .requiredOption('--subnet <subnet>', 'subnet name')
      .requiredOption('--image <image>', "image, e.g. 'images:debian/12'")
      .option('--flavor <flavor>', "'4C8G', '2C512M' or tiny, small, medium, large, xlarge", 'small')
      .option('--gateway <node>', 'gateway node for its egress (default: one in its AZ)')
      .option('--az <zone>', 'only compute nodes of this AZ')
      .option('--node <node>', 'exactly this compute node')
      .option('--sg <group>', 'a security group (repeat for several; none: default)', (v: string, prev: string[] = []) => [...prev, v])
      .action(
        run(async (ctx, name: string, o: { subnet: string; image: string; flavor: string; gateway?: string; az?: string; node?: string; sg?: string[] }) => {
          const body = {
            name,
            subnet: o.subnet,
            image: o.image,
            flavor: o.flavor,
            ...(o.gateway !== undefined && { gateway: o.gateway }),
            ...(o.az !== undefined && { az: o.az }),
            ...(o.node !== undefined && { node: o.node }),
            ...(o.sg !== undefined && { securityGroups: o.sg }),
          };
          const res = await ctx.api.post<{ vm: VmView; network: NetworkResult }>('/api/v1/vms', body);
          return mutation(ctx, res, `vm ${name} ${res.vm.state} on ${res.vm.node}: ${res.vm.ip} ${res.vm.mac}, gateway ${res.vm.gateway}${o.sg ? `, groups ${groupsText(res.vm)}` : ''}`);
        }),
      ),
  );
  vm.command('list')
    .description('list VMs')
    .option('--node <node>', 'only VMs on this node')
    .option('--subnet <subnet>', 'only VMs in this subnet')
    .action(
      run(async (ctx, o: { node?: string; subnet?: string }) => {
        const query = new URLSearchParams({ ...(o.node !== undefined && { node: o.node }), ...(o.subnet !== undefined && { subnet: o.subnet }) }).toString();
        const { vms } = await ctx.api.get<{ vms: VmView[] }>(`/api/v1/vms${query ? `?${query}` : ''}`);
        if (ctx.json) return printJson(ctx, { vms });
        printTable(ctx, ['NAME', 'PROJECT', 'STATE', 'SUBNET', 'IP', 'MAC', 'NODE', 'GATEWAY', 'FLAVOR', 'IMAGE', 'GROUPS'], vms.map((v) => [
          v.name,
          v.project,
          v.state,
          v.subnet,
          v.ip,
          v.mac,
          v.node,
          v.gateway,
          v.flavor,
          v.image,
          groupsText(v),
        ]));
      }),
    );
  vm.command('show <name>')
    .description('show a VM')
    .action(
      run(async (ctx, name: string) => {
        const { vm: v } = await ctx.api.get<{ vm: VmView }>(`/api/v1/vms/${seg(name)}`);
        if (ctx.json) return printJson(ctx, { vm: v });
        printFields(ctx, [
          ['name', v.name],
          ['state', v.error ? `${v.state} (${v.error})` : v.state],
          ['subnet', v.subnet],
          ['ip', v.ip],
          ['mac', v.mac],
          ['node', v.node],
          ['port', v.port],
          ['gateway', v.gateway],
          ['flavor', `${v.flavor} (${v.cpus} CPUs, ${mib(v.memoryMiB)})`],
          ['image', v.image],
          ['security groups', groupsText(v)],
          ['created', v.createdAt],
        ]);
      }),
    );
  vm.command('delete <name>')
    .description('delete a VM')
    .action(
      run(async (ctx, name: string) => {
        const res = await ctx.api.delete<{ deleted: string; network: NetworkResult }>(`/api/v1/vms/${seg(name)}`);
        return mutation(ctx, res, `vm ${name} deleted`);
      }),
    );
  for (const action of ['start', 'stop'] as const) {
    vm.command(`${action} <name>`)
      .description(`${action} a VM`)
      .action(
        run(async (ctx, name: string) => {
          const res = await ctx.api.post<{ vm: VmView; network: NetworkResult }>(`/api/v1/vms/${seg(name)}/${action}`);
          return mutation(ctx, res, `vm ${name} ${res.vm.state}`);
        }),
      );
  }
  usageExit(
    vm
      .command('exec <name> <command...>')
      .description("run a command in a VM (put '--' before the command if it has options); exits with its exit code")
      .action(
        run(async (ctx, name: string, command: string[]) => {
          const res = await ctx.api.post<VmExecResult>(`/api/v1/vms/${seg(name)}/exec`, { command });
          if (ctx.json) {
            printJson(ctx, res);
          } else {
            ctx.io.out(res.stdout);
            if (res.stderr) ctx.io.err(res.stderr);
          }
          return res.exitCode;
        }),
      ),
  );

  vm.command('set-sg <vm> <groups...>')
    .description("set a VM's security groups (replaces the ones it has)")
    .action(
      run(async (ctx, name: string, groups: string[]) => {
        const res = await ctx.api.request<{ vm: VmView; network: NetworkResult }>('PUT', `/api/v1/vms/${seg(name)}/security-groups`, { securityGroups: groups });
        return mutation(ctx, res, `vm ${name} security groups: ${groupsText(res.vm)}`);
      }),
    );

  vm.command('set-gateway <vm> <gateway>')
    .description("bind a VM's egress to another gateway (failover never moves it back by itself)")
    .action(
      run(async (ctx, name: string, gateway: string) => {
        const res = await ctx.api.request<{ vm: VmView; network: NetworkResult }>('PUT', `/api/v1/vms/${seg(name)}/gateway`, { gateway });
        return mutation(ctx, res, `vm ${name} gateway: ${res.vm.gateway}`);
      }),
    );

  // --- security groups
  const sg = usageExit(program.command('sg').description('security groups: stateful allow rules for VMs (default: all egress, ingress from default)'));
  sg.command('create <name>')
    .description('create a security group (it starts with one rule: all egress)')
    .option('--description <text>', 'what the group is for')
    .action(
      run(async (ctx, name: string, o: { description?: string }) => {
        const res = await ctx.api.post<{ securityGroup: SecurityGroupView; network: NetworkResult }>('/api/v1/security-groups', {
          name,
          ...(o.description !== undefined && { description: o.description }),
        });
        return mutation(ctx, res, `security group ${name} created (id ${res.securityGroup.id}): ${res.securityGroup.rules.map(describeRule).join('; ')}`);
      }),
    );
  sg.command('list')
    .description('list security groups')
    .action(
      run(async (ctx) => {
        const { securityGroups } = await ctx.api.get<{ securityGroups: SecurityGroupView[] }>('/api/v1/security-groups');
        if (ctx.json) return printJson(ctx, { securityGroups });
        printTable(ctx, ['NAME', 'PROJECT', 'RULES', 'MEMBERS', 'DESCRIPTION'], securityGroups.map((g) => [g.name, g.project, String(g.rules.length), String(g.members.length), g.description]));
      }),
    );
  sg.command('show <name>')
    .description('show a security group: its rules and members')
    .action(
      run(async (ctx, name: string) => {
        const { securityGroup: g } = await ctx.api.get<{ securityGroup: SecurityGroupView }>(`/api/v1/security-groups/${seg(name)}`);
        if (ctx.json) return printJson(ctx, { securityGroup: g });
        printFields(ctx, [
          ['name', g.name],
          ['id', String(g.id)],
          ['description', g.description || '-'],
          ['members', g.members.join(', ') || '-'],
          ['created', g.createdAt],
        ]);
        ctx.io.out('\n');
        printTable(ctx, ['RULE', 'DIRECTION', 'PROTOCOL', 'PORTS', 'REMOTE'], g.rules.map((r) => [String(r.id), r.direction, r.protocol, portsText(r), remoteText(r)]));
      }),
    );
  sg.command('delete <name>')
    .description('delete a security group (no VM in it, no rule of another group naming it)')
    .action(
      run(async (ctx, name: string) => {
        const res = await ctx.api.delete<{ deleted: string; network: NetworkResult }>(`/api/v1/security-groups/${seg(name)}`);
        return mutation(ctx, res, `security group ${name} deleted`);
      }),
    );
  const rule = usageExit(sg.command('rule').description("a security group's allow rules"));
  usageExit(
    rule
      .command('add <group> <direction> <protocol> [ports]')
      .description('allow ingress|egress tcp|udp [PORT|FROM-TO], icmp [TYPE[/CODE]] or any, from/to --remote CIDR (default 0.0.0.0/0) or --remote-group NAME')
      .option('--remote <cidr>', 'the peer addresses, e.g. 10.0.0.0/8')
      .option('--remote-group <name>', "or: the addresses of this group's VMs")
      .action(
        run(async (ctx, group: string, direction: string, protocol: string, ports: string | undefined, o: { remote?: string; remoteGroup?: string }) => {
          if (o.remote !== undefined && o.remoteGroup !== undefined) throw new InvalidArgumentError('give --remote or --remote-group, not both');
          const icmp = protocol === 'icmp' && ports !== undefined ? icmpTypeCode(ports) : undefined;
          const range = ports === undefined || icmp ? undefined : portRange(ports);
          const res = await ctx.api.post<{ rule: SecurityRuleRecord; network: NetworkResult }>(`/api/v1/security-groups/${seg(group)}/rules`, {
            direction,
            protocol,
            ...(range && { portMin: range[0], portMax: range[1] }),
            ...(icmp && { icmpType: icmp[0], ...(icmp[1] !== undefined && { icmpCode: icmp[1] }) }),
            ...(o.remoteGroup !== undefined ? { remoteGroup: o.remoteGroup } : { remoteCidr: o.remote ?? '0.0.0.0/0' }),
          });
          return mutation(ctx, res, `rule ${res.rule.id} added to ${group}: ${describeRule(res.rule)}`);
        }),
      ),
  );
  rule
    .command('delete <group> <rule-id>')
    .description('delete a rule (new packets it allowed stop at once)')
    .action(
      run(async (ctx, group: string, id: string) => {
        if (!/^[1-9][0-9]{0,7}$/.test(id)) throw new InvalidArgumentError(`'${id}' is not a rule id (see minicloud sg show ${group})`);
        const res = await ctx.api.delete<{ deleted: string; network: NetworkResult }>(`/api/v1/security-groups/${seg(group)}/rules/${id}`);
        return mutation(ctx, res, `rule ${id} deleted from ${group}`);
      }),
    );

  // --- floating IPs (the request's project: --project)
  const fip = usageExit(program.command('fip').description("floating IPs: outside addresses of a gateway, attached to a VM (inbound reaches it, its egress leaves with it)"));
  const fipAddress = (text: string): string => {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) throw new InvalidArgumentError(`'${text}' is not an IPv4 address`);
    return text;
  };
  const showFip = (ctx: Ctx, f: FloatingIpView): void =>
    printFields(ctx, [
      ['address', f.address],
      ['gateway', f.gateway],
      ['project', f.project],
      ['vm', f.vm ?? '-'],
      ['created', f.createdAt],
    ]);
  usageExit(
    fip
      .command('create')
      .description("allocate a floating IP to the project from a gateway's pool")
      .option('--gateway <node>', 'the gateway whose pool it comes from (default: the one with the most free addresses)')
      .action(
        run(async (ctx, o: { gateway?: string }) => {
          const res = await ctx.api.post<{ floatingIp: FloatingIpView; network: NetworkResult }>('/api/v1/floating-ips', { ...(o.gateway !== undefined && { gateway: o.gateway }) });
          return mutation(ctx, res, `floating IP ${res.floatingIp.address} allocated on gateway ${res.floatingIp.gateway} (project ${res.floatingIp.project})`);
        }),
      ),
  );
  fip
    .command('list')
    .description('list floating IPs and the VMs they are attached to')
    .action(
      run(async (ctx) => {
        const { floatingIps } = await ctx.api.get<{ floatingIps: FloatingIpView[] }>('/api/v1/floating-ips');
        if (ctx.json) return printJson(ctx, { floatingIps });
        printTable(ctx, ['ADDRESS', 'GATEWAY', 'PROJECT', 'VM'], floatingIps.map((f) => [f.address, f.gateway, f.project, f.vm ?? '-']));
      }),
    );
  fip
    .command('show <address>')
    .description('a floating IP')
    .action(
      run(async (ctx, address: string) => {
        const res = await ctx.api.get<{ floatingIp: FloatingIpView }>(`/api/v1/floating-ips/${seg(fipAddress(address))}`);
        if (ctx.json) return printJson(ctx, res);
        showFip(ctx, res.floatingIp);
      }),
    );
  fip
    .command('attach <address> <vm>')
    .description("attach it to a VM of its project (the VM's egress moves to the floating IP's gateway)")
    .action(
      run(async (ctx, address: string, vm: string) => {
        const res = await ctx.api.put<{ floatingIp: FloatingIpView; network: NetworkResult }>(`/api/v1/floating-ips/${seg(fipAddress(address))}/vm`, { vm });
        return mutation(ctx, res, `floating IP ${address} attached to ${vm} (gateway ${res.floatingIp.gateway})`);
      }),
    );
  fip
    .command('detach <address>')
    .description('detach it from its VM (it stays allocated to the project)')
    .action(
      run(async (ctx, address: string) => {
        const res = await ctx.api.delete<{ floatingIp: FloatingIpView; network: NetworkResult }>(`/api/v1/floating-ips/${seg(fipAddress(address))}/vm`);
        return mutation(ctx, res, `floating IP ${address} detached`);
      }),
    );
  fip
    .command('delete <address>')
    .description('release it to its pool (detach it first)')
    .action(
      run(async (ctx, address: string) => {
        const res = await ctx.api.delete<{ deleted: string; network: NetworkResult }>(`/api/v1/floating-ips/${seg(fipAddress(address))}`);
        return mutation(ctx, res, `floating IP ${res.deleted} released`);
      }),
    );

  // --- API tokens (admin tokens only)
  // --- projects (admin tokens make them; a scoped token sees its own)
  const project = usageExit(program.command('project').description('projects (tenants): their own subnets, VMs, security groups, tokens and quotas'));
  const quotaOptions = (c: Command): Command =>
    c
      .option('--max-vms <n>', 'quota: VMs', intArg('--max-vms'))
      .option('--max-vcpus <n>', 'quota: vCPUs, summed over its VMs', intArg('--max-vcpus'))
      .option('--max-memory <size>', 'quota: memory, summed over its VMs, e.g. 64G or 512M', memoryArg)
      .option('--max-subnets <n>', 'quota: subnets', intArg('--max-subnets'))
      .option('--max-fips <n>', 'quota: floating IPs', intArg('--max-fips'));
  type QuotaFlags = { maxVms?: number; maxVcpus?: number; maxMemory?: number; maxSubnets?: number; maxFips?: number };
  const quotasOf = (o: QuotaFlags): Record<string, number> => ({
    ...(o.maxVms !== undefined && { vms: o.maxVms }),
    ...(o.maxVcpus !== undefined && { vcpus: o.maxVcpus }),
    ...(o.maxMemory !== undefined && { memoryMiB: o.maxMemory }),
    ...(o.maxSubnets !== undefined && { subnets: o.maxSubnets }),
    ...(o.maxFips !== undefined && { floatingIps: o.maxFips }),
  });
  const showProject = (ctx: Ctx, p: ProjectView): void => {
    const q = (k: keyof ProjectView['usage']): string => `${p.usage[k]}/${p.quotas[k] ?? '-'}`;
    ctx.io.out(
      [
        `name:           ${p.name}`,
        `description:    ${p.description || '-'}`,
        `overlay:        ${p.overlay}`,
        `security group: ${p.securityGroup}`,
        `VMs:            ${q('vms')}`,
        `vCPUs:          ${q('vcpus')}`,
        `memory (MiB):   ${q('memoryMiB')}`,
        `subnets:        ${q('subnets')}`,
        `floating IPs:   ${q('floatingIps')}`,
        `created:        ${p.createdAt}`,
      ].join('\n') + '\n',
    );
  };
  usageExit(
    quotaOptions(
      project
        .command('create <name>')
        .description('create a project (with its default security group NAME-default)')
        .option('--description <text>', 'what it is for')
        .option('--overlay <cidr>', "where its subnets are carved from (default: the cloud's overlay range)"),
    ).action(
      run(async (ctx, name: string, o: QuotaFlags & { description?: string; overlay?: string }) => {
        const quotas = quotasOf(o);
        const res = await ctx.api.post<{ project: ProjectView }>('/api/v1/projects', {
          name,
          ...(o.description !== undefined && { description: o.description }),
          ...(o.overlay !== undefined && { overlay: o.overlay }),
          ...(Object.keys(quotas).length > 0 && { quotas }),
        });
        if (ctx.json) return printJson(ctx, res);
        showProject(ctx, res.project);
      }),
    ),
  );
  project
    .command('list')
    .description('list projects with their use against their quotas (used/limit, - = unlimited)')
    .action(
      run(async (ctx) => {
        const { projects } = await ctx.api.get<{ projects: ProjectView[] }>('/api/v1/projects');
        if (ctx.json) return printJson(ctx, { projects });
        const q = (p: ProjectView, k: keyof ProjectView['usage']): string => `${p.usage[k]}/${p.quotas[k] ?? '-'}`;
        printTable(ctx, ['NAME', 'OVERLAY', 'VMS', 'VCPUS', 'MEMORY MIB', 'SUBNETS', 'FIPS', 'DESCRIPTION'], projects.map((p) => [
          p.name,
          p.overlay,
          q(p, 'vms'),
          q(p, 'vcpus'),
          q(p, 'memoryMiB'),
          q(p, 'subnets'),
          q(p, 'floatingIps'),
          p.description || '-',
        ]));
      }),
    );
  project
    .command('show <name>')
    .description('a project: overlay, default security group, quotas and use')
    .action(
      run(async (ctx, name: string) => {
        const res = await ctx.api.get<{ project: ProjectView }>(`/api/v1/projects/${seg(name)}`);
        if (ctx.json) return printJson(ctx, res);
        showProject(ctx, res.project);
      }),
    );
  usageExit(
    quotaOptions(project.command('set-quota <name>').description('replace a project\'s quotas (a kind not given becomes unlimited)')).action(
      run(async (ctx, name: string, o: QuotaFlags) => {
        const res = await ctx.api.patch<{ project: ProjectView }>(`/api/v1/projects/${seg(name)}`, { quotas: quotasOf(o) });
        if (ctx.json) return printJson(ctx, res);
        showProject(ctx, res.project);
      }),
    ),
  );
  project
    .command('delete <name>')
    .description('delete an empty project (its subnets, VMs, groups and scoped tokens must be gone)')
    .action(
      run(async (ctx, name: string) => {
        const res = await ctx.api.delete<{ deleted: string }>(`/api/v1/projects/${seg(name)}`);
        if (ctx.json) return printJson(ctx, res);
        ctx.io.out(`project ${res.deleted} deleted\n`);
      }),
    );

  const token = usageExit(program.command('token').description('API tokens: named, admin (everything), member (reads and writes one project) or viewer (read-only)'));
  usageExit(
    token
      .command('create <name>')
      .description('create a token; its secret is printed once (stdout), the controller keeps only a hash')
      .addOption(new Option('--role <role>', 'admin, member or viewer').choices(['admin', 'member', 'viewer']).default('viewer'))
      .option('--scope <project>', 'confine the token to this project (member: required; viewer: optional)')
      .action(
        run(async (ctx, name: string, o: { role: string; scope?: string }) => {
          const res = await ctx.api.post<{ token: string; info: TokenInfo }>('/api/v1/tokens', { name, role: o.role, ...(o.scope !== undefined && { project: o.scope }) });
          if (ctx.json) return printJson(ctx, res);
          ctx.io.out(`${res.token}\n`);
          ctx.io.err(`minicloud: ${res.info.role} token ${name} created; its secret is shown this once\n`);
        }),
      ),
  );
  token
    .command('list')
    .description('list tokens (names, roles, when created and last used; never secrets)')
    .action(
      run(async (ctx) => {
        const { tokens } = await ctx.api.get<{ tokens: TokenInfo[] }>('/api/v1/tokens');
        if (ctx.json) return printJson(ctx, { tokens });
        printTable(ctx, ['NAME', 'ROLE', 'PROJECT', 'CREATED', 'LAST USED'], tokens.map((t) => [t.name, t.role, t.project ?? '*', t.createdAt, t.lastUsedAt ?? '-']));
      }),
    );
  token
    .command('revoke <name>')
    .description('revoke a token (at once; the last admin token cannot be revoked)')
    .action(
      run(async (ctx, name: string) => {
        const res = await ctx.api.delete<{ revoked: string }>(`/api/v1/tokens/${seg(name)}`);
        if (ctx.json) return printJson(ctx, res);
        ctx.io.out(`token ${res.revoked} revoked\n`);
      }),
    );

  // --- switches
  program
    .command('flows <node>')
    .description("a node's installed flows in ovs-ofctl syntax, with packet and byte counters")
    .option('--table <id>', 'only this table', intArg('--table'))
    .action(
      run(async (ctx, nodeName: string, o: { table?: number }) => {
        const res = await ctx.api.get<{ node: string; flows: FlowRow[] }>(`/api/v1/nodes/${seg(nodeName)}/flows`);
        const flows = o.table === undefined ? res.flows : res.flows.filter((f) => f.table === o.table);
        if (ctx.json) return printJson(ctx, { node: res.node, flows });
        for (const f of flows) ctx.io.out(`${f.text}\n`);
      }),
    );
  program
    .command('datapaths')
    .description("every node's switch and whether it is connected")
    .action(
      run(async (ctx) => {
        const { datapaths } = await ctx.api.get<{ datapaths: DatapathInfo[] }>('/api/v1/datapaths');
        if (ctx.json) return printJson(ctx, { datapaths });
        printTable(ctx, ['NODE', 'DPID', 'CONNECTED', 'SINCE', 'PORTS'], datapaths.map((d) => [
          d.node,
          d.dpid || '-',
          d.connected ? 'yes' : 'no',
          d.since,
          d.ports.map((p) => `${p.number}:${p.name}`).join(' ') || '-',
        ]));
      }),
    );
}

interface Ctx {
  readonly api: ApiClient;
  readonly json: boolean;
  readonly io: CliIo;
}

/** Prints a mutation's result and warns (stderr) about nodes whose flows are still pending. */
function groupsText(v: VmView): string {
  return v.securityGroups?.join(',') || 'default';
}

function portsText(r: SecurityRuleRecord): string {
  if (r.protocol === 'icmp') return icmpText(r) || 'all';
  if (r.portMin === undefined) return r.protocol === 'tcp' || r.protocol === 'udp' ? 'all' : '-';
  return r.portMin === r.portMax ? String(r.portMin) : `${r.portMin}-${r.portMax}`;
}

function remoteText(r: SecurityRuleRecord): string {
  return r.remoteGroup !== undefined ? `group ${r.remoteGroup}` : r.remoteCidr!;
}

/** '22' or '8000-8010' -> [min, max]; the API says what is wrong with the numbers themselves. */
function portRange(text: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`'${text}' is not a port or a range FROM-TO`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/** `icmp TYPE[/CODE]`: the numbers as given (the API says what is out of range). */
function icmpTypeCode(text: string): [number, number | undefined] {
  const m = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`'${text}' is not an ICMP TYPE or TYPE/CODE (e.g. 8, 3/4)`);
  return [Number(m[1]), m[2] === undefined ? undefined : Number(m[2])];
}

function mutation(ctx: Ctx, res: { network: NetworkResult }, summary: string, detail?: () => void): void {
  if (ctx.json) {
    printJson(ctx, res);
  } else {
    ctx.io.out(`${summary}\n`);
    detail?.();
  }
  if (!ctx.json && res.network.pending.length > 0) {
    ctx.io.err(`minicloud: flows pending on ${res.network.pending.join(', ')} (not connected or not confirmed yet; they get them on reconnect)\n`);
  }
}

function showNode(ctx: Ctx, n: NodeDetails): void {
  printFields(ctx, [
    ['name', n.name],
    ['roles', n.roles.join(', ')],
    ['underlay', n.underlayIp],
    ...(n.serviceIp ? [['service ip', n.serviceIp] as [string, string]] : []),
    ...(n.sshTarget ? [['ssh', n.sshTarget] as [string, string]] : []),
    ['az', n.az ?? '-'],
    ['cpus', n.cpus ? `${n.used.cpus} used of ${n.cpus}` : '-'],
    ['memory', n.memoryMiB ? `${mib(n.used.memoryMiB)} used of ${mib(n.memoryMiB)}` : '-'],
    ['vms', String(n.used.vms)],
    ...(n.provisioning ? [['provisioning', `${n.provisioning.state} at ${n.provisioning.at}${n.provisioning.error ? `: ${n.provisioning.error}` : ''}`] as [string, string]] : []),
    ...(n.provisioning?.nextRetryAt ? [['next retry', `${n.provisioning.nextRetryAt} (attempt ${(n.provisioning.attempts ?? 0) + 1})`] as [string, string]] : []),
    ['created', n.createdAt],
  ]);
}

function reportError(io: CliIo, e: unknown): number {
  if (e instanceof ApiError) {
    io.err(`minicloud: ${e.message}\n`);
    if (e.status === 401 || e.status === 403) return EXIT.unauthorized;
    if (e.status === 404) return EXIT.notFound;
    if (e.status >= 400 && e.status < 500) return EXIT.refused;
    return EXIT.server;
  }
  if (e instanceof ApiUnreachable) {
    io.err(`minicloud: ${e.message}\n`);
    return EXIT.server;
  }
  if (e instanceof InvalidArgumentError) {
    io.err(`minicloud: ${e.message}\n`);
    return EXIT.usage;
  }
  io.err(`minicloud: ${e instanceof Error ? e.message : String(e)}\n`);
  return EXIT.server;
}

function printJson(ctx: Ctx, value: unknown): void {
  ctx.io.out(`${JSON.stringify(value, null, 2)}\n`);
}

function printTable(ctx: Ctx, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  ctx.io.out([line(header), ...rows.map(line)].join('\n') + '\n');
}

function printFields(ctx: Ctx, fields: [string, string][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  ctx.io.out(fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join('\n') + '\n');
}

function mib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}G` : `${n}M`;
}

function intArg(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag}: '${value}' is not a whole number`);
    return Number(value);
  };
}

function memoryArg(value: string): number {
  const m = /^(\d+)\s*(G|GB|GiB|M|MB|MiB)?$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`--memory: '${value}' is not a size like 48G or 512M`);
  return Number(m[1]) * (m[2] && m[2][0]!.toUpperCase() === 'M' ? 1 : 1024);
}
