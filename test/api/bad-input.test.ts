// Bad input: a 4xx whose message names the field and the reason, and nothing changes in the store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
  for (const n of SEED_NODES) await h.call('POST', '/api/v1/nodes', n);
  await h.call('POST', '/api/v1/subnets', { name: 'a' }); // 192.168.20.0/27
  await h.call('POST', '/api/v1/subnets', { name: 'tiny', cidr: '192.168.23.252/30' }); // room for one VM
  await h.call('POST', '/api/v1/vms', { name: 'only', subnet: 'tiny', flavor: 'small', image: 'img' });
  await h.call('POST', '/api/v1/vms', { name: 'web-1', subnet: 'a', flavor: 'small', image: 'img' });
});
afterAll(() => h.close());

type Row = [what: string, method: 'POST' | 'DELETE' | 'GET', url: string, body: unknown, status: number, field: string | undefined, message: RegExp];

const vm = (over: object): object => ({ name: 'new-vm', subnet: 'a', flavor: 'small', image: 'img', ...over });
const node = (over: object): object => ({ name: 'host-9', roles: ['compute'], underlayIp: '10.0.0.19', cpus: 4, memoryMiB: 4096, ...over });

const ROWS: Row[] = [
  // subnets
  ['overlapping CIDR', 'POST', '/api/v1/subnets', { name: 'x', cidr: '192.168.20.16/28' }, 409, 'cidr', /^cidr: 192\.168\.20\.16\/28 overlaps subnet 'a' \(192\.168\.20\.0\/27\)$/],
  ['CIDR outside the overlay', 'POST', '/api/v1/subnets', { name: 'x', cidr: '10.0.0.0/24' }, 400, 'cidr', /not inside the overlay range 192\.168\.20\.0\/22/],
  ['CIDR with host bits', 'POST', '/api/v1/subnets', { name: 'x', cidr: '192.168.21.5/24' }, 400, 'cidr', /host bits set/],
  ['CIDR too small for VMs', 'POST', '/api/v1/subnets', { name: 'x', cidr: '192.168.21.0/31' }, 400, 'cidr', /no room for VMs/],
  ['not a CIDR', 'POST', '/api/v1/subnets', { name: 'x', cidr: 'hello/world' }, 400, 'cidr', /bad CIDR/],
  ['prefix out of range (domain)', 'POST', '/api/v1/subnets', { name: 'x', prefixLength: 20 }, 400, 'prefixLength', /\/20 is out of range: the overlay 192\.168\.20\.0\/22 holds \/22 to \/30/],
  ['prefix out of range (schema)', 'POST', '/api/v1/subnets', { name: 'x', prefixLength: 33 }, 400, 'prefixLength', /^prefixLength: must be <= 32$/],
  ['prefix not an integer', 'POST', '/api/v1/subnets', { name: 'x', prefixLength: '27' }, 400, 'prefixLength', /must be integer/],
  ['both prefix and CIDR', 'POST', '/api/v1/subnets', { name: 'x', prefixLength: 27, cidr: '192.168.21.0/27' }, 400, 'cidr', /either cidr or prefixLength/],
  ['overlay full', 'POST', '/api/v1/subnets', { name: 'x', prefixLength: 22 }, 409, 'prefixLength', /has no free \/22 left/],
  ['duplicate subnet name', 'POST', '/api/v1/subnets', { name: 'a' }, 409, 'name', /a subnet named 'a' already exists/],
  ['bad subnet name', 'POST', '/api/v1/subnets', { name: 'a b' }, 400, 'name', /^name: must be 1-32 characters: lower-case letters, digits and '-', starting with a letter, not ending with '-' \(got "a b"\)$/],
  ['missing subnet name', 'POST', '/api/v1/subnets', {}, 400, 'name', /^name: is required$/],
  ['unknown field', 'POST', '/api/v1/subnets', { name: 'x', size: 5 }, 400, 'size', /^size: is not a known field$/],
  ['delete subnet with VMs', 'DELETE', '/api/v1/subnets/a', undefined, 409, undefined, /subnet 'a' still has VMs \(web-1\)/],
  ['delete unknown subnet', 'DELETE', '/api/v1/subnets/zz', undefined, 404, undefined, /no subnet named 'zz'/],
  // VMs
  ['subnet full', 'POST', '/api/v1/vms', vm({ subnet: 'tiny' }), 409, 'subnet', /subnet 'tiny' \(192\.168\.23\.252\/30\) is full: all 1 VM addresses are taken/],
  ['unknown subnet', 'POST', '/api/v1/vms', vm({ subnet: 'nope' }), 400, 'subnet', /no subnet named 'nope'/],
  ['unknown node', 'POST', '/api/v1/vms', vm({ node: 'host-9' }), 400, 'node', /no node named 'host-9'/],
  ['node is not compute', 'POST', '/api/v1/vms', vm({ node: 'gw-1' }), 400, 'node', /node 'gw-1' is not a compute node/],
  ['unknown gateway', 'POST', '/api/v1/vms', vm({ gateway: 'gw-9' }), 400, 'gateway', /no node named 'gw-9'/],
  ['gateway is not a gateway', 'POST', '/api/v1/vms', vm({ gateway: 'host-1' }), 400, 'gateway', /node 'host-1' is not a gateway/],
  ['duplicate VM name', 'POST', '/api/v1/vms', vm({ name: 'web-1' }), 409, 'name', /a VM named 'web-1' already exists/],
  ['bad VM name', 'POST', '/api/v1/vms', vm({ name: '-x' }), 400, 'name', /^name: must be 1-32 characters: lower-case letters.*\(got "-x"\)$/],
  ['bad flavor', 'POST', '/api/v1/vms', vm({ flavor: '4X8G' }), 400, 'flavor', /'4X8G' is neither a size like '4C8G'.*nor one of tiny, small/],
  ['flavor too big', 'POST', '/api/v1/vms', vm({ flavor: '999C8G' }), 400, 'flavor', /asks for 999 CPUs/],
  ['bad image', 'POST', '/api/v1/vms', vm({ image: 'rm -rf /' }), 400, 'image', /^image: must be a local image alias .*a remote reference such as 'images:debian\/12'.*\(got "rm -rf \/"\)$/],
  ['no capacity in the AZ', 'POST', '/api/v1/vms', vm({ flavor: '17C1G', az: 'AZ-2' }), 409, 'az', /no compute node in AZ-2 has 17 CPUs and 1 GiB free: host-3 has 16 CPUs and 32 GiB free/],
  ['no capacity anywhere', 'POST', '/api/v1/vms', vm({ flavor: '64C1G' }), 409, 'flavor', /no compute node has 64 CPUs and 1 GiB free: host-1 has 31 CPUs/],
  ['no capacity on the node', 'POST', '/api/v1/vms', vm({ flavor: '20C1G', node: 'host-3' }), 409, 'node', /node 'host-3' does not have 20 CPUs/],
  ['unknown AZ', 'POST', '/api/v1/vms', vm({ az: 'AZ-7' }), 409, 'az', /no compute node in AZ-7: compute nodes are in AZ-1, AZ-2/],
  ['missing image', 'POST', '/api/v1/vms', { name: 'x', subnet: 'a', flavor: 'small' }, 400, 'image', /^image: is required$/],
  ['empty name', 'POST', '/api/v1/vms', vm({ name: '' }), 400, 'name', /^name: must be 1-32 characters: .*\(got ""\)$/],
  ['exec with no command', 'POST', '/api/v1/vms/web-1/exec', { command: [] }, 400, 'command', /must NOT have fewer than 1 items/],
  ['unknown VM', 'DELETE', '/api/v1/vms/ghost', undefined, 404, undefined, /no VM named 'ghost'/],
  // nodes
  ['duplicate node name', 'POST', '/api/v1/nodes', node({ name: 'host-1' }), 409, 'name', /a node named 'host-1' already exists/],
  ['duplicate underlay IP', 'POST', '/api/v1/nodes', node({ underlayIp: '10.0.0.11' }), 409, 'underlayIp', /10\.0\.0\.11 is already node 'host-1's underlay address/],
  ['service IP taken', 'POST', '/api/v1/nodes', node({ roles: ['gateway'], serviceIp: '10.0.0.12' }), 409, 'serviceIp', /10\.0\.0\.12 is already node 'host-2's tunnel address/],
  ['bad IP', 'POST', '/api/v1/nodes', node({ underlayIp: '10.0.0.300' }), 400, 'underlayIp', /'10\.0\.0\.300' is not an IPv4 address/],
  ['unknown role', 'POST', '/api/v1/nodes', node({ roles: ['router'] }), 400, 'roles.0', /^roles\.0: must be /],
  ['no role', 'POST', '/api/v1/nodes', node({ roles: [] }), 400, 'roles', /must NOT have fewer than 1 items/],
  ['switch with compute', 'POST', '/api/v1/nodes', node({ roles: ['switch', 'compute'] }), 400, 'roles', /switch role cannot share a node/],
  ['second switch', 'POST', '/api/v1/nodes', node({ roles: ['switch'] }), 409, 'roles', /node 'switch' is already the switch node/],
  ['compute without CPUs', 'POST', '/api/v1/nodes', node({ cpus: 0 }), 400, 'cpus', /needs at least 1 CPU/],
  ['service IP on a non-gateway', 'POST', '/api/v1/nodes', node({ serviceIp: '1.2.3.4' }), 400, 'serviceIp', /only gateway nodes have a service IP/],
  ['bad SSH target', 'POST', '/api/v1/nodes', node({ sshTarget: 'root@host; reboot' }), 400, 'sshTarget', /is not '\[user@\]host\[:port\]'/],
  ['remove node with VMs', 'DELETE', '/api/v1/nodes/host-1', undefined, 409, undefined, /node 'host-1' still has VMs/],
  ['remove gateway with VMs', 'DELETE', '/api/v1/nodes/gw-1', undefined, 409, undefined, /node 'gw-1' still has VMs/],
  ['remove unknown node', 'DELETE', '/api/v1/nodes/zz', undefined, 404, undefined, /no node named 'zz'/],
];

