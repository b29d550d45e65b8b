// The overview: a summary, nodes grouped by AZ (role order within) with their switch's connection state and
// capacity, subnets, VMs; row actions (resync, start, stop, delete) and the two create forms.
import { api } from './api.js';
import { $, gridTable, h, replaceKeepingFocus } from './dom.js';
import { azLabel, byRoleThenName, mainRole, mib, NATURAL, since, subnetClass } from './format.js';
import { clearErrors, formValues, showError } from './forms.js';
import { operation } from './status.js';
import { meter, opButton } from './widgets.js';

/** Every project's records are shown (an admin's or an unscoped viewer's "All projects" with several): a project column. */
const allProjects = (cloud) => cloud.project === null && (cloud.projects?.length ?? 0) > 1;
const projectHead = (cloud) => (allProjects(cloud) ? ['Project'] : []);
const projectCell = (cloud, record) => (allProjects(cloud) ? [h('td', { class: 'project' }, record.project ?? 'default')] : []);

function stateBadge(state, title) {
  return h('span', { class: `badge state-${state}`, title }, state);
}

function nodesTable(cloud, ctx) {
  const dps = new Map(cloud.datapaths.map((d) => [d.node, d]));
  const zones = [...new Set(cloud.nodes.map((n) => n.az ?? ''))].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b, undefined, NATURAL)));
  const rows = [];
  for (const az of zones) {
    const members = cloud.nodes.filter((n) => (n.az ?? '') === az).sort(byRoleThenName);
    rows.push(h('tr', { class: 'group' }, h('th', { colspan: 7, scope: 'colgroup' }, az ? azLabel(az) : 'No AZ', h('span', { class: 'hint' }, ` · ${members.length} node${members.length === 1 ? '' : 's'}`))));
    for (const n of members) {
      const dp = dps.get(n.name);
      const up = dp?.connected === true;
      const compute = n.roles.includes('compute');
      rows.push(
        h(
          'tr',
          { 'data-node': n.name },
          h('th', { scope: 'row' }, h('a', { href: `#/flows/${encodeURIComponent(n.name)}`, 'data-key': `flows:${n.name}`, title: `Flows of ${n.name}` }, n.name)),
          h('td', {}, n.roles.map((r) => h('span', { class: `role role-${r}` }, r))),
          h('td', { class: 'mono' }, n.underlayIp, n.serviceIp && n.serviceIp !== n.underlayIp ? h('div', { class: 'hint' }, `service ${n.serviceIp}`) : null),
          h(
            'td',
            {},
            h('span', { class: up ? 'badge ok' : 'badge down' }, up ? 'connected' : 'not connected'),
            dp?.dpid ? h('div', { class: 'hint mono' }, `dpid ${dp.dpid}`) : null,
            dp ? h('div', { class: 'hint' }, `${up ? 'up' : 'down'} for ${since(dp.since)}`) : null,
            provisioningNote(n.provisioning),
          ),
          h('td', { class: 'capacity' }, compute ? [meter('CPU', n.used.cpus, n.cpus, String), meter('Mem', n.used.memoryMiB, n.memoryMiB, mib)] : h('span', { class: 'hint' }, '—')),
          h('td', { class: 'num' }, String(n.used.vms)),
          h(
            'td',
            { class: 'actions' },
            opButton('Resync', `resync:${n.name}`, (e) => ctx.resync(n.name, e.currentTarget), { ariaLabel: `Resync ${n.name}` }),
          ),
        ),
      );
    }
  }
  return gridTable({ id: 'nodes-table', caption: 'Nodes', headers: ['Node', 'Roles', 'Underlay', 'Switch (br0)', 'Capacity (used / total)', ['VMs', 'num'], ''], rows });
}

function subnetsTable(cloud, ctx) {
  if (cloud.subnets.length === 0) return h('p', { class: 'empty' }, 'No subnets yet: create one with the form.');
  return gridTable({
    id: 'subnets-table',
    caption: 'Subnets',
    headers: ['Subnet', ...projectHead(cloud), 'CIDR', 'Gateway IP', ['VNI', 'num'], 'Addresses', ['VMs', 'num'], ''],
    rows: cloud.subnets.map((sn) =>
      h(
        'tr',
        { 'data-subnet': sn.name },
        h('th', { scope: 'row' }, h('span', { class: ['swatch', subnetClass(cloud.subnets, sn.name)], 'aria-hidden': 'true' }), sn.name),
        projectCell(cloud, sn),
        h('td', { class: 'mono' }, sn.cidr),
        h('td', { class: 'mono' }, sn.gatewayIp),
        h('td', { class: 'num' }, String(sn.vni)),
        h('td', {}, meter('used', sn.addresses.used, sn.addresses.usable, String)),
        h('td', { class: 'num' }, String(cloud.vms.filter((v) => v.subnet === sn.name).length)),
        h('td', { class: 'actions' }, opButton('Delete', `subnet-delete:${sn.name}`, (e) => ctx.deleteSubnet(sn.name, e.currentTarget, sn.project), { danger: true, ariaLabel: `Delete subnet ${sn.name}` })),
      ),
    ),
  });
}

