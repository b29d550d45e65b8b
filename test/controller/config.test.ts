// The controller's configuration: defaults, YAML and JSON files, environment overrides, and errors that name the key
// and its line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfig } from '../../src/controller/config.js';
import { dpidForNode, dpidTextForNode } from '../../src/controller/network.js';

describe('controller config', () => {
  it('has the documented defaults', () => {
    expect(resolveConfig({})).toEqual({
      openflow: { listen: ['tcp:6653'], connect: [], echoIntervalSeconds: 5, datapathIds: {}, maxConcurrentSyncs: 64, yieldToConnections: true },
      api: { host: '127.0.0.1', port: 8080, auth: true },
      store: { path: '/var/lib/minicloud/cloud.db' },
      overlay: '192.168.20.0/22',
      stats: { intervalSeconds: 15 },
      vms: { backend: 'none', nodes: {}, stateDir: '/var/lib/minicloud/vms', netnsPrefix: 'vm-', lxdImage: 'minicloud-busybox' },
      log: { level: 'info' },
      provisioning: { enabled: false, controller: [], stateDir: '/var/lib/minicloud' },
      network: { underlayMtu: 1500, underlayMtuByNode: {} },
    });
  });

  it('takes the underlay MTU, per node too, within bounds', () => {
    const c = resolveConfig({ network: { underlayMtu: 9000, underlayMtuByNode: { 'edge-1': 1500 } } }, { MINICLOUD_NETWORK_UNDERLAY_MTU: '8000' });
    expect(c.network).toEqual({ underlayMtu: 8000, underlayMtuByNode: { 'edge-1': 1500 } });
    expect(() => resolveConfig({ network: { underlayMtu: 600 } })).toThrow(/network\.underlayMtu/);
    expect(() => resolveConfig({ network: { underlayMtuByNode: { a: 70000 } } })).toThrow(/network\.underlayMtuByNode\.a/);
    expect(() => resolveConfig({ network: { underlayMTU: 1500 } })).toThrow(/unknown key/);
  });

  it('applies MINICLOUD_* overrides over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-'));
    try {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ api: { port: 9000 }, vms: { backend: 'lxd' } }));
      const c = loadConfig(file, { MINICLOUD_API_PORT: '9100', MINICLOUD_API_AUTH: 'false', MINICLOUD_OPENFLOW_LISTEN: 'tcp:6653, unix:/run/mc.sock', MINICLOUD_LOG_LEVEL: 'debug' });
      expect(c.api).toEqual({ host: '127.0.0.1', port: 9100, auth: false });
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
      '  auth: false',
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
      expect(fromYaml.api).toEqual({ host: '0.0.0.0', port: 9000, auth: false });
      expect(fromYaml.store.path).toBe('/var/lib/mc/cloud.db');
      expect(fromYaml.overlay).toBe('10.20.0.0/16');
      expect(fromYaml.vms.nodes).toEqual({ 'gw-1': 'none' });
      expect(fromYaml.log.level).toBe('debug');
      expect(loadConfig(write('c.yml', yamlText), {})).toEqual(fromYaml);
      const json = {
        openflow: { listen: ['tcp:6653', 'unix:/run/minicloud/openflow.sock'], datapathIds: { 'gw-1': '0000000000000001' } },
        api: { host: '0.0.0.0', port: 9000, auth: false },
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
      expect(c.api).toEqual({ host: '10.0.0.1', port: 9100, auth: true });
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
