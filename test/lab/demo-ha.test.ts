// `minicloud demo --ha` as a user runs it: the CLI started as a child process with a base API port of its own (the
// three APIs take it and the next two; 8080-8082 may be taken on a CI machine), each API's /readyz asked without a
// token (role and pid; exactly one leader; the pids are the controllers'), then Ctrl-C (SIGINT) and nothing left
// behind: no namespace, no process, no directory. Prefix `mcha2` (namespaces mcha2-*, VMs mcha2v-*).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { cleanupLab, namespacesWith } from '../../src/lab/lab.js';
import { waitForOutput as waitForChildOutput } from '../helpers/child-output.js';
import { waitFor } from '../helpers/wait.js';

const PREFIX = 'mcha2';
const DIR = `/tmp/minicloud-lab/${PREFIX}`;
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
let child: ChildProcess | undefined;
let out = '';

afterAll(async () => {
  const c = child;
  if (c && c.exitCode === null && c.signalCode === null) {
    // The demo stops its controllers and etcd itself on SIGINT; SIGKILL only if it does not within the bound.
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  // What a demo killed mid-way left running: its controllers and etcd members (their paths are under its directory).
  for (const pid of (await run('pgrep', ['-f', `${DIR}/`]).catch(() => '')).split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await cleanupLab(PREFIX, DIR);
}, 90_000);

const free = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A base port whose next two are free too (bounded tries). */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await Promise.all([base, base + 1, base + 2].map(free))).every(Boolean)) return base;
  }
  throw new Error('no three consecutive free ports');
}

function waitForOutput(text: string, timeoutMs: number): Promise<void> {
  return waitForChildOutput(child!, () => out, text, timeoutMs);
}

interface Ready {
  status: string;
  role?: string;
  pid?: number;
}

describe('minicloud demo --ha', () => {
  it('three APIs on the base port and the next two answer /readyz with role and pid, one leader; Ctrl-C removes everything', async () => {
    const base = await freeBase();
    const t0 = Date.now();
    child = spawn(process.execPath, [...CLI, 'demo', '--ha', '--prefix', PREFIX, '--api-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitForOutput('Ctrl-C stops the demo', 300_000);
    const upMs = Date.now() - t0;

    const urls = [base, base + 1, base + 2].map((p) => `http://127.0.0.1:${p}`);
    for (const u of urls) expect(out).toContain(`${u}/`);
    // As a user would, without a token.
    const ready = await waitFor(
      'one leader among the three',
      () => Promise.all(urls.map(async (u) => (await (await fetch(`${u}/readyz`, { signal: AbortSignal.timeout(5000) })).json()) as Ready)),
      (rs) => rs.filter((r) => r.role === 'leader').length === 1 && rs.every((r) => r.status === 'ready'),
      30_000,
      500,
    );
    expect(ready.map((r) => r.role).sort()).toEqual(['follower', 'follower', 'leader']);
    const pids = ready.map((r) => r.pid!);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) {
      // The pid is a controller of this demo (the one a user would kill -9 to watch a failover).
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline).toContain('controller');
      expect(cmdline.some((a) => a.startsWith(`${DIR}/`))).toBe(true);
    }
    // Nothing but status, pid and role without a token (docs/api.md, /readyz).
    for (const r of ready) expect(Object.keys(r).sort()).toEqual(['pid', 'role', 'status']);
    const token = /MINICLOUD_TOKEN=(\S+)/.exec(out)?.[1];
    expect(token).toBeTruthy();
    const detailed = (await (await fetch(`${urls[0]}/readyz`, { headers: { authorization: `Bearer ${token}` } })).json()) as Ready & { id?: string; leader?: string };
    expect(detailed).toMatchObject({ id: 'controller-0', leader: expect.stringMatching(/^controller-[012]$/) });

    const t1 = Date.now();
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    console.log(`demo --ha: up in ${upMs} ms (APIs ${base}-${base + 2}), stopped ${Date.now() - t1} ms after SIGINT (exit ${code})`);
    expect(code).toBe(0);
    expect(out).toContain('everything it made is removed');
    expect(await namespacesWith(`${PREFIX}-`, `${PREFIX}v-`)).toEqual([]);
    expect(existsSync(DIR)).toBe(false);
    // No controller, etcd member or node daemon left: all of them run with paths under the demo's directory.
    expect(await run('pgrep', ['-f', `${DIR}/`]).catch(() => '')).toBe('');
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    for (const u of urls) await expect(fetch(`${u}/readyz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  }, 420_000);
});