function vmsTable(cloud, ctx) {
  if (cloud.vms.length === 0) return h('p', { class: 'empty' }, 'No VMs yet.');
  return gridTable({
    id: 'vms-table',
    caption: 'VMs',
    headers: ['VM', ...projectHead(cloud), 'State', 'IP', 'MAC', 'Node', 'Gateway', 'Subnet', 'Flavor', 'Security groups', ''],
    rows: cloud.vms.map((v) =>
      h(
        'tr',
        { 'data-vm': v.name },
        h('th', { scope: 'row' }, cloud.cloudWide === false ? v.name : h('a', { href: `#/topology/${encodeURIComponent(v.name)}`, 'data-key': `vm-link:${v.name}`, title: `${v.name} in the topology` }, v.name)),
        projectCell(cloud, v),
        h('td', {}, stateBadge(v.state, v.error)),
        h('td', { class: 'mono' }, v.ip),
        h('td', { class: 'mono' }, v.mac),
        h('td', {}, v.node),
        h('td', {}, v.gateway),
        h('td', {}, h('span', { class: ['swatch', subnetClass(cloud.subnets, v.subnet)], 'aria-hidden': 'true' }), v.subnet),
        h('td', {}, v.flavor, h('div', { class: 'hint' }, `${v.cpus} CPU · ${mib(v.memoryMiB)}`)),
        h('td', {}, (v.securityGroups ?? ['default']).join(', ')),
        h(
          'td',
          { class: 'actions' },
          v.state === 'running'
            ? opButton('Stop', `vm-stop:${v.name}`, (e) => ctx.vmAction(v.name, 'stop', e.currentTarget, v.project), { ariaLabel: `Stop ${v.name}` })
            : opButton('Start', `vm-start:${v.name}`, (e) => ctx.vmAction(v.name, 'start', e.currentTarget, v.project), { ariaLabel: `Start ${v.name}` }),
          opButton('Delete', `vm-delete:${v.name}`, (e) => ctx.deleteVm(v.name, e.currentTarget, v.project), { danger: true, ariaLabel: `Delete ${v.name}` }),
        ),
      ),
    ),
  });
}

/** A rule in the CLI's words: 'ingress tcp 22 from 10.0.0.0/8', 'ingress icmp 3/4 from ...', 'egress any to group web'. */
function ruleText(r) {
  const icmp = r.icmpType === undefined ? '' : r.icmpCode === undefined ? ` ${r.icmpType}` : ` ${r.icmpType}/${r.icmpCode}`;
  const ports = icmp || (r.portMin === undefined ? '' : r.portMin === r.portMax ? ` ${r.portMin}` : ` ${r.portMin}-${r.portMax}`);
  const remote = r.remoteGroup !== undefined ? `group ${r.remoteGroup}` : r.remoteCidr;
  return `${r.direction} ${r.protocol}${ports} ${r.direction === 'ingress' ? 'from' : 'to'} ${remote}`;
}

function securityGroupsTable(cloud) {
  const groups = cloud.securityGroups ?? [];
  if (groups.length === 0) return h('p', { class: 'empty' }, 'No security groups.');
  return gridTable({
    id: 'security-groups-table',
    caption: 'Security groups',
    headers: ['Group', ...projectHead(cloud), 'Rules (allow; replies are allowed too)', 'Members'],
    rows: groups.map((g) =>
      h(
        'tr',
        { 'data-group': g.name },
        h('th', { scope: 'row' }, g.name, g.description ? h('div', { class: 'hint' }, g.description) : null),
        projectCell(cloud, g),
        h('td', { class: 'mono' }, g.rules.length ? g.rules.map((r) => h('div', { title: `rule ${r.id}` }, ruleText(r))) : h('span', { class: 'hint' }, 'none: nothing allowed')),
        h('td', {}, g.members.length ? g.members.join(', ') : h('span', { class: 'hint' }, 'no VMs')),
      ),
    ),
  });
}

