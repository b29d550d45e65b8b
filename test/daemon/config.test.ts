// The controller's configuration: defaults, YAML and JSON files, environment overrides, and errors that name the key
// and its line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_LIMITS } from '../../src/api/limits.js';
import { ConfigError, loadConfig, resolveConfig } from '../../src/daemon/config.js';
import { dpidForNode, dpidTextForNode } from '../../src/daemon/node-pipelines.js';

describe('controller config', () => {
  it('has the documented defaults', () => {
    expect(resolveConfig({})).toEqual({
      openflow: {
        listen: ['tcp:6653'],
        connect: [],
        echoIntervalSeconds: 5,
        datapathIds: {},
        maxConcurrentSyncs: 64,
        yieldToConnections: true,
        maxConnections: 4096,
        maxPendingPerAddress: 32,
        multipartMaxBytes: 256 * 1024 * 1024,
        multipartMaxParts: 65536,
        multipartTimeoutSeconds: 120,
        maxUnknownDatapaths: 256,
        pinAddresses: false,
      },
      api: { host: '127.0.0.1', port: 8080, auth: true, limits: DEFAULT_API_LIMITS },
      store: { backend: 'sqlite', path: '/var/lib/minicloud/cloud.db' },
      overlay: '192.168.20.0/22',
      stats: { intervalSeconds: 15 },
      sync: { verifyIntervalSeconds: 60 },
      vms: { backend: 'none', nodes: {}, stateDir: '/var/lib/minicloud/vms', netnsPrefix: 'vm-', lxdImage: 'minicloud-busybox', execMaxOutputBytes: 1024 * 1024 },
      hosts: { maxOutputBytes: 4 * 1024 * 1024 },
      log: { level: 'info' },
      provisioning: { enabled: false, controller: [], stateDir: '/var/lib/minicloud', retryMinSeconds: 5, retryMaxSeconds: 300 },
      gatewayFailover: { enabled: true, disconnectGraceMs: 3000, startupGraceMs: 30_000, bfd: { enabled: true, intervalMs: 300 } },
      floatingIps: { pools: [] },
      metrics: { auth: false },
      network: { underlayMtu: 1500, underlayMtuByNode: {}, dhcp: 'controller', broadcast: 'head-end', dhcpLeaseSeconds: 43200, dns: [], transitRange: '100.64.0.0/16' },
    });
  });

  it('floatingIps: pools inside their outside network, apart from each other, with a link to live on', () => {
    const pool = (over: object = {}) => ({ gateway: 'gw1', outside: '203.0.113.1/24', addresses: ['203.0.113.10-203.0.113.20', '203.0.113.32/28'], ...over });
    const withPools = (pools: object[], egressInterface: string | null = 'eth1') => resolveConfig({ provisioning: { ...(egressInterface !== null && { egressInterface }) }, floatingIps: { pools } });
    expect(withPools([pool(), pool({ gateway: 'gw2', outside: '203.0.113.2/24', interface: 'eth2', addresses: ['203.0.113.100'] })]).floatingIps.pools).toEqual([
      { ...pool(), interface: 'eth1' },
      { gateway: 'gw2', outside: '203.0.113.2/24', interface: 'eth2', addresses: ['203.0.113.100'] },
    ]);
    expect(() => withPools([pool({ addresses: ['198.51.100.10'] })])).toThrow(/pools\[0\]\.addresses\[0\]: '198.51.100.10' is not inside the gateway's outside network 203.0.113.0\/24/);
    expect(() => withPools([pool({ addresses: ['203.0.113.1'] })])).toThrow(/holds the gateway's own address 203.0.113.1/);
    expect(() => withPools([pool({ addresses: ['203.0.113.0/24'] })])).toThrow(/network or broadcast address/);
    expect(() => withPools([pool(), pool({ gateway: 'gw2', outside: '203.0.113.2/24', addresses: ['203.0.113.15-203.0.113.16'] })])).toThrow(/pools\[1\]\.addresses\[0\]: '203.0.113.15-203.0.113.16' overlaps pools\[0\]\.addresses\[0\] \(gw1\)/);
    expect(() => withPools([pool(), pool()])).toThrow(/'gw1' has a pool already/);
    expect(() => withPools([pool({ addresses: ['203.0.113.20-203.0.113.10'] })])).toThrow(/ends before it starts/);
    expect(() => withPools([pool({ outside: '10.0.0.1/8', addresses: ['10.1.0.0/16', '10.2.0.0/16'] })])).toThrow(/131072 addresses, more than the 65536/);
    expect(() => withPools([pool({ outside: '192.168.0.1/16', addresses: ['192.168.20.5'] })])).toThrow(/overlaps the overlay 192.168.20.0\/22/);
    // The transit range (other projects' VMs' addresses on the gateway's kernel), the default one or as configured.
    expect(() => withPools([pool({ outside: '100.64.0.1/24', addresses: ['100.64.0.10-100.64.0.20'] })])).toThrow(
      /pools\[0\]\.addresses\[0\]: '100\.64\.0\.10-100\.64\.0\.20' overlaps network\.transitRange 100\.64\.0\.0\/16/,
    );
    expect(() => withPools([pool({ outside: '100.64.0.1/24', addresses: ['100.64.0.10'] })])).toThrow(/pools\[0\]\.outside: the gateway's address 100\.64\.0\.1 is inside network\.transitRange 100\.64\.0\.0\/16/);
    const transit = (range: string) => resolveConfig({ provisioning: { egressInterface: 'eth1' }, network: { transitRange: range }, floatingIps: { pools: [pool()] } });
    expect(() => transit('203.0.113.0/25')).toThrow(/'203\.0\.113\.10-203\.0\.113\.20' overlaps network\.transitRange 203\.0\.113\.0\/25/);
    expect(transit('10.200.0.0/16').floatingIps.pools).toHaveLength(1);
    expect(() => withPools([pool()], null)).toThrow(/pools\[0\]\.interface: not set, and neither is provisioning\.egressInterface/);
    expect(() => withPools([pool({ interface: 'eth1; reboot' })])).toThrow(/floatingIps\.pools/);
  });

  it('gatewayFailover: graces in seconds, the BFD interval in ms, bounded', () => {
    const c = resolveConfig({ gatewayFailover: { disconnectGraceSeconds: 1.5, startupGraceSeconds: 0, bfd: { enabled: false, intervalMs: 1000 } } });
    expect(c.gatewayFailover).toEqual({ enabled: true, disconnectGraceMs: 1500, startupGraceMs: 0, bfd: { enabled: false, intervalMs: 1000 } });
    expect(() => resolveConfig({ gatewayFailover: { bfd: { intervalMs: 10 } } })).toThrow(/gatewayFailover\.bfd\.intervalMs/);
    expect(() => resolveConfig({ gatewayFailover: { disconnectGraceSeconds: -1 } })).toThrow(/gatewayFailover\.disconnectGraceSeconds/);
    expect(() => resolveConfig({ gatewayFailover: { bfd: { minRx: 1 } } })).toThrow(/gatewayFailover\.bfd/);
  });

  it('refuses api.auth: false unless the API listens on loopback, naming where it was set', () => {
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', 'localhost']) expect(resolveConfig({ api: { host, auth: false } }).api.auth).toBe(false);
    const refused = /api\.auth: false is refused: the API listens on 0\.0\.0\.0, not on loopback/;
    expect(() => resolveConfig({ api: { host: '0.0.0.0', auth: false } })).toThrow(refused);
    expect(() => resolveConfig({ api: { host: '::' } }, { MINICLOUD_API_AUTH: 'false' })).toThrow(/^MINICLOUD_API_AUTH: api\.auth: false is refused: the API listens on ::/);
    expect(() => resolveConfig({ api: { auth: false } }, { MINICLOUD_API_HOST: '10.0.0.1' })).toThrow(/listens on 10\.0\.0\.1/);
    expect(() => resolveConfig({ api: { host: '::ffff:10.0.0.1', auth: false } })).toThrow(ConfigError);
  });

  it('api request limits: in seconds and bytes in the file, bounded, the header timeout within the request timeout', () => {
    const c = resolveConfig({
      api: { bodyLimitBytes: 4096, maxHeaderBytes: 8192, headersTimeoutSeconds: 2, requestTimeoutSeconds: 5.5, keepAliveTimeoutSeconds: 1, connectionTimeoutSeconds: 0, maxRequestsPerSocket: 10 },
    });
    expect(c.api.limits).toEqual({ bodyLimitBytes: 4096, maxHeaderBytes: 8192, headersTimeoutMs: 2000, requestTimeoutMs: 5500, keepAliveTimeoutMs: 1000, connectionTimeoutMs: 0, maxRequestsPerSocket: 10 });
    expect(() => resolveConfig({ api: { bodyLimitBytes: 10 } })).toThrow(/api\.bodyLimitBytes: must be >= 1024/);
    expect(() => resolveConfig({ api: { maxHeaderBytes: 1 << 20 } })).toThrow(/api\.maxHeaderBytes: must be <= 65536/);
    expect(() => resolveConfig({ api: { headersTimeoutSeconds: 20, requestTimeoutSeconds: 10 } })).toThrow(
      'config: api.headersTimeoutSeconds (20) must not exceed api.requestTimeoutSeconds (10)',
    );
  });

  it('metrics.auth: on by default when the API is not on loopback; off when api.auth is', () => {
    expect(resolveConfig({}).metrics).toEqual({ auth: false });
    expect(resolveConfig({ api: { host: '0.0.0.0' } }).metrics).toEqual({ auth: true });
    expect(resolveConfig({ api: { host: '0.0.0.0' }, metrics: { auth: false } }).metrics).toEqual({ auth: false });
    expect(resolveConfig({ metrics: { auth: true } }).metrics).toEqual({ auth: true });
    expect(resolveConfig({}, { MINICLOUD_METRICS_AUTH: 'true' }).metrics).toEqual({ auth: true });
    expect(resolveConfig({ api: { auth: false }, metrics: { auth: true } }).metrics).toEqual({ auth: false });
    expect(() => resolveConfig({ metrics: { auth: 'yes' } })).toThrow(/metrics\.auth: must be boolean/);
  });

  it('takes the underlay MTU, per node too, within bounds', () => {
    const c = resolveConfig({ network: { underlayMtu: 9000, underlayMtuByNode: { 'edge-1': 1500 } } }, { MINICLOUD_NETWORK_UNDERLAY_MTU: '8000' });
    expect(c.network).toMatchObject({ underlayMtu: 8000, underlayMtuByNode: { 'edge-1': 1500 } });
    expect(() => resolveConfig({ network: { underlayMtu: 600 } })).toThrow(/network\.underlayMtu/);
    expect(() => resolveConfig({ network: { underlayMtuByNode: { a: 70000 } } })).toThrow(/network\.underlayMtuByNode\.a/);
    expect(() => resolveConfig({ network: { underlayMTU: 1500 } })).toThrow(/unknown key/);
  });

  it('takes who answers DHCP, the lease and DNS servers, within bounds', () => {
    expect(resolveConfig({ network: { dhcp: 'node', dhcpLeaseSeconds: 3600, dns: ['10.0.0.53'] } }).network).toMatchObject({ dhcp: 'node', dhcpLeaseSeconds: 3600, dns: ['10.0.0.53'] });
    expect(resolveConfig({}, { MINICLOUD_NETWORK_DHCP: 'node' }).network.dhcp).toBe('node');
    expect(() => resolveConfig({ network: { dhcp: 'switch' } })).toThrow(/network\.dhcp/);
    expect(resolveConfig({ network: { broadcast: 'switch-node' } }).network.broadcast).toBe('switch-node');
    expect(() => resolveConfig({ network: { broadcast: 'flood' } })).toThrow(/network\.broadcast/);
    expect(() => resolveConfig({ network: { dhcpLeaseSeconds: 30 } })).toThrow(/network\.dhcpLeaseSeconds/);
    expect(() => resolveConfig({ network: { dns: ['10.0.0.256'] } })).toThrow(/network\.dns/);
  });

  it('applies MINICLOUD_* overrides over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-'));
    try {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ api: { port: 9000 }, vms: { backend: 'lxd' } }));
      const c = loadConfig(file, { MINICLOUD_API_PORT: '9100', MINICLOUD_API_AUTH: 'false', MINICLOUD_OPENFLOW_LISTEN: 'tcp:6653, unix:/run/mc.sock', MINICLOUD_LOG_LEVEL: 'debug' });
      expect(c.api).toEqual({ host: '127.0.0.1', port: 9100, auth: false, limits: DEFAULT_API_LIMITS });
      expect(c.openflow.listen).toEqual(['tcp:6653', 'unix:/run/mc.sock']);
      expect(c.vms.backend).toBe('lxd');
      expect(c.log.level).toBe('debug');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ api: { port: 70000 } }, {}, /api\.port: must be <= 65535/],
    [{ vms: { backend: 'kvm' } }, {}, /vms\.backend/],
    [{ apii: {} }, {}, /unknown key\(s\) apii/],
    [{ openflow: { listen: ['6653'] } }, {}, /openflow\.listen\.0/],
    [{}, { MINICLOUD_API_PORT: 'x' }, /MINICLOUD_API_PORT: 'x' is not an integer/],
    [{}, { MINICLOUD_API_AUTH: 'maybe' }, /MINICLOUD_API_AUTH/],
  ])('rejects %j %j naming the key', (raw, env, message) => {
    expect(() => resolveConfig(raw, env)).toThrow(ConfigError);
    expect(() => resolveConfig(raw, env)).toThrow(message);
  });

  it('openflow.tls: node identity and host name checks are on unless turned off (file or MINICLOUD_TLS_*)', () => {
    const files = { key: '/k.pem', cert: '/c.pem', ca: '/ca.pem' };
    expect(resolveConfig({ openflow: { tls: files } }).openflow.tls).toEqual({ ...files, requireNodeIdentity: true, verifyHostname: true });
    expect(resolveConfig({ openflow: { tls: { ...files, requireNodeIdentity: false } } }).openflow.tls?.requireNodeIdentity).toBe(false);
    const env = { MINICLOUD_TLS_KEY: '/k.pem', MINICLOUD_TLS_CERT: '/c.pem', MINICLOUD_TLS_CA: '/ca.pem', MINICLOUD_TLS_VERIFY_HOSTNAME: 'false', MINICLOUD_TLS_REQUIRE_NODE_IDENTITY: 'no' };
    expect(resolveConfig({}, env).openflow.tls).toEqual({ ...files, requireNodeIdentity: false, verifyHostname: false });
    expect(() => resolveConfig({ openflow: { tls: { ...files, requireNodeIdentity: 'yes' } } })).toThrow(/openflow\.tls\.requireNodeIdentity/);
    expect(() => resolveConfig({ openflow: { tls: { requireNodeIdentity: true } } })).toThrow(/openflow\.tls: missing/);
  });

  it('names a missing or broken file', () => {
    expect(() => loadConfig('/nonexistent/minicloud.json')).toThrow(/cannot read config file \/nonexistent\/minicloud.json/);
  });

  describe('files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'mcp-config-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string): string => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const errorOf = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    const yamlText = [
      '# a comment',
      'openflow:',
      '  listen: [tcp:6653, "unix:/run/minicloud/openflow.sock"]',
      '  datapathIds: { gw-1: "0000000000000001" }',
      'api:',
      '  host: 0.0.0.0',
      '  port: 9000',
      '  auth: true',
      'metrics: { auth: false }',
      'store: { path: /var/lib/mc/cloud.db }',
      'overlay: 10.20.0.0/16',
      'vms:',
      '  backend: lxd',
      '  nodes: { gw-1: none }',
      'log: { level: debug }',
      '',
    ].join('\n');

    it('reads YAML (.yaml, .yml) and JSON (.json) to the same configuration', () => {
      const fromYaml = loadConfig(write('c.yaml', yamlText), {});
      expect(fromYaml.openflow.listen).toEqual(['tcp:6653', 'unix:/run/minicloud/openflow.sock']);
      expect(fromYaml.openflow.datapathIds).toEqual({ 'gw-1': '0000000000000001' });
      expect(fromYaml.api).toEqual({ host: '0.0.0.0', port: 9000, auth: true, limits: DEFAULT_API_LIMITS });
      expect(fromYaml.metrics).toEqual({ auth: false });
      expect(fromYaml.store.path).toBe('/var/lib/mc/cloud.db');
      expect(fromYaml.overlay).toBe('10.20.0.0/16');
      expect(fromYaml.vms.nodes).toEqual({ 'gw-1': 'none' });
      expect(fromYaml.log.level).toBe('debug');
      expect(loadConfig(write('c.yml', yamlText), {})).toEqual(fromYaml);
      const json = {
        openflow: { listen: ['tcp:6653', 'unix:/run/minicloud/openflow.sock'], datapathIds: { 'gw-1': '0000000000000001' } },
        api: { host: '0.0.0.0', port: 9000, auth: true },
        metrics: { auth: false },
        store: { path: '/var/lib/mc/cloud.db' },
        overlay: '10.20.0.0/16',
        vms: { backend: 'lxd', nodes: { 'gw-1': 'none' } },
        log: { level: 'debug' },
      };
      expect(loadConfig(write('c.json', JSON.stringify(json, null, 2)), {})).toEqual(fromYaml);
    });

    it('tells the format by content when the extension says nothing', () => {
      expect(loadConfig(write('controller.conf', yamlText), {}).api.port).toBe(9000);
      expect(loadConfig(write('controller2.conf', '\n  {"api": {"port": 9001}}'), {}).api.port).toBe(9001);
    });

    it('takes an empty or comment-only YAML file as all defaults', () => {
      expect(loadConfig(write('empty.yaml', '# nothing yet\n'), {})).toEqual(resolveConfig({}));
    });

    it('names the line of an unknown key, a bad type, a bad value', () => {
      const file = write('bad.yaml', ['api:', '  port: "8080"', '  hostt: x', 'vms:', '  backend: kvm', 'openflow:', '  listen:', '    - tcp:6653', '    - "6653"', ''].join('\n'));
      const msg = errorOf(() => loadConfig(file, {}));
      expect(msg).toContain(`${file}:2: api.port: must be integer`);
      expect(msg).toContain(`${file}:3: api: unknown key(s) hostt`);
      expect(msg).toContain(`${file}:5: vms.backend: must be one of none, netns, lxd`);
      expect(msg).toContain(`${file}:9: openflow.listen.1: must match pattern`);
      const top = write('top.json', '{\n  "api": {},\n  "apii": {}\n}\n');
      expect(errorOf(() => loadConfig(top, {}))).toBe(`${top}:3: (top level): unknown key(s) apii`);
      const json = write('type.json', '{\n  "stats": {\n    "intervalSeconds": "fast"\n  }\n}\n');
      expect(errorOf(() => loadConfig(json, {}))).toBe(`${json}:3: stats.intervalSeconds: must be number`);
    });

    it('names the line of an api.auth: false that is refused', () => {
      const file = write('noauth.yaml', 'api:\n  host: 0.0.0.0\n  auth: false\n');
      expect(errorOf(() => loadConfig(file, {}))).toMatch(new RegExp(`^${file}:3: api\\.auth: false is refused`));
    });

    it('names the line and column of a YAML or JSON syntax error', () => {
      const yaml = write('syntax.yaml', 'api:\n  port: 8080\n  host: [127.0.0.1\nlog: {}\n');
      expect(errorOf(() => loadConfig(yaml, {}))).toMatch(new RegExp(`^${yaml}:\\d+:\\d+: not valid YAML: `));
      const dup = write('dup.yaml', 'api:\n  port: 1\n  port: 2\n');
      expect(errorOf(() => loadConfig(dup, {}))).toMatch(new RegExp(`^${dup}:3:3: not valid YAML: .*unique`));
      const json = write('syntax.json', '{\n  "api": {\n    "port": 1,\n  }\n}\n');
      expect(errorOf(() => loadConfig(json, {}))).toMatch(new RegExp(`^${json}:4:3: not valid JSON: `));
      const list = write('list.yaml', '- a\n- b\n');
      expect(errorOf(() => loadConfig(list, {}))).toBe(`${list}:1: the configuration must be a mapping of keys (an object)`);
    });

    it('lets the environment win over the file, and validates what it sets', () => {
      const file = write('env.yaml', 'api:\n  port: 9000\n  host: 10.0.0.1\nlog:\n  level: warn\n');
      const c = loadConfig(file, { MINICLOUD_API_PORT: '9100', MINICLOUD_LOG_LEVEL: 'debug', MINICLOUD_STORE_PATH: '/tmp/x.db' });
      expect(c.api).toEqual({ host: '10.0.0.1', port: 9100, auth: true, limits: DEFAULT_API_LIMITS });
      expect(c.log.level).toBe('debug');
      expect(c.store.path).toBe('/tmp/x.db');
      // An empty variable is no override.
      expect(loadConfig(file, { MINICLOUD_API_PORT: '' }).api.port).toBe(9000);
      expect(errorOf(() => loadConfig(file, { MINICLOUD_API_PORT: '70000' }))).toContain('api.port: must be <= 65535');
      // Without a file, the environment alone.
      expect(loadConfig(undefined, { MINICLOUD_API_PORT: '9200' }).api.port).toBe(9200);
    });

    it('openflow.maxConcurrentSyncs and yieldToConnections: from the file, from MINICLOUD_OPENFLOW_*, validated', () => {
      const file = write('syncs.yaml', 'openflow:\n  maxConcurrentSyncs: 8\n  yieldToConnections: false\n');
      expect(loadConfig(file, {}).openflow).toMatchObject({ maxConcurrentSyncs: 8, yieldToConnections: false });
      const env = { MINICLOUD_OPENFLOW_MAX_CONCURRENT_SYNCS: '200', MINICLOUD_OPENFLOW_YIELD_TO_CONNECTIONS: 'true' };
      expect(loadConfig(file, env).openflow).toMatchObject({ maxConcurrentSyncs: 200, yieldToConnections: true });
      expect(errorOf(() => loadConfig(write('syncs0.yaml', 'openflow:\n  maxConcurrentSyncs: 0\n'), {}))).toMatch(/syncs0\.yaml:2: openflow\.maxConcurrentSyncs: must be >= 1$/);
      expect(errorOf(() => loadConfig(file, { MINICLOUD_OPENFLOW_YIELD_TO_CONNECTIONS: 'sometimes' }))).toContain('MINICLOUD_OPENFLOW_YIELD_TO_CONNECTIONS');
    });

    it('openflow listener limits and pinning: from the file, from MINICLOUD_OPENFLOW_*, validated', () => {
      const file = write('limits.yaml', 'openflow:\n  maxConnections: 100\n  maxPendingPerAddress: 4\n  multipartMaxBytes: 1048576\n  multipartMaxParts: 10\n  multipartTimeoutSeconds: 2.5\n  pinAddresses: true\n');
      expect(loadConfig(file, {}).openflow).toMatchObject({ maxConnections: 100, maxPendingPerAddress: 4, multipartMaxBytes: 1048576, multipartMaxParts: 10, multipartTimeoutSeconds: 2.5, pinAddresses: true });
      const env = { MINICLOUD_OPENFLOW_MAX_CONNECTIONS: '7', MINICLOUD_OPENFLOW_PIN_ADDRESSES: 'false' };
      expect(loadConfig(file, env).openflow).toMatchObject({ maxConnections: 7, pinAddresses: false });
      expect(errorOf(() => loadConfig(write('limits0.yaml', 'openflow:\n  maxPendingPerAddress: 0\n'), {}))).toMatch(/limits0\.yaml:2: openflow\.maxPendingPerAddress: must be >= 1$/);
      expect(errorOf(() => loadConfig(write('limits1.yaml', 'openflow:\n  multipartMaxBytes: 10\n'), {}))).toMatch(/openflow\.multipartMaxBytes: must be >= 65536$/);
    });

    it('validates once, after the environment: a problem names the variable that set the key, else its line', () => {
      const file = write('once.yaml', 'api:\n  port: 70000\nstats:\n  intervalSeconds: 0\n');
      // The variable wins over the file's bad port; the file's other problem keeps its line.
      expect(errorOf(() => loadConfig(file, { MINICLOUD_API_PORT: '9000' }))).toBe(`${file}:4: stats.intervalSeconds: must be >= 0.1`);
      expect(errorOf(() => loadConfig(write('ok.yaml', 'api:\n  port: 9000\n'), { MINICLOUD_API_PORT: '70000' }))).toBe('MINICLOUD_API_PORT: api.port: must be <= 65535');
      // An object the environment made (only one of its required keys set) is the variable's too.
      expect(errorOf(() => loadConfig(file, { MINICLOUD_API_PORT: '9000', MINICLOUD_STATS_INTERVAL_SECONDS: '5', MINICLOUD_PROVISIONING_UNDERLAY_DEVICE: 'eth0' }))).toBe(
        'MINICLOUD_PROVISIONING_UNDERLAY_DEVICE: provisioning.underlay: missing prefixLength',
      );
      // A file value that is not an object where the variable goes stays the file's problem.
      const scalar = write('scalar.yaml', 'log: {}\napi: 5\n');
      expect(errorOf(() => loadConfig(scalar, { MINICLOUD_API_PORT: '9000' }))).toBe(`${scalar}:2: api: must be object`);
    });

    it('loads the shipped configurations: config/demo.json and docker/controller.yaml', () => {
      expect(loadConfig('config/demo.json', {}).api.host).toBe('127.0.0.1');
      const docker = loadConfig('docker/controller.yaml', {});
      expect(docker.api.host).toBe('0.0.0.0');
      expect(docker.store.path).toBe('/var/lib/minicloud/cloud.db');
    });
  });

  it('derives a stable, prefixed datapath id per node name', () => {
    expect(dpidTextForNode('host-1')).toMatch(/^4d43[0-9a-f]{12}$/);
    expect(dpidForNode('host-1')).toBe(dpidForNode('host-1'));
    expect(dpidForNode('host-1')).not.toBe(dpidForNode('host-2'));
  });
});

