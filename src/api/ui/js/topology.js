// The topology picture: gateways, the switch node and other service nodes on top, compute nodes grouped by AZ below
// with their VMs (coloured by subnet) hanging under them; the VXLAN unicast mesh (vxlan-int) between every overlay
// endpoint and the broadcast star (vxlan-sw) around the switch node. Selecting a VM highlights its path: its port,
// its node, the tunnels from its node, its gateway (egress) and the switch (broadcast).
import { h, s } from './dom.js';
import { azLabel, mainRole, NATURAL, subnetClass } from './format.js';

const NODE_W = 200;
const NODE_H = 80;
const VM_W = 184;
const VM_H = 44;
const VM_GAP = 8;
const COL = 228;
const TOP_Y = 92;
/** Nodes per row of the picture: a wider cloud wraps into more rows. */
const PER_ROW = 6;
const MARGIN = 24;
const MESH_LIMIT = 16;

const isOverlay = (n) => n.roles.includes('compute') || n.roles.includes('gateway') || n.roles.includes('dhcp');
const isBroadcastMember = (n) => n.roles.includes('compute') || n.roles.includes('dhcp');
const tunnelIp = (n) => (n.roles.includes('gateway') && n.serviceIp) || n.underlayIp;

/** Positions of every node and VM, and the picture's size. Pure: easy to reason about. */
export function layout(cloud) {
  const azOf = (n) => n.az ?? '';
  const byAz = (a, b) => azOf(a).localeCompare(azOf(b), undefined, NATURAL) || a.name.localeCompare(b.name, undefined, NATURAL);
  const bottom = cloud.nodes.filter((n) => n.roles.includes('compute')).sort(byAz);
  const gateways = cloud.nodes.filter((n) => !n.roles.includes('compute') && mainRole(n) === 'gateway').sort(byAz);
  const switches = cloud.nodes.filter((n) => mainRole(n) === 'switch');
  const others = cloud.nodes.filter((n) => !bottom.includes(n) && !gateways.includes(n) && !switches.includes(n)).sort(byAz);
  const half = Math.ceil(gateways.length / 2);
  const top = [...gateways.slice(0, half), ...switches, ...gateways.slice(half), ...others];

  const cols = Math.min(Math.max(top.length, bottom.length, 2), PER_ROW);
  // At least wide enough for the legend's longest line.
  const width = Math.max(MARGIN * 2 + cols * COL, 540);
  const pos = new Map();
  const place = (row, y) => {
    const x0 = (width - row.length * COL) / 2 + (COL - NODE_W) / 2;
    row.forEach((n, i) => pos.set(n.name, { x: x0 + i * COL, y, node: n }));
  };
  const chunks = (list) => Array.from({ length: Math.ceil(list.length / PER_ROW) }, (_, i) => list.slice(i * PER_ROW, (i + 1) * PER_ROW));

  let y = TOP_Y;
  for (const row of chunks(top)) {
    place(row, y);
    y += NODE_H + 36;
  }
  // Compute rows: each as deep as its longest VM stack; AZ frames per run of same-AZ nodes in a row.
  const computeY = y + 92;
  y = computeY;
  const vms = new Map();
  const zones = [];
  for (const row of chunks(bottom)) {
    place(row, y);
    let deepest = y + NODE_H;
    for (const n of row) {
      const p = pos.get(n.name);
      cloud.vms
        .filter((v) => v.node === n.name)
        .sort((a, b) => a.subnet.localeCompare(b.subnet, undefined, NATURAL) || a.name.localeCompare(b.name, undefined, NATURAL))
        .forEach((v, i) => {
          const vy = y + NODE_H + 28 + i * (VM_H + VM_GAP);
          vms.set(v.name, { x: p.x + (NODE_W - VM_W) / 2, y: vy, vm: v });
          deepest = Math.max(deepest, vy + VM_H);
        });
    }
    for (const n of row) {
      const p = pos.get(n.name);
      const last = zones.at(-1);
      if (last && last.az === azOf(n) && last.y1 === y - 30) last.x2 = p.x + NODE_W;
      else zones.push({ az: azOf(n), x1: p.x, x2: p.x + NODE_W, y1: y - 30, y2: 0 });
    }
    for (const z of zones) if (z.y1 === y - 30) z.y2 = deepest + 14;
    y = deepest + 14 + 60;
  }
  const legendY = y - 20;
  const keyY = legendY + 22 + Math.max(cloud.subnets.length, 1) * 24 + 12;
  return { width, height: keyY + 4 * 24 + 8, pos, vms, zones, top, bottom, computeY, legendY, keyY };
}

