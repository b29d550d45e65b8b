// Files on a node through its executor: writes are atomic (a temporary file renamed over the target), and several
// writers of one file at once (VMs created in parallel on one node all write the same DHCP client script) each end
// with a whole file in place and leave no temporary file behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNodeFile, writeNodeFile, writeNodeFiles } from '../../src/hosts/files.js';
import { LocalExecutor } from '../../src/hosts/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mc-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeNodeFile', () => {
  it('writes, sets the mode, and reports whether the content changed', async () => {
    const exec = new LocalExecutor();
    const path = join(dir, 'sub', 'one.txt');
    expect(await writeNodeFile(exec, path, 'hello\n', '0755')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('hello\n');
    expect(statSync(path).mode & 0o777).toBe(0o755);
    expect(await writeNodeFile(exec, path, 'hello\n', '0755')).toBe(false);
    expect(await readNodeFile(exec, path)).toBe('hello\n');
  });

  it('several writers of one file at once all succeed and leave one whole file, no temporary one', async () => {
    const exec = new LocalExecutor();
    const path = join(dir, 'shared.script');
    const contents = Array.from({ length: 12 }, (_, i) => `#!/bin/sh\n# writer ${i}\n${'x'.repeat(4096)}\n`);
    const results = await Promise.allSettled(contents.map((c) => writeNodeFile(exec, path, c, '0755')));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(contents).toContain(readFileSync(path, 'utf8'));
    expect(readdirSync(dir).filter((f) => f.startsWith('shared.script'))).toEqual(['shared.script']);
  });
});

describe('writeNodeFiles', () => {
  it('writes several files in one command, each with its mode, whatever they hold', async () => {
    const exec = new LocalExecutor();
    const tricky = `#!/bin/sh\necho "$1" '$HOME' \`id\` $(id) %s %n \\ \n-- -n\n`;
    const files = [
      { path: join(dir, 'many', 'a.json'), content: '{"spec":{"name":"a"}}' },
      { path: join(dir, 'many', 'deep', 'b.script'), content: tricky, mode: '0755' },
      { path: join(dir, 'many', 'empty'), content: '' },
    ];
    let commands = 0;
    await writeNodeFiles({ target: 'local', run: (argv, o) => (commands++, exec.run(argv, o)), close: async () => undefined }, files);
    expect(commands).toBe(1);
    for (const f of files) expect(readFileSync(f.path, 'utf8')).toBe(f.content);
    expect(statSync(files[1]!.path).mode & 0o777).toBe(0o755);
    expect(statSync(files[0]!.path).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(dir, 'many')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('stops at the first failure, leaving no temporary file; refuses what it cannot pass', async () => {
    const exec = new LocalExecutor();
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    await expect(writeNodeFiles(exec, [{ path: join(dir, 'not-a-dir', 'f'), content: 'y' }])).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await expect(writeNodeFiles(exec, [{ path: join(dir, 'nul'), content: 'a\0b' }])).rejects.toThrow(/NUL/);
    await expect(writeNodeFiles(exec, [{ path: join(dir, 'm'), content: 'a', mode: '7777; rm' }])).rejects.toThrow(/mode/);
    await expect(writeNodeFiles(exec, [{ path: 'relative/../x', content: 'a' }])).rejects.toThrow();
  });
});
