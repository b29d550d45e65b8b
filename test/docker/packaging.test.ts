// packaging/systemd: the unit is valid for systemd and runs what package.json installs as `minicloud`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = normalize(join(import.meta.dirname, '..', '..'));
const UNIT = join(ROOT, 'packaging', 'systemd', 'minicloud.service');

describe('packaging/systemd/minicloud.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const value = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];

  it('passes systemd-analyze verify', () => {
    // Exit 0 and nothing on stderr: unknown keys, bad values and a missing ExecStart binary are all reported there.
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', cwd: '/', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs the package bin with the documented configuration file, as its own user, with its state directory', () => {
    const bin = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['minicloud'];
    expect(value('ExecStart')).toBe(`/usr/bin/node /opt/minicloud/${bin} controller --config /etc/minicloud/controller.yaml`);
    expect(value('User')).toBe('minicloud');
    expect(value('StateDirectory')).toBe('minicloud');
    expect(value('RestartPreventExitStatus')).toBe('2'); // ConfigError's exit code (src/cli/controller.ts)
    expect(value('EnvironmentFile')).toBe('-/etc/default/minicloud');
  });
});