function edgePath(a, b) {
  const ax = a.x + NODE_W / 2;
  const bx = b.x + NODE_W / 2;
  if (a.y === b.y) {
    // Same row: an arc above the row, higher for nodes further apart.
    const y = a.y;
    const lift = 26 + Math.abs(bx - ax) * 0.12;
    return `M${ax},${y} C${ax},${y - lift} ${bx},${y - lift} ${bx},${y}`;
  }
  const [up, down] = a.y < b.y ? [a, b] : [b, a];
  return `M${up.x + NODE_W / 2},${up.y + NODE_H} L${down.x + NODE_W / 2},${down.y}`;
}

function nodeBox(n, p, dp, egressCount) {
  const up = dp?.connected === true;
  const roles = n.roles.join(' + ');
  const where = [tunnelIp(n), n.az && azLabel(n.az)].filter(Boolean).join(' · ');
  const fourth = n.roles.includes('gateway') ? `egress for ${egressCount} VM${egressCount === 1 ? '' : 's'}` : '';
  return s(
    'g',
    { class: `node role-${mainRole(n)}`, 'data-node': n.name, transform: `translate(${p.x},${p.y})` },
    s('title', {}, `${n.name}: ${roles}, underlay ${n.underlayIp}${n.serviceIp ? `, service ${n.serviceIp}` : ''}; switch ${up ? 'connected' : 'not connected'}`),
    s('rect', { class: 'node-box', width: NODE_W, height: NODE_H, rx: 8 }),
    s('text', { class: 'node-name', x: 10, y: 20 }, n.name),
    s('text', { class: 'node-sub', x: 10, y: 38 }, roles),
    s('text', { class: 'node-sub', x: 10, y: 55 }, where),
    s('text', { class: 'node-sub', x: 10, y: 72 }, fourth),
    s('circle', { class: up ? 'dot up' : 'dot down', cx: NODE_W - 14, cy: 15, r: 6 }),
    s('text', { class: 'node-state', x: NODE_W - 24, y: 19, 'text-anchor': 'end' }, up ? 'up' : 'down'),
  );
}

function vmBox(v, p, colour, selected) {
  return s(
    'g',
    {
      class: ['vm', `state-${v.state}`, colour, selected && 'selected'],
      'data-vm': v.name,
      'data-key': `vm:${v.name}`,
      transform: `translate(${p.x},${p.y})`,
      tabindex: 0,
      role: 'button',
      'aria-pressed': selected ? 'true' : 'false',
      'aria-label': `${v.name}, ${v.ip}, ${v.state}, subnet ${v.subnet}, gateway ${v.gateway}`,
    },
    s('title', {}, `${v.name} ${v.ip} ${v.mac} (${v.state}) on ${v.node}, subnet ${v.subnet}, gateway ${v.gateway}`),
    s('rect', { class: 'vm-box', width: VM_W, height: VM_H, rx: 6 }),
    s('rect', { class: 'vm-stripe', width: 7, height: VM_H, rx: 3 }),
    s('text', { class: 'vm-name', x: 14, y: 18 }, v.name, v.state === 'running' ? '' : ` (${v.state})`),
    s('text', { class: 'vm-sub', x: 14, y: 35 }, `${v.ip} → ${v.gateway}`),
  );
}

function legend(cloud, l) {
  const rows = [s('text', { class: 'legend-title', x: MARGIN, y: l.legendY }, 'Subnets')];
  cloud.subnets.forEach((sn, i) => {
    const y = l.legendY + 22 + i * 24;
    const n = cloud.vms.filter((v) => v.subnet === sn.name).length;
    rows.push(s('rect', { class: ['legend-swatch', subnetClass(cloud.subnets, sn.name)], x: MARGIN, y: y - 12, width: 14, height: 14, rx: 3 }));
    rows.push(s('text', { class: 'legend-text', x: MARGIN + 22, y }, `${sn.name}  ${sn.cidr}  VNI ${sn.vni}  gateway IP ${sn.gatewayIp}  ${n} VM${n === 1 ? '' : 's'}`));
  });
  const key = (i, cls, label) => {
    const y = l.keyY + 22 + i * 24;
    return [s('line', { class: `edge ${cls}`, x1: MARGIN, y1: y - 4, x2: MARGIN + 44, y2: y - 4 }), s('text', { class: 'legend-text', x: MARGIN + 54, y }, label)];
  };
  rows.push(s('text', { class: 'legend-title', x: MARGIN, y: l.keyY }, 'Links'));
  const many = cloud.nodes.filter(isOverlay).length > MESH_LIMIT;
  rows.push(...key(0, 'tunnel', `VXLAN unicast mesh between overlay nodes (vxlan-int)${many ? ': shown for the selected VM only' : ''}`));
  rows.push(...key(1, 'bcast', 'broadcast star around the switch node (vxlan-sw)'));
  rows.push(...key(2, 'tunnel on-path', 'selected VM: tunnels from its node'));
  rows.push(...key(3, 'tunnel on-path egress', 'selected VM: egress to its gateway'));
  return rows;
}

