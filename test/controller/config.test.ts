// The controller's configuration: defaults, environment overrides, and errors that name the key.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfig } from '../../src/controller/config.js';
import { dpidForNode, dpidTextForNode } from '../../src/controller/network.js';

describe('controller config', () => {
  it('has the documented defaults', () => {
    expect(resolveConfig({})).toEqual({
      openflow: { listen: ['tcp:6653'], connect: [], echoIntervalSeconds: 5, datapathIds: {} },
      api: { host: '127.0.0.1', port: 8080, auth: true },
      store: { path: '/var/lib/minicloud/cloud.db' },
      overlay: '192.168.20.0/22',
      stats: { intervalSeconds: 15 },
      vms: { backend: 'none', nodes: {}, stateDir: '/var/lib/minicloud/vms', netnsPrefix: 'vm-', lxdImage: 'minicloud-busybox' },
      log: { level: 'info' },
    });
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

  it('derives a stable, prefixed datapath id per node name', () => {
    expect(dpidTextForNode('host-1')).toMatch(/^4d43[0-9a-f]{12}$/);
    expect(dpidForNode('host-1')).toBe(dpidForNode('host-1'));
    expect(dpidForNode('host-1')).not.toBe(dpidForNode('host-2'));
  });
});
