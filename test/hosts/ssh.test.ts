// The SSH executor against a real sshd on 127.0.0.1 (its own host key, config and authorized key).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExecError, ExecTimeoutError } from '../../src/hosts/executor.js';
import { HostKeyMismatchError } from '../../src/hosts/ssh/known-hosts.js';
import { SshConnectError, SshExecutor, type SshExecutorOptions } from '../../src/hosts/ssh/executor.js';
import { memoryLogger } from './helpers/log.js';
import { TestSshd } from './helpers/sshd.js';
import { NASTY_STRINGS } from './helpers/nasty.js';

let sshd: TestSshd;
let work: string;
const open: SshExecutor[] = [];

function executor(over: Partial<SshExecutorOptions> = {}): SshExecutor {
  const ex = new SshExecutor({
    host: '127.0.0.1',
    port: sshd.port,
    username: 'root',
    privateKey: sshd.clientKey,
    knownHosts: join(work, 'known_hosts'),
    connectTimeoutMs: 5_000,
    ...over,
  });
  open.push(ex);
  return ex;
}

/** Runs `printf '%s\0' ARGS...` remotely and splits the output back into arguments. */
async function echoArgs(ex: SshExecutor, args: readonly string[]): Promise<string[]> {
  const { stdout } = await ex.run(['printf', '%s\\0', ...args]);
  return stdout.split('\0').slice(0, -1);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mc-ssh-test-'));
  sshd = await TestSshd.start();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

afterAll(async () => {
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('SSH executor against a real sshd', () => {
  it('pins the host key on first contact, then accepts only that key', async () => {
    const log = memoryLogger();
    const first = executor({ logger: log });
    expect((await first.run(['id', '-u'])).stdout.trim()).toBe('0');
    const pinned = readFileSync(join(work, 'known_hosts'), 'utf8');
    expect(pinned).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 AAAA\\S+\\n$`));
    expect(log.lines.some((l) => l.msg === 'ssh host key pinned on first contact')).toBe(true);
    // OpenSSH reads our file and computes the same fingerprint as the server's key.
    const listed = execFileSync('ssh-keygen', ['-l', '-f', join(work, 'known_hosts')]).toString();
    expect(listed).toContain(sshd.hostFingerprint());

    const second = executor();
    expect((await second.run(['echo', 'again'])).stdout).toBe('again\n');
    expect(readFileSync(join(work, 'known_hosts'), 'utf8')).toBe(pinned);
  });

  it('refuses a changed host key with an error naming the host and both fingerprints', async () => {
    const before = executor();
    await before.run(['true']);
    const oldFp = sshd.hostFingerprint();
    const pinned = readFileSync(join(work, 'known_hosts'), 'utf8');
    await sshd.restart({ newHostKey: true });
    const newFp = sshd.hostFingerprint();
    expect(newFp).not.toBe(oldFp);

    const err = await executor().run(['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const msg = (err as Error).message;
    expect(msg).toContain(`[127.0.0.1]:${sshd.port}`);
    expect(msg).toContain(`pinned ${oldFp}`);
    expect(msg).toContain(`offered ${newFp}`);
    // The executor that was connected before reconnects after the drop, and is refused the same way.
    await expect(before.run(['true'])).rejects.toBeInstanceOf(HostKeyMismatchError);
    expect(readFileSync(join(work, 'known_hosts'), 'utf8')).toBe(pinned);

    // Re-pin deliberately (an operator removing the line) so the other tests can go on.
    rmSync(join(work, 'known_hosts'));
    await executor().run(['true']);
  });

  it('round-trips every argument byte for byte through the remote shell', async () => {
    const ex = executor();
    expect(await echoArgs(ex, NASTY_STRINGS)).toEqual(NASTY_STRINGS);
    // Random strings too (the wide property run is in quote.test.ts against sh and bash; sshd is slow, so batch).
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 40 }), async (args) => {
        expect(await echoArgs(ex, args)).toEqual(args);
      }),
      { numRuns: 3 },
    );
  });

  it('never executes injected text: a marker file is not created', async () => {
    const ex = executor();
    const marker = join(work, 'INJECTED');
    const payloads = [
      `; touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `'; touch ${marker}; '`,
      `"; touch ${marker}; "`,
      `x\ntouch ${marker}`,
      `| touch ${marker}`,
      `&& touch ${marker}`,
      `-e touch ${marker}`,
    ];
    expect(await echoArgs(ex, payloads)).toEqual(payloads);
    // As the command word too: it is one (nonexistent) program name, not a line to run.
    await expect(ex.run([`touch ${marker}`])).rejects.toBeInstanceOf(ExecError);
    await expect(ex.run([`x; touch ${marker}`])).rejects.toBeInstanceOf(ExecError);
    expect(existsSync(marker)).toBe(false);
  });

  it('reports exit codes, honours okCodes and passes standard input', async () => {
    const ex = executor();
    const err = await ex.run(['sh', '-c', 'echo oops >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).code).toBe(3);
    expect((err as ExecError).stderr).toBe('oops\n');
    expect((await ex.run(['sh', '-c', 'exit 3'], { okCodes: [0, 3] })).code).toBe(3);
    const input = 'line 1\nwith $(dollar) and `ticks`\n\u00e9\n';
    expect((await ex.run(['cat'], { input })).stdout).toBe(input);
  });

  it('times a command out and kills it on the node', async () => {
    const ex = executor();
    const t0 = Date.now();
    await expect(ex.run(['sleep', '31.25'], { timeoutMs: 400 })).rejects.toBeInstanceOf(ExecTimeoutError);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const alive = () => {
      try {
        execFileSync('pgrep', ['-f', '^sleep 31.25$']);
        return true;
      } catch {
        return false; // pgrep exits 1: no such process
      }
    };
    for (let i = 0; i < 30 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    expect((await ex.run(['echo', 'still usable'])).stdout).toBe('still usable\n');
  });

  it('gives up connecting after connectTimeoutMs to a server that never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const ex = executor({ port, connectTimeoutMs: 500 });
      const t0 = Date.now();
      await expect(ex.run(['true'])).rejects.toBeInstanceOf(SshConnectError);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('shares one connection between concurrent commands and logs each one', async () => {
    const log = memoryLogger();
    const ex = executor({ logger: log, maxChannels: 4 });
    for (let i = 0; i < 40 && sshd.connectionPids().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => ex.run(['sh', '-c', 'sleep 0.1; echo $0', `n${i}`])));
    expect(outs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: 12 }, (_, i) => `n${i}`));
    expect(sshd.connectionPids()).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === 'ssh connected')).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === 'command start')).toHaveLength(12);
    const done = log.lines.filter((l) => l.msg === 'command done');
    expect(done).toHaveLength(12);
    expect(done[0]!.obj).toMatchObject({ target: `ssh:root@127.0.0.1:${sshd.port}`, code: 0 });
    expect(done[0]!.obj['argv']).toEqual(expect.arrayContaining(['sh', '-c']));
  });

  it('reconnects after the connection drops', async () => {
    const log = memoryLogger();
    const ex = executor({ logger: log });
    await ex.run(['true']);
    sshd.dropConnections();
    await new Promise((r) => setTimeout(r, 100));
    expect((await ex.run(['echo', 'back'])).stdout).toBe('back\n');
    expect(log.lines.filter((l) => l.msg === 'ssh connected')).toHaveLength(2);
  });
});
