// `vm exec` through the real API and the netns backend: a command printing 600 MB is killed at the output limit and
// answered with a small 400 saying so, the controller's memory stays bounded, and it answers the next request.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi } from '../../src/lab/cloud.js';
import { startLabController, vmNetns, type LabController } from './lab.js';

const PREFIX = 'mcz';
const NODES = [
  { name: 'mcz-gw', roles: ['gateway'], underlayIp: '10.0.0.1' },
  { name: 'mcz-c1', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 4, memoryMiB: 4096 },
  { name: 'mcz-sw', roles: ['switch'], underlayIp: '10.0.0.100' },
] as const;
/** The default `vms.execMaxOutputBytes`. */
const LIMIT = 1024 * 1024;

let lab: LabController | undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const api = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; json: any }> => callApi(lab!.server, method, url, body);
const exec = (command: string[]) => api('POST', '/api/v1/vms/big/exec', { command });

function alive(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', pattern]);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  lab = await startLabController(PREFIX, NODES);
  expect((await api('POST', '/api/v1/subnets', { name: 'net' })).status).toBe(201);
  const vm = await api('POST', '/api/v1/vms', { name: 'big', subnet: 'net', flavor: 'tiny', image: 'img' });
  expect(vm.status, JSON.stringify(vm.json)).toBe(201);
}, 120_000);

afterAll(async () => {
  await lab?.stop();
}, 60_000);

describe('vm exec output limit (netns backend, real API)', () => {
  it('answers a 600 MB command with a 400 naming the limit, kills it, and serves the next request', async () => {
    const rssBefore = process.memoryUsage().rss;
    const res = await exec(['sh', '-c', 'head -c 600000000 /dev/zero; sleep 40.125']);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'invalid', field: 'command' });
    expect(res.json.error.message).toBe(
      `command: it printed more than ${LIMIT} bytes on stdout (vms.execMaxOutputBytes) and was killed; print less, e.g. through '| head -c N'`,
    );
    expect(JSON.stringify(res.json).length).toBeLessThan(2_000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    for (let i = 0; i < 100 && alive('^sleep 40.125$'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive('^sleep 40.125$')).toBe(false);
    // Inside the VM's namespace, nothing of it is left.
    expect(execFileSync('ip', ['netns', 'pids', vmNetns(PREFIX, 'big')]).toString().trim()).toBe('');

    expect((await api('GET', '/api/v1/vms/big')).json.vm.state).toBe('running');
    const next = await exec(['echo', 'still here']);
    expect(next).toMatchObject({ status: 200, json: { exitCode: 0, stdout: 'still here\n', stderr: '' } });
  }, 120_000);

  it('returns output up to the limit, and stderr is bounded the same way', async () => {
    const full = await exec(['head', '-c', String(LIMIT), '/dev/zero']);
    expect(full.status).toBe(200);
    expect(full.json.stdout.length).toBe(LIMIT);
    const err = await exec(['sh', '-c', 'head -c 600000000 /dev/zero >&2']);
    expect(err.status).toBe(400);
    expect(err.json.error.message).toContain('on stderr');
    expect((await api('GET', '/healthz')).status).toBe(200);
  }, 120_000);
});
