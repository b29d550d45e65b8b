// One name rule per kind (src/topology/names.ts), enforced alike by the API and by src/hosts: every name the API
// accepts passes every host-side check of what it becomes (interface, namespace, container, dnsmasq entry, DNS
// label), and every name the host side refuses, the API refuses first with a 400 that says the rule. Records named
// under the older, wider rules stay readable and removable, and do not stop provisioning or DHCP for the others.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapSpecFor, dhcpReservations, type ProvisioningSettings } from '../../src/daemon/provisioning.js';
import { reservationFiles } from '../../src/hosts/bootstrap/dhcp.js';
import { validateNodeSpec, validateReservation } from '../../src/hosts/bootstrap/spec.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import { assertIfName, ValidationError } from '../../src/hosts/validate.js';
import { portNameFor, validateVmSpec } from '../../src/hosts/vm/driver.js';
import { NetnsVmDriver } from '../../src/hosts/vm/netns.js';
import { AddNodeBody, CreateSubnetBody, CreateVmBody } from '../../src/api/schemas.js';
import { switchPortName } from '../../src/topology/model.js';
import { NODE_NAME, PROJECT_NAME, SUBNET_NAME, VM_NAME, vmInstanceName } from '../../src/topology/names.js';
import type { NodeRecord, VmRecord } from '../../src/topology/records.js';
import { makeHarness, type Harness } from './harness.js';

/** The three names that passed the API and then wedged provisioning or DHCP. */
const KNOWN_BAD = { node: 'compute_2', leadingDigit: '1a', longVm: 'a'.repeat(40) };

/** RFC 1123 label: what LXD takes as a container name and dnsmasq as a hostname. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

let h: Harness;
const local = new LocalExecutor();
/** The netns backend with the default namespace prefix and with the longest one the configuration allows. */
const vmDrivers = ['vm-', 'abcdefgh'].map((netnsPrefix) => new NetnsVmDriver({ node: local, stateDir: '/var/lib/minicloud/vms', netnsPrefix }));