describe('store backend config', () => {
  it('etcd: endpoints, prefix, timeout, lease TTL, controller id, TLS; from the file or the environment', () => {
    const c = resolveConfig({ store: { backend: 'etcd', etcd: { endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'], tls: { ca: '/etc/mc/ca.pem', cert: '/etc/mc/c.pem', key: '/etc/mc/c.key' } } } });
    expect(c.store).toEqual({
      backend: 'etcd',
      path: '/var/lib/minicloud/cloud.db',
      etcd: { endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'], prefix: '/minicloud/', requestTimeoutMs: 5000, leaseTtlSeconds: 5, tls: { ca: '/etc/mc/ca.pem', cert: '/etc/mc/c.pem', key: '/etc/mc/c.key' } },
    });
    const env = resolveConfig(
      {},
      {
        MINICLOUD_STORE_BACKEND: 'etcd',
        MINICLOUD_STORE_ETCD_ENDPOINTS: 'http://127.0.0.1:2379,http://127.0.0.1:22379',
        MINICLOUD_STORE_ETCD_LEASE_TTL_SECONDS: '3',
        MINICLOUD_STORE_ETCD_CONTROLLER_ID: 'ctl-2',
      },
    );
    expect(env.store.etcd).toMatchObject({ endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:22379'], leaseTtlSeconds: 3, controllerId: 'ctl-2' });
  });

  it('refuses what would not work, saying why', () => {
    const bad = (store: unknown): string => {
      try {
        resolveConfig({ store });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ backend: 'etcd' })).toMatch(/store\.backend etcd needs store\.etcd\.endpoints/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: ['http://127.0.0.1:2379'], leaseTtlSeconds: 1 } })).toMatch(/store\.etcd\.leaseTtlSeconds/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: ['http://127.0.0.1:2379'], controllerId: 'a b' } })).toMatch(/store\.etcd\.controllerId/);
    expect(bad({ backend: 'postgres' })).toMatch(/store\.backend/);
    expect(bad({ etcd: { endpoints: ['http://127.0.0.1:2379'] } })).toMatch(/store\.etcd is set but store\.backend is sqlite/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: ['https://10.0.0.1:2379'] } })).toMatch(/https but store\.etcd\.tls\.ca is not set/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: ['http://10.0.0.1:2379'], tls: { ca: '/ca.pem' } } })).toMatch(/not every endpoint is https/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: ['https://10.0.0.1:2379'], tls: { ca: '/ca.pem', cert: '/c.pem' } } })).toMatch(/cert and store\.etcd\.tls\.key go together/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: ['10.0.0.1:2379'] } })).toMatch(/store\.etcd\.endpoints/);
    expect(bad({ backend: 'etcd', etcd: { endpoints: [] } })).toMatch(/store\.etcd\.endpoints/);
  });
});
