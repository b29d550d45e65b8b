// The local and namespace executors: exit codes, okCodes, stdin, timeouts (the whole process group dies), logging,
// environment, and that a namespace executor really runs inside its namespace.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecError, ExecTimeoutError } from '../../src/hosts/executor.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import { memoryLogger } from './helpers/log.js';

const NS = 'mche-ns';

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
});

afterAll(() => {
  execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
});

describe('local executor', () => {
  it('returns output and code, honours okCodes, passes stdin, and logs every command', async () => {
    const log = memoryLogger();
    const ex = new LocalExecutor({ logger: log });
    expect(await ex.run(['echo', 'hi'])).toEqual({ stdout: 'hi\n', stderr: '', code: 0 });
    const err = await ex.run(['sh', '-c', 'echo bad >&2; exit 7']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect(err).toMatchObject({ code: 7, stderr: 'bad\n', target: 'local' });
    expect((err as Error).message).toContain('exited 7: bad');
    expect((await ex.run(['sh', '-c', 'exit 7'], { okCodes: [7] })).code).toBe(7);
    expect((await ex.run(['wc', '-c'], { input: Buffer.from([1, 2, 3]) })).stdout.trim()).toBe('3');
    await expect(ex.run(['/nonexistent/binary'])).rejects.toThrow(/ENOENT/);
    expect(log.lines.filter((l) => l.msg === 'command start')).toHaveLength(5);
    expect(log.lines.filter((l) => l.msg === 'command done')).toHaveLength(3);
    expect(log.lines.filter((l) => l.msg === 'command failed')).toHaveLength(1);
    expect(log.lines.find((l) => l.msg === 'command failed')?.obj).toMatchObject({ argv: ['sh', '-c', 'echo bad >&2; exit 7'], code: 7 });
  });

  it('kills a command that overruns its timeout, children included', async () => {
    const ex = new LocalExecutor();
    const t0 = Date.now();
    await expect(ex.run(['sh', '-c', 'sleep 32.75 & sleep 32.75; wait'], { timeoutMs: 300 })).rejects.toBeInstanceOf(ExecTimeoutError);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(() => execFileSync('pgrep', ['-f', '^sleep 32.75$'])).toThrow();
  });
});

describe('namespace executor', () => {
  it('runs inside the namespace with the given environment', async () => {
    const ex = new NetnsExecutor(new LocalExecutor(), NS, { env: { OVS_RUNDIR: '/tmp/x y' } });
    expect(ex.target).toBe(`netns:${NS}`);
    expect((await ex.run(['ip', '-o', 'link', 'show', 'probe0'])).stdout).toContain('probe0');
    expect((await ex.run(['printenv', 'OVS_RUNDIR'])).stdout).toBe('/tmp/x y\n');
    await expect(new LocalExecutor().run(['ip', 'link', 'show', 'probe0'])).rejects.toBeInstanceOf(ExecError);
  });
});