beforeAll(async () => {
  h = await makeHarness();
  await h.call('POST', '/api/v1/nodes', { name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1' });
  await h.call('POST', '/api/v1/nodes', { name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 8, memoryMiB: 8192 });
  await h.call('POST', '/api/v1/subnets', { name: 'a' });
});

afterAll(async () => {
  await h?.close();
});

/** Throws when any host-side check refuses what the VM name becomes. */
function hostAcceptsVm(name: string): void {
  validateVmSpec({ name, mac: '02:00:00:00:00:01', network: { mode: 'dhcp' } });
  // The same VM name in a project of the longest name: its instance name on the node, its guest's hostname.
  const instance = vmInstanceName('p'.repeat(PROJECT_NAME.maxLength), name);
  validateVmSpec({ name: instance, hostname: name, mac: '02:00:00:00:00:01', network: { mode: 'dhcp' } });
  if (!DNS_LABEL.test(instance)) throw new Error(`${JSON.stringify(instance)} is not a DNS label (LXD container)`);
  assertIfName('port', portNameFor(name));
  for (const d of vmDrivers) {
    d.netnsOf(name);
    d.netnsOf(instance);
  }
  validateReservation({ vm: name, mac: '02:00:00:00:00:01', ip: '192.168.20.5' });
  const { hosts } = reservationFiles([{ vm: name, mac: '02:00:00:00:00:01', ip: '192.168.20.5' }]);
  if (hosts.split('\n').length !== 2 || hosts.split(',').length !== 4) throw new Error(`dnsmasq hosts line broken by ${JSON.stringify(name)}`);
  if (!DNS_LABEL.test(name)) throw new Error(`${JSON.stringify(name)} is not a DNS label (LXD container, hostname)`);
}

/** Throws when any host-side check refuses what the node name becomes. */
function hostAcceptsNode(name: string): void {
  const base = { name, tunnelIp: '10.0.0.5', controller: 'tcp:127.0.0.1:6653' };
  validateNodeSpec({ ...base, roles: ['compute'], switchIp: '10.0.0.100' });
  validateNodeSpec({ ...base, name: 'sw', roles: ['switch'], switchPeers: [{ name, ip: '10.0.0.5' }] });
  const port = switchPortName(name);
  assertIfName('switch port', port);
  expect(port.length).toBeLessThanOrEqual(15); // OpenFlow's port name field and IFNAMSIZ, NUL excluded
  new NetnsExecutor(local, name); // a lab node is the namespace of its name
}

const refuses = (check: (name: string) => void, name: string): boolean => {
  try {
    check(name);
    return false;
  } catch (e) {
    if (e instanceof ValidationError || e instanceof Error) return true;
    throw e;
  }
};

/** Names of every sort: the rule's own, near misses (case, '_', '.', digits first, '-' last, long) and junk. */
const names = (pattern: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.stringMatching(new RegExp(pattern)),
    fc.string({ unit: fc.constantFrom(...'abz09-_.AZ'.split('')), maxLength: 45 }),
    fc.string({ unit: fc.constantFrom(...'ab1-'.split('')), minLength: 10, maxLength: 40 }),
    fc.string({ maxLength: 20 }),
    fc.constantFrom(...Object.values(KNOWN_BAD), '', '-', 'a-', 'A', 'web-1', 'a'.repeat(12), 'a'.repeat(13), 'a'.repeat(32), 'a'.repeat(33)),
  );

/** POSTs a body whose only possible fault besides `name` comes after the name check: 'name' in the error means the name was refused. */
async function apiRefusesName(url: string, body: object): Promise<boolean> {
  const res = await h.call('POST', url, body);
  expect(res.status, JSON.stringify(res.json)).toBeGreaterThanOrEqual(400); // every body here is refused somewhere
  return res.status === 400 && res.json.error.field === 'name'; // (a 409 on 'name' is a duplicate: the name passed)
}

describe('one rule per name, API and hosts alike', () => {
  it('refuses the three known bad names with a 400 that states the rule', async () => {
    const node = await h.call('POST', '/api/v1/nodes', { name: KNOWN_BAD.node, roles: ['compute'], underlayIp: '10.0.0.12', cpus: 1, memoryMiB: 512 });
    expect(node.status).toBe(400);
    expect(node.json.error).toMatchObject({ code: 'invalid', field: 'name' });
    expect(node.json.error.message).toBe(`name: must be ${NODE_NAME.text} (got "compute_2")`);
    for (const name of [KNOWN_BAD.leadingDigit, KNOWN_BAD.longVm]) {
      const vm = await h.call('POST', '/api/v1/vms', { name, subnet: 'a', flavor: 'tiny', image: 'img' });
      expect(vm.status).toBe(400);
      expect(vm.json.error.field).toBe('name');
      expect(vm.json.error.message).toContain(VM_NAME.text);
    }
    const digitNode = await h.call('POST', '/api/v1/nodes', { name: KNOWN_BAD.leadingDigit, roles: ['gateway'], underlayIp: '10.0.0.13' });
    expect(digitNode.status).toBe(400);
    expect(h.backend.calls).toEqual([]); // nothing reached a backend
    for (const [check, name] of [
      [hostAcceptsNode, KNOWN_BAD.node],
      [hostAcceptsNode, KNOWN_BAD.leadingDigit],
      [hostAcceptsVm, KNOWN_BAD.leadingDigit],
      [hostAcceptsVm, KNOWN_BAD.longVm],
    ] as const) {
      expect(refuses(check, name), name).toBe(true);
    }
  });

  it('the schema pattern and length are the rule itself (generated, not copied), and /docs publishes them', async () => {
    expect(AddNodeBody.properties.name).toMatchObject({ pattern: NODE_NAME.pattern, maxLength: NODE_NAME.maxLength });
    expect(CreateVmBody.properties.name).toMatchObject({ pattern: VM_NAME.pattern, maxLength: VM_NAME.maxLength });
    expect(CreateSubnetBody.properties.name).toMatchObject({ pattern: SUBNET_NAME.pattern, maxLength: SUBNET_NAME.maxLength });
    const docs = (await h.app.inject({ url: '/docs/json' })).body;
    for (const rule of [NODE_NAME, VM_NAME]) expect(docs).toContain(JSON.stringify(rule.pattern));
  });

  it('a VM name the API accepts passes every host check, and one the hosts refuse the API refuses', async () => {
    await fc.assert(
      fc.asyncProperty(names(VM_NAME.pattern), async (name) => {
        // subnet 'nope' fails after the name check: an error on 'subnet' means the name passed.
        const apiRefused = await apiRefusesName('/api/v1/vms', { name, subnet: 'nope', flavor: 'tiny', image: 'img' });
        const hostRefused = refuses(hostAcceptsVm, name);
        expect({ name, apiRefused }).toEqual({ name, apiRefused: hostRefused });
      }),
      { numRuns: 400 },
    );
  });

  it('a node name the API accepts passes every host check, and one the hosts refuse the API refuses', async () => {
    await fc.assert(
      fc.asyncProperty(names(NODE_NAME.pattern), async (name) => {
        // A compute node without CPUs fails after the name check.
        const apiRefused = await apiRefusesName('/api/v1/nodes', { name, roles: ['compute'], underlayIp: '10.0.0.50', cpus: 0, memoryMiB: 0 });
        const hostRefused = refuses(hostAcceptsNode, name);
        expect({ name, apiRefused }).toEqual({ name, apiRefused: hostRefused });
      }),
      { numRuns: 400 },
    );
  });

  it('a subnet name the API accepts is a DNS label (as VM names are)', async () => {
    await fc.assert(
      fc.asyncProperty(names(SUBNET_NAME.pattern), async (name) => {
        const apiRefused = await apiRefusesName('/api/v1/subnets', { name, cidr: '10.0.0.0/24' }); // outside the overlay
        expect({ name, apiRefused }).toEqual({ name, apiRefused: !(DNS_LABEL.test(name) && /^[a-z]/.test(name) && name.length <= 32 && name === name.toLowerCase()) });
      }),
      { numRuns: 300 },
    );
  });
});

describe('records named under the older rules', () => {
  const at = new Date(0).toISOString();
  const legacyNode: NodeRecord = { name: 'Compute_2', roles: ['compute'], underlayIp: '10.0.0.40', cpus: 4, memoryMiB: 4096, createdAt: at };
  const legacyVm = (name: string, ip: string, mac: string): VmRecord => ({
    name,
    subnet: 'a',
    node: 'host-1',
    gateway: 'gw-1',
    flavor: 'tiny',
    cpus: 1,
    memoryMiB: 512,
    image: 'img',
    ip,
    mac,
    port: `mcvm-${ip.split('.')[3]}`,
    state: 'running',
    createdAt: at,
  });
  const longName = `Legacy-${'x'.repeat(40)}`;

  beforeAll(async () => {
    // Written as an older version would have: straight into the store, past today's rules.
    await h.store.write((w) => {
      w.insertNode(legacyNode);
      w.insertNode({ name: 'sw', roles: ['switch'], underlayIp: '10.0.0.100', cpus: 0, memoryMiB: 0, createdAt: at });
      w.insertNode({ name: 'dhcp', roles: ['dhcp'], underlayIp: '10.0.0.101', cpus: 0, memoryMiB: 0, createdAt: at });
      w.insertVm(legacyVm('Web-Old', '192.168.20.20', '02:00:c0:a8:14:14'));
      w.insertVm(legacyVm(longName, '192.168.20.21', '02:00:c0:a8:14:15'));
      w.insertVm(legacyVm('fine', '192.168.20.22', '02:00:c0:a8:14:16'));
    });
  });

  it('are listed and shown, and can be removed', async () => {
    expect((await h.call('GET', '/api/v1/nodes')).json.nodes.map((n: { name: string }) => n.name)).toContain('Compute_2');
    expect((await h.call('GET', '/api/v1/vms/Web-Old')).status).toBe(200);
    expect((await h.call('GET', `/api/v1/vms/${longName}`)).status).toBe(200);
    expect((await h.call('GET', '/api/v1/vms?node=host-1')).json.vms).toHaveLength(3);
    // A reference to an existing record takes the old names too.
    const onLegacy = await h.call('POST', '/api/v1/vms', { name: 'new-one', subnet: 'a', flavor: 'tiny', image: 'img', node: 'Compute_2' });
    expect(onLegacy.status, JSON.stringify(onLegacy.json)).toBe(201);
    expect((await h.call('DELETE', '/api/v1/vms/new-one')).status).toBe(200);
  });

  it('do not stop the switch or the DHCP node from being provisioned', () => {
    const records = h.service.records();
    const settings: ProvisioningSettings = { controllerFor: () => ['tcp:127.0.0.1:6653'], overlay: '192.168.20.0/22', stateDirFor: () => '/var/lib/minicloud' };
    const sw = bootstrapSpecFor(records.nodes.find((n) => n.name === 'sw')!, records, settings)!;
    expect(sw.switchPeers?.map((p) => p.name)).toEqual(['dhcp', 'host-1']);
    expect(() => validateNodeSpec(sw)).not.toThrow();
    const dhcp = bootstrapSpecFor(records.nodes.find((n) => n.name === 'dhcp')!, records, settings)!;
    expect(() => validateNodeSpec(dhcp)).not.toThrow();
    expect(dhcpReservations(records).map((r) => r.vm)).toEqual(['Web-Old', 'fine']); // the 47-character name never reached a node
    // The legacy node itself says what is wrong and what to do.
    expect(() => bootstrapSpecFor(legacyNode, records, settings)).toThrow(/'Compute_2' is not a valid node name: 1-12 characters.*add it again under a valid name/);
  });

  it('delete through the API', async () => {
    for (const name of ['Web-Old', longName, 'fine']) expect((await h.call('DELETE', `/api/v1/vms/${name}`)).status, name).toBe(200);
    expect((await h.call('DELETE', '/api/v1/nodes/Compute_2')).status).toBe(200);
  });
});
