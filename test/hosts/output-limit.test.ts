// Command output is bounded in every executor: a command printing more than the limit on stdout or stderr is killed
// (its process group locally and in a namespace; over SSH by TERM through `timeout`, the KILL that follows, and the
// closed channel), the call rejects with ExecOutputLimitError naming the limit, nothing past the limit is buffered,
// and the executor serves the next command.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OUTPUT_BYTES, ExecOutputLimitError, type Executor } from '../../src/hosts/executor.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import { SshExecutor } from '../../src/hosts/ssh/executor.js';
import { memoryLogger } from './helpers/log.js';
import { TestSshd } from './helpers/sshd.js';

// Not `mcz-*`: the controller's exec-limit test cleans that prefix up when it starts.
const NS = 'mczx-out';
/** 600 MB: what must never be buffered. */
const HUGE = '600000000';

let sshd: TestSshd | undefined;
let work: string;
const toClose: Executor[] = [];

function removeNetns(): void {
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
}

beforeAll(async () => {
  removeNetns(); // a crashed run's
  work = mkdtempSync(join(tmpdir(), 'mcz-out-'));
  execFileSync('ip', ['netns', 'add', NS]);
  sshd = await TestSshd.start();
}, 30_000);

afterAll(async () => {
  await Promise.all(toClose.splice(0).map((e) => e.close()));
  await sshd?.stop();
  removeNetns();
  rmSync(work, { recursive: true, force: true });
});

function ssh(maxOutputBytes?: number): SshExecutor {
  const ex = new SshExecutor({
    host: '127.0.0.1',
    port: sshd!.port,
    username: 'root',
    privateKey: sshd!.clientKey,
    knownHosts: join(work, 'known_hosts'),
    connectTimeoutMs: 10_000,
    ...(maxOutputBytes !== undefined && { maxOutputBytes }),
  });
  toClose.push(ex);
  return ex;
}

function alive(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', pattern]);
    return true;
  } catch {
    return false; // pgrep exits 1: no such process
  }
}

/**
 * Waits (bounded: 15 s) for every process matching `pattern` to be gone. Match the whole command line (the shell and
 * `timeout` carry it from the start): a pattern for a later step alone (`^sleep`) may not match yet when we first look.
 */
async function gone(pattern: string): Promise<boolean> {
  for (let i = 0; i < 150 && alive(pattern); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pattern);
}

const executors: [string, () => Executor][] = [
  ['local', () => new LocalExecutor()],
  ['netns', () => new NetnsExecutor(new LocalExecutor(), NS)],
  ['ssh', () => ssh()],
];

describe.each(executors)('%s executor output limit', (kind, make) => {
  it(`kills a command printing ${HUGE} bytes on stdout, keeps memory bounded, and serves the next command`, async () => {
    const ex = make();
    const marker = `${kind === 'local' ? 36 : kind === 'netns' ? 37 : 38}.125`;
    const rssBefore = process.memoryUsage().rss;
    // After the flood the shell would sleep: it must be killed with the flood, not left behind.
    const err = await ex.run(['sh', '-c', `head -c ${HUGE} /dev/zero; sleep ${marker}`], { timeoutMs: 120_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecOutputLimitError);
    expect(err).toMatchObject({ stream: 'stdout', limitBytes: DEFAULT_MAX_OUTPUT_BYTES });
    expect((err as Error).message).toMatch(/printed more than 4 MiB \(4194304 bytes\) on stdout, the output limit: the command was killed/);
    // 600 MB were offered; what we kept is the limit, not the flood (generous: other tests share this process).
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    expect(await gone(`sleep ${marker}`)).toBe(true);
    expect(await gone(`^head -c ${HUGE} /dev/zero$`)).toBe(true);
    expect((await ex.run(['echo', 'still here'])).stdout).toBe('still here\n');
  }, 150_000);

  it('applies the limit to stderr too, and a call may set its own', async () => {
    const ex = make();
    const err = await ex.run(['sh', '-c', `head -c ${HUGE} /dev/zero >&2`], { timeoutMs: 120_000, maxOutputBytes: 100_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ExecOutputLimitError', stream: 'stderr', limitBytes: 100_000 });
    expect((err as Error).message).toContain('more than 100000 bytes on stderr');
  }, 150_000);

  it('returns output of exactly the limit, and refuses one byte more', async () => {
    const ex = make();
    const exact = await ex.run(['head', '-c', '65536', '/dev/zero'], { maxOutputBytes: 65_536 });
    expect(exact.stdout.length).toBe(65_536);
    await expect(ex.run(['head', '-c', '65537', '/dev/zero'], { maxOutputBytes: 65_536 })).rejects.toBeInstanceOf(ExecOutputLimitError);
    await expect(ex.run(['true'], { maxOutputBytes: 0 })).rejects.toThrow(/maxOutputBytes must be a positive integer/);
  }, 60_000);
});

describe('limits set on the executor', () => {
  it('take the executor-wide limit and log the kill', async () => {
    const log = memoryLogger();
    const ex = new LocalExecutor({ maxOutputBytes: 70_000, logger: log });
    await expect(ex.run(['head', '-c', '70001', '/dev/zero'])).rejects.toMatchObject({ limitBytes: 70_000, stream: 'stdout' });
    expect(log.lines.find((l) => l.msg === 'command output over the limit; killed')?.obj).toMatchObject({ limitBytes: 70_000, stream: 'stdout' });
    await expect(ssh(70_000).run(['head', '-c', '70001', '/dev/zero'])).rejects.toMatchObject({ limitBytes: 70_000 });
  }, 60_000);

  it('over SSH, a command that ignores TERM is KILLed on the node soon after (timeout -k), long before its deadline', async () => {
    const ex = ssh();
    // The shell and its sleep ignore TERM (and sleep never writes, so no SIGPIPE either): only the KILL ends them.
    const err = await ex.run(['sh', '-c', `trap "" TERM; head -c ${HUGE} /dev/zero; sleep 39.125`], { timeoutMs: 600_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecOutputLimitError);
    expect(await gone('sleep 39.125')).toBe(true); // within 15 s; the deadline was 10 minutes
    expect((await ex.run(['echo', 'ok'])).stdout).toBe('ok\n');
  }, 60_000);
});