/** The whole picture as an <svg>; `onSelect(name)` is called when a VM is clicked or activated by keyboard. */
export function drawTopology(cloud, selected, onSelect) {
  const l = layout(cloud);
  const dps = new Map(cloud.datapaths.map((d) => [d.node, d]));
  const overlay = [...l.top, ...l.bottom].filter(isOverlay);
  // A full mesh of many nodes is a grey blur: past MESH_LIMIT only the selected VM's node's tunnels are drawn.
  const home = cloud.vms.find((v) => v.name === selected)?.node;
  const wholeMesh = overlay.length <= MESH_LIMIT;
  const edges = [];
  for (let i = 0; i < overlay.length; i++) {
    for (let j = i + 1; j < overlay.length; j++) {
      const a = overlay[i];
      const b = overlay[j];
      if (!wholeMesh && a.name !== home && b.name !== home) continue;
      edges.push(s('path', { class: 'edge tunnel', d: edgePath(l.pos.get(a.name), l.pos.get(b.name)), 'data-a': a.name, 'data-b': b.name }));
    }
  }
  for (const sw of cloud.nodes.filter((n) => mainRole(n) === 'switch')) {
    for (const m of cloud.nodes.filter(isBroadcastMember)) {
      edges.push(s('path', { class: 'edge bcast', d: edgePath(l.pos.get(sw.name), l.pos.get(m.name)), 'data-a': sw.name, 'data-b': m.name }));
    }
  }
  const zones = l.zones.map((z) =>
    s(
      'g',
      { class: 'zone' },
      s('rect', { x: z.x1 - 12, y: z.y1, width: z.x2 - z.x1 + 24, height: z.y2 - z.y1, rx: 12 }),
      s('text', { x: z.x1 - 4, y: z.y1 + 18 }, z.az ? azLabel(z.az) : 'no AZ'),
    ),
  );
  const spines = l.bottom
    .filter((n) => cloud.vms.some((v) => v.node === n.name))
    .map((n) => {
      const p = l.pos.get(n.name);
      const last = Math.max(...[...l.vms.values()].filter((v) => v.vm.node === n.name).map((v) => v.y));
      return s('line', { class: 'spine', 'data-node': n.name, x1: p.x + 10, y1: p.y + NODE_H, x2: p.x + 10, y2: last + VM_H / 2 });
    });
  const nodes = [...l.pos.values()].map((p) =>
    nodeBox(
      p.node,
      p,
      dps.get(p.node.name),
      cloud.vms.filter((v) => v.gateway === p.node.name).length,
    ),
  );
  const vms = [...l.vms.values()].map((p) => vmBox(p.vm, p, subnetClass(cloud.subnets, p.vm.subnet), p.vm.name === selected));

  const svg = s(
    'svg',
    {
      id: 'topology-svg',
      class: selected ? 'has-selection' : '',
      viewBox: `0 0 ${l.width} ${l.height}`,
      width: l.width,
      height: l.height,
      role: 'group',
      'aria-labelledby': 'topology-svg-title',
    },
    s('title', { id: 'topology-svg-title' }, `Topology: ${cloud.nodes.length} nodes, ${cloud.subnets.length} subnets, ${cloud.vms.length} VMs`),
    s('text', { class: 'row-label', x: MARGIN, y: TOP_Y - 44 }, 'Gateways, switch and service nodes'),
    s('text', { class: 'row-label', x: MARGIN, y: l.computeY - 52 }, 'Compute nodes and their VMs'),
    s('g', { class: 'zones' }, zones),
    s('g', { class: 'edges' }, edges),
    s('g', { class: 'spines' }, spines),
    s('g', { class: 'nodes' }, nodes),
    s('g', { class: 'vms' }, vms),
    s('g', { class: 'legend' }, legend(cloud, l)),
  );
  svg.addEventListener('click', (e) => {
    const g = e.target instanceof Element ? e.target.closest('[data-vm]') : null;
    onSelect(g ? g.getAttribute('data-vm') : null);
  });
  svg.addEventListener('keydown', (e) => {
    const g = e.target instanceof Element ? e.target.closest('[data-vm]') : null;
    if (g && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      onSelect(g.getAttribute('data-vm'));
    }
  });
  if (selected) highlight(svg, cloud, selected);
  return svg;
}