function summary(cloud) {
  const connected = cloud.datapaths.filter((d) => d.connected).length;
  const running = cloud.vms.filter((v) => v.state === 'running').length;
  const compute = cloud.nodes.filter((n) => n.roles.includes('compute'));
  const cpus = compute.reduce((a, n) => a + n.cpus, 0);
  const used = compute.reduce((a, n) => a + n.used.cpus, 0);
  const card = (value, label) => h('div', { class: 'stat' }, h('strong', {}, value), h('span', {}, label));
  // A token scoped to a project does not see the nodes: what its VMs take instead of the cloud's capacity.
  if (cloud.cloudWide === false) {
    return [
      card(String(cloud.subnets.length), 'subnets'),
      card(`${running} / ${cloud.vms.length}`, 'VMs running'),
      card(String(cloud.vms.reduce((a, v) => a + v.cpus, 0)), 'vCPUs of its VMs'),
    ];
  }
  return [
    card(String(cloud.nodes.length), `nodes (${[...new Set(cloud.nodes.map(mainRole))].join(', ') || 'none'})`),
    card(`${connected} / ${cloud.datapaths.length}`, 'switches connected'),
    card(String(cloud.subnets.length), 'subnets'),
    card(`${running} / ${cloud.vms.length}`, 'VMs running'),
    card(`${used} / ${cpus}`, 'CPUs used'),
  ];
}

/** Keeps a <select>'s options equal to `options` ([value, label]) without losing the user's choice. */
function syncSelect(select, options) {
  const keep = select.value;
  select.replaceChildren(...options.map(([value, label]) => h('option', { value }, label)));
  if (options.some(([v]) => v === keep)) select.value = keep;
}

export function renderOverview(cloud, ctx) {
  replaceKeepingFocus($('#summary'), summary(cloud));
  replaceKeepingFocus($('#nodes'), nodesTable(cloud, ctx));
  replaceKeepingFocus($('#subnets'), subnetsTable(cloud, ctx));
  replaceKeepingFocus($('#vms'), vmsTable(cloud, ctx));
  replaceKeepingFocus($('#security-groups'), securityGroupsTable(cloud));

  const names = (role) => cloud.nodes.filter((n) => n.roles.includes(role)).map((n) => n.name);
  const where = (x) => (allProjects(cloud) ? `, ${x.project ?? 'default'}` : '');
  syncSelect($('#vm-subnet'), cloud.subnets.length ? cloud.subnets.map((x) => [x.name, `${x.name} (${x.cidr}${where(x)})`]) : [['', 'create a subnet first']]);
  syncSelect($('#vm-gateway'), [['', 'automatic (same AZ, fewest VMs)'], ...names('gateway').map((n) => [n, n])]);
  syncSelect($('#vm-az'), [['', 'any'], ...[...new Set(cloud.nodes.map((n) => n.az).filter(Boolean))].sort().map((z) => [z, z])]);
  syncSelect($('#vm-node'), [['', 'automatic (least loaded)'], ...names('compute').map((n) => [n, n])]);
}

/** Wires the two create forms once; `refresh` reloads the cloud after a change. */
export function wireForms(refresh) {
  const submit = (form, what, path, after) =>
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = formValues(form);
      const button = form.querySelector('button[type=submit]');
      const label = `${what} ${body.name ?? ''}`.trim();
      const ok = await operation({ button, what: label, onError: (err) => showError(form, err) }, () => api('POST', path, body));
      if (ok) {
        after(form);
        await refresh();
      }
    });
  submit($('#subnet-form'), 'Creating subnet', '/subnets', (form) => form.reset());
  submit($('#vm-form'), 'Creating VM', '/vms', (form) => {
    form.elements.namedItem('name').value = '';
  });
}

/** The node's provisioning outcome when it is not simply "ready" (the controller provisions nodes). */
function provisioningNote(p) {
  if (!p || p.state === 'ready') return null;
  const label = p.state === 'failed' ? 'provisioning failed' : p.state === 'waiting' ? 'waiting to be provisioned' : 'provisioning…';
  return h(
    'div',
    {},
    h('span', { class: p.state === 'failed' ? 'badge state-error' : 'badge state-creating', title: p.error ?? label }, label),
    p.error ? h('div', { class: 'hint' }, p.error) : null,
  );
}
