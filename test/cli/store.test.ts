// `minicloud store backup|restore|check` against a running controller process's real SQLite store.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupStore, checkStoreFile, restoreStore } from '../../src/cli/store.js';
import { resolveConfig } from '../../src/daemon/config.js';
import { startServer, type Server } from '../../src/daemon/server.js';
import { hashToken } from '../../src/api/tokens.js';
import { openSqliteStore, type SqliteStore } from '../../src/topology/sqlite-store.js';

const exec = promisify(execFile);
let dir: string;
let server: Server | undefined;

const start = async (): Promise<Server> => {
  const config = resolveConfig({
    openflow: { listen: [`unix:${join(dir, 'of.sock')}`] },
    api: { host: '127.0.0.1', port: 0, auth: false },
    store: { path: join(dir, 'cloud.db') },
    stats: { intervalSeconds: 60 },
    log: { level: 'warn' },
  });
  return startServer(config, { logger: pino({ level: 'warn' }), processMetrics: false, onNewToken: () => undefined });
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-store-'));
  server = await start();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('minicloud store', () => {
  it('backs up online, refuses to restore under a running controller, restores once it is stopped', async () => {
    const s = server!;
    await s.service.addNode({ name: 'host-1', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 4, memoryMiB: 4096 });
    await s.service.createSubnet({ name: 'a' });
    const backup = join(dir, 'backup.db');

    // Online: writes keep going while the backup runs.
    const writes = Promise.all(Array.from({ length: 20 }, (_, i) => s.service.addNode({ name: `busy-${i}`, roles: ['compute'], underlayIp: `10.0.1.${i + 1}`, cpus: 2, memoryMiB: 1024 })));
    const started = performance.now();
    const r = await backupStore(s.config.store.path, backup);
    await writes;
    console.log(`online backup: ${r.bytes} bytes, schema v${r.schemaVersion}, ${(performance.now() - started).toFixed(0)} ms`);
    expect(r.schemaVersion).toBeGreaterThanOrEqual(1);
    expect(checkStoreFile(backup)).toBe(r.schemaVersion);
    await expect(backupStore(s.config.store.path, backup)).rejects.toThrow(/exists \(use --force/);

    await s.service.createSubnet({ name: 'after-backup' });
    await expect(restoreStore(backup, s.config.store.path)).rejects.toThrow(/in use \(is the controller running\?\)/);
    expect(s.service.listSubnets().map((x) => x.name)).toEqual(['a', 'after-backup']);

    await s.stop();
    server = undefined;
    const restored = await restoreStore(backup, join(dir, 'cloud.db'));
    expect(restored.previous).toBe(join(dir, 'cloud.db.pre-restore'));
    expect(existsSync(restored.previous!)).toBe(true);

    server = await start();
    expect(server.service.listSubnets().map((x) => x.name)).toEqual(['a']);
    expect(server.service.getNode('host-1').name).toBe('host-1');
    expect((server.store as SqliteStore).integrityCheck()).toEqual([]);
  });

  it('a backup is 0600 whatever the umask, and holds token hashes, never a token secret', async () => {
    const s = server!;
    const secrets = [(await s.tokens.create('backup-viewer', 'viewer')).token, (await s.tokens.create('backup-admin', 'admin')).token];
    if (s.token !== undefined) secrets.push(s.token);
    const backup = join(dir, 'secret-check.db');
    const umask = process.umask(0o000);
    try {
      await backupStore(s.config.store.path, backup);
    } finally {
      process.umask(umask);
    }
    expect((statSync(backup).mode & 0o777).toString(8)).toBe('600');
    expect(existsSync(`${backup}-journal`)).toBe(false);
    const bytes = readFileSync(backup).toString('latin1');
    for (const secret of secrets) {
      expect(bytes).not.toContain(secret);
      expect(bytes).not.toContain(secret.slice(-32));
      expect(bytes).toContain(hashToken(secret));
    }
    // A restore writes the store the same way.
    const restored = join(dir, 'restored.db');
    await restoreStore(backup, restored);
    expect((statSync(restored).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses files that are not sound stores', async () => {
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'not a database at all, just text '.repeat(200));
    expect(() => checkStoreFile(junk)).toThrow(/junk\.db (cannot be opened as SQLite|is not a readable SQLite database)/);
    await expect(restoreStore(junk, join(dir, 'other.db'))).rejects.toThrow(/junk\.db/);
    expect(existsSync(join(dir, 'other.db'))).toBe(false);
    expect(() => checkStoreFile(join(dir, 'missing.db'))).toThrow(/no such file/);
  });

  it('refuses a store whose rows break its foreign keys', () => {
    const file = join(dir, 'orphan.db');
    openSqliteStore(file).close();
    const db = new Database(file);
    db.pragma('foreign_keys = OFF');
    db.prepare(
      `INSERT INTO vms (name, instance, subnet, node, gateway, flavor, cpus, memory_mib, image, ip, mac, port, state, created_at)
       VALUES ('orphan', 'orphan', 'no-such-subnet', 'no-such-node', 'no-such-node', 'small', 1, 256, 'busybox', '10.9.9.9', '02:00:00:00:09:09', 'tap9', 'running', 'now')`,
    ).run();
    db.close();
    expect(() => checkStoreFile(file)).toThrow(/orphan\.db fails SQLite's integrity check: foreign key violation: .*"table":"vms"/);
  });

  it('works as the minicloud command, taking store.path from --config', async () => {
    const config = join(dir, 'controller.yaml');
    writeFileSync(config, `store:\n  path: ${join(dir, 'cloud.db')}\n`);
    const out = join(dir, 'cli-backup.db');
    const cli = (...args: string[]) => exec('npx', ['tsx', 'src/cli/main.ts', 'store', ...args], { timeout: 60_000, env: { ...process.env, MINICLOUD_STORE_PATH: '' } });
    const { stdout } = await cli('backup', out, '--config', config, '--format', 'sqlite');
    expect(stdout).toMatch(new RegExp(`^backed up \\d+ bytes \\(schema v\\d+\\) to ${out} in \\d+\\.\\d\\d s\\n$`));
    expect((await cli('check', out)).stdout).toMatch(/: ok \(schema v\d+\)/);
    await expect(cli('restore', out, '--store', join(dir, 'cloud.db'))).rejects.toMatchObject({ stderr: expect.stringMatching(/in use/) });
  }, 120_000);
});