describe('bad input', () => {
  it.each(ROWS)('%s', async (_what, method, url, body, status, field, message) => {
    const before = h.service.records();
    const revision = h.service.revision();
    const applies = h.network.applies.length;
    const res = await h.call(method, url, body);
    expect(res.status).toBe(status);
    expect(res.json.error.message).toMatch(message);
    expect(res.json.error.field).toBe(field);
    expect(res.json.error.requestId).toBe(res.headers['x-request-id']);
    expect(h.service.records()).toEqual(before);
    expect(h.service.revision()).toBe(revision);
    expect(h.network.applies.length).toBe(applies);
  });

  it('oversized body: 413', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/subnets',
      headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x', padding: 'y'.repeat(100_000) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('body_too_large');
  });

  it('bad JSON: 400', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/subnets',
      headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/^body: not valid JSON/);
  });

  it('wrong content type: 415, or 400 for a body that is not an object', async () => {
    const post = (contentType: string) =>
      h.app.inject({ method: 'POST', url: '/api/v1/subnets', headers: { authorization: `Bearer ${h.token}`, 'content-type': contentType }, payload: 'name=x' });
    const xml = await post('application/xml');
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe('unsupported_media_type');
    const text = await post('text/plain');
    expect(text.statusCode).toBe(400);
    expect(text.json().error).toMatchObject({ field: 'body', message: 'body: must be object' });
  });

  it('5xx hide their internals', async () => {
    const original = h.service.listNodes.bind(h.service);
    h.service.listNodes = () => {
      throw new Error('SQLITE_CORRUPT: secret path /var/lib/minicloud/cloud.db');
    };
    try {
      const res = await h.call('GET', '/api/v1/nodes');
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.json)).not.toContain('SQLITE');
      expect(res.json.error.message).toBe(`internal error; the log has the details under request id ${res.json.error.requestId}`);
    } finally {
      h.service.listNodes = original;
    }
  });
});
