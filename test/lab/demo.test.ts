// `minicloud demo` as a user runs it: started as a child process, the printed commands run through the CLI, then
// Ctrl-C (SIGINT) and nothing left behind. Prefix `mcld` (namespaces mcld-*, VMs mcldv-*), any free API port, no tcp
// OpenFlow listener, so it can run beside other tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { cleanupLab, namespacesWith } from '../../src/lab/lab.js';
import { waitForOutput as waitForChildOutput } from '../helpers/child-output.js';

const PREFIX = 'mcld';
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
let child: ChildProcess | undefined;
let out = '';

/**
 * The README's walkthrough: every `minicloud` line of the fenced block after the walkthrough marker, as argv; a line
 * whose comment says "refused" is a ping that a security group must stop (it exits non-zero, 0 replies).
 */
function readmeWalkthrough(): (string[] & { refused?: boolean })[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const at = readme.indexOf('<!-- walkthrough');
  if (at < 0) throw new Error('README.md has no walkthrough marker');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  return block
    .split('\n')
    .filter((l) => l.startsWith('minicloud '))
    .map((l) => {
      const argv: string[] & { refused?: boolean } = l.replace(/#.*$/, '').trim().split(/\s+/).slice(1).map((a) => a.replace(/^mcd-/, `${PREFIX}-`));
      if (/#.*\brefused\b/.test(l)) argv.refused = true;
      return argv;
    });
}

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await cleanupLab(PREFIX, `/tmp/minicloud-lab/${PREFIX}`);
}, 60_000);

function waitForOutput(text: string, timeoutMs: number): Promise<void> {
  return waitForChildOutput(child!, () => out, text, timeoutMs);
}

describe('minicloud demo', () => {
  it('starts, prints what to try (which works through the CLI), and Ctrl-C removes everything', async () => {
    const t0 = Date.now();
    child = spawn(process.execPath, [...CLI, 'demo', '--prefix', PREFIX, '--api-port', '0', '--openflow', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitForOutput('Ctrl-C stops the demo', 120_000);
    const upMs = Date.now() - t0;

    // The `export` line's (the admin token); team-b's member token is printed on a line of its own.
    const exported = /^ {2}export (.+)$/m.exec(out)?.[1] ?? '';
    const env = Object.fromEntries([...exported.matchAll(/\b(MINICLOUD_(?:API|TOKEN))=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    expect(env['MINICLOUD_API']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env['MINICLOUD_TOKEN']).toBeTruthy();
    expect(out).toContain(`UI and API: ${env['MINICLOUD_API']}/`);
    const commands = out.split('\n').filter((l) => l.startsWith('  minicloud ')).map((l) => l.trim().split(/\s+/).slice(1));
    expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual(['vm exec', 'vm exec', `flows ${PREFIX}-c1`, 'vm create']);
    const results: string[] = [];
    for (const argv of commands) {
      const stdout = await run(process.execPath, [...CLI, ...argv], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
      results.push(stdout);
    }
    expect(results[0]).toMatch(/3 packets transmitted, 3 received/);
    // results[1]: the 5 MiB download from web-2 on the other node; `vm exec` exits with wget's code, so it completed.
    expect(results[2]).toMatch(/table=0.*goto_table/);
    expect(results[3]).toMatch(/vm web-3 running on/);

    // The second project: its member token (printed with the line to try) sees its VM only.
    const member = /^ {2}MINICLOUD_TOKEN=(\S+) minicloud (vm list)\b/m.exec(out);
    expect(member, out).not.toBeNull();
    const memberList = await run(process.execPath, [...CLI, ...member![2]!.split(' ')], { env: { ...process.env, ...env, MINICLOUD_TOKEN: member![1]! }, timeoutMs: 60_000 });
    expect(memberList).toContain('b-web-1');
    expect(memberList).not.toMatch(/^web-1\s/m);
    // team-b overlaps default: b-web-1 has web-1's very address (the welcome names both).
    const ipIn = (vm: string): string | undefined => new RegExp(`(?<![\\w-])${vm} \\((\\d+\\.\\d+\\.\\d+\\.\\d+)`).exec(out)?.[1];
    expect(ipIn('web-1')).toBe('192.168.20.2');
    expect(ipIn('b-web-1')).toBe(ipIn('web-1'));

    // The README's walkthrough, line by line, against this demo (its node names carry the test's prefix).
    const walkthrough = readmeWalkthrough();
    console.log(`demo: up in ${Math.round(upMs / 1000)} s; printed commands and member list done at +${Math.round((Date.now() - t0) / 1000)} s`);
    expect(walkthrough.length).toBeGreaterThanOrEqual(8);
    for (const argv of walkthrough) {
      // Each command's time, as it goes: what the test's bound is made of (and where a slow run spent it).
      console.log(`demo: +${Math.round((Date.now() - t0) / 1000)} s: minicloud ${argv.join(' ')}`);
      if (argv.refused) {
        const refused = await run(process.execPath, [...CLI, ...argv], { env: { ...process.env, ...env }, timeoutMs: 60_000 }).then(
          (o) => ({ ok: true, stdout: o }),
          (e: { stdout?: string }) => ({ ok: false, stdout: e.stdout ?? '' }),
        );
        expect(refused, argv.join(' ')).toMatchObject({ ok: false, stdout: expect.stringMatching(/packets transmitted, 0 (packets )?received/) });
        continue;
      }
      const stdout = await run(process.execPath, [...CLI, ...argv], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
      if (argv.includes('exec') && argv.includes('ping')) expect(stdout, argv.join(' ')).toMatch(/3 packets transmitted, 3 (packets )?received/);
      if (argv[0] === 'flows') expect(stdout).toMatch(/table=10,/);
      if (argv[0] === 'datapaths') expect(stdout).toMatch(new RegExp(`${PREFIX}-c1`));
    }
    console.log(`demo: the README walkthrough's ${walkthrough.length} commands ran`);

    const t1 = Date.now();
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
    console.log(`demo: up in ${upMs} ms, the four printed commands ran, stopped ${Date.now() - t1} ms after SIGINT (exit ${code})`);
    expect(code).toBe(0);
    expect(out).toContain('everything it made is removed');
    expect(await namespacesWith(`${PREFIX}-`, `${PREFIX}v-`)).toEqual([]);
    expect(existsSync(`/tmp/minicloud-lab/${PREFIX}`)).toBe(false);
    // No daemon of the demo's nodes (ovsdb-server, ovs-vswitchd, dnsmasq all run with paths under its directory).
    expect(await run('pgrep', ['-f', `/tmp/minicloud-lab/${PREFIX}/`]).catch(() => '')).toBe('');
    // Bounded by the CLI runs: about 30 of them (the printed lines and the walkthrough), each a new node process
    // loading the CLI through tsx: 12-20 s each at a load average of 15 on this 2-core machine, 510 s in all.
  }, 720_000);
});