/** Marks the selected VM's path: its node, its port, tunnels from its node, its gateway, the switch. */
function highlight(svg, cloud, name) {
  const vm = cloud.vms.find((v) => v.name === name);
  if (!vm) return;
  const peers = new Set(cloud.vms.filter((v) => v.subnet === vm.subnet && v.name !== vm.name).map((v) => v.node));
  const mark = (el, cls) => el.classList.add('on-path', ...(cls ? [cls] : []));
  for (const e of svg.querySelectorAll('.edge[data-a]')) {
    const a = e.getAttribute('data-a');
    const b = e.getAttribute('data-b');
    if (a !== vm.node && b !== vm.node) continue;
    const other = a === vm.node ? b : a;
    if (other === vm.gateway) mark(e, 'egress');
    else if (e.classList.contains('bcast')) mark(e, 'broadcast');
    else if (peers.has(other)) mark(e, 'peer');
    else mark(e);
  }
  for (const n of svg.querySelectorAll('.node[data-node]')) {
    const nn = n.getAttribute('data-node');
    if (nn === vm.node) mark(n, 'home');
    else if (nn === vm.gateway) mark(n, 'egress');
  }
  for (const sp of svg.querySelectorAll(`.spine[data-node="${CSS.escape(vm.node)}"]`)) mark(sp);
  for (const v of svg.querySelectorAll('.vm[data-vm]')) {
    const other = cloud.vms.find((x) => x.name === v.getAttribute('data-vm'));
    if (other?.name === vm.name) mark(v);
    else if (other?.subnet === vm.subnet) v.classList.add('peer');
  }
}

/** The path, in words, beside the picture. */
export function describePath(cloud, name) {
  const vm = cloud.vms.find((v) => v.name === name);
  if (!vm) return [h('h2', {}, 'Path'), h('p', { class: 'hint' }, 'Select a VM to see its path through the overlay.')];
  const node = cloud.nodes.find((n) => n.name === vm.node);
  const gw = cloud.nodes.find((n) => n.name === vm.gateway);
  const subnet = cloud.subnets.find((x) => x.name === vm.subnet);
  const sw = cloud.nodes.find((n) => n.roles.includes('switch'));
  const peers = cloud.vms.filter((v) => v.subnet === vm.subnet && v.name !== vm.name);
  const peerNodes = [...new Set(peers.map((v) => v.node))];
  return [
    h('h2', {}, `Path of ${vm.name}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Address'),
      h('dd', { class: 'mono' }, `${vm.ip} · ${vm.mac}`),
      h('dt', {}, 'State'),
      h('dd', {}, `${vm.state} · ${vm.flavor} · ${vm.image}`),
    ),
    h(
      'ol',
      { class: 'steps' },
      h('li', {}, 'Port ', h('code', {}, vm.port), ` on br0 of `, h('strong', {}, vm.node), node ? ` (underlay ${node.underlayIp})` : ''),
      h('li', {}, `Tagged with subnet ${vm.subnet}'s VNI ${subnet?.vni ?? '?'} (tun_id) at table 0.`),
      h(
        'li',
        {},
        'Unicast: vxlan-int to the destination VM\u2019s node',
        peerNodes.length ? `; same-subnet peers on ${peerNodes.join(', ')}` : '; no other VM in its subnet yet',
        '. Other subnets are routed directly, host to host.',
      ),
      h('li', {}, 'Egress: vxlan-int to gateway ', h('strong', {}, vm.gateway), gw ? ` (tunnel endpoint ${tunnelIp(gw)})` : '', '.'),
      h('li', {}, sw ? ['Broadcast: vxlan-sw to the switch ', h('strong', {}, sw.name), ', replicated to the other hosts of its subnet.'] : 'Broadcast: no switch node.'),
    ),
    h('p', {}, h('a', { href: `#/flows/${encodeURIComponent(vm.node)}?filter=${encodeURIComponent(vm.mac)}` }, `Flows of ${vm.node} mentioning ${vm.mac}`)),
  ];
}
