// Podman for the docker/ tests, as ../shared/design/lab.md says it works here: rootful, runc, raised ulimits, and
// never a network of podman's own (its default network would add a bridge and addresses to the machine's namespace).
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lab/exec.js';

let confFile: string | undefined;

async function containersConf(): Promise<string> {
  if (confFile) return confFile;
  const dir = await mkdtemp(join(tmpdir(), 'mcp-podman-'));
  confFile = join(dir, 'containers.conf');
  await writeFile(
    confFile,
    ['[containers]', 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]', '[engine]', 'runtime = "runc"', ''].join('\n'),
  );
  return confFile;
}

/** Removes the containers.conf written for this process (call last, in afterAll). */
export function removePodmanConf(): void {
  if (confFile) rmSync(join(confFile, '..'), { recursive: true, force: true });
  confFile = undefined;
}

export async function podman(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return run('podman', args, { env: { ...process.env, CONTAINERS_CONF: await containersConf() }, timeoutMs });
}

export async function podmanCompose(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return run('podman-compose', args, { env: { ...process.env, CONTAINERS_CONF: await containersConf() }, timeoutMs });
}

export async function imageExists(name: string): Promise<boolean> {
  return podman(['image', 'exists', name]).then(
    () => true,
    () => false,
  );
}

/** The machine's configured Debian mirror (deb822 `URIs:` or a sources.list `deb` line for bookworm). */
export async function debianMirror(): Promise<string> {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const uri = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\s/m.exec(text)?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

export interface BaseImages {
  /** Runtime base: Debian bookworm minbase + this machine's Node 20 laid out as the official image does. */
  readonly base: string;
  /** Build base: the runtime base + python3, make, g++ (what node:20-bookworm adds for native modules). */
  readonly build: string;
  /** Seconds spent making them in this run (0 when they were cached). */
  readonly seconds: number;
}

/**
 * Nothing can be pulled here, so the test makes its own stand-ins for node:20-bookworm-slim and node:20-bookworm.
 * They are kept between runs (named by the Node version) because making them costs a debootstrap and an apt-get
 * install of a compiler; MCP_DOCKER_FRESH_BASE=1 removes and remakes them.
 */
export async function ensureBaseImages(): Promise<BaseImages> {
  const npmVersion = (await run('npm', ['--version'])).trim();
  const key = createHash('sha256').update(`v1 ${process.version} ${npmVersion} bookworm`).digest('hex').slice(0, 12);
  const base = `localhost/mcp-node-base:${key}`;
  const build = `localhost/mcp-node-build:${key}`;
  if (process.env['MCP_DOCKER_FRESH_BASE'] === '1') await podman(['rmi', '--force', build, base]).catch(() => undefined);
  const started = performance.now();
  if (!(await imageExists(base))) await makeBase(base);
  if (!(await imageExists(build))) await makeBuild(base, build);
  return { base, build, seconds: (performance.now() - started) / 1000 };
}

async function makeBase(name: string): Promise<void> {
  const dir = await mkdtemp('/var/tmp/mcp-rootfs-');
  const root = join(dir, 'rootfs');
  try {
    await run('debootstrap', ['--variant=minbase', 'bookworm', root, await debianMirror()], { timeoutMs: 600_000 });
    // Node as the official image lays it out: /usr/local/{bin,lib/node_modules,include/node}.
    const node = await run('readlink', ['-f', process.execPath]).then((s) => s.trim());
    const prefix = join(node, '..', '..');
    await cp(node, join(root, 'usr/local/bin/node'));
    await cp(join(prefix, 'lib/node_modules/npm'), join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    await cp(join(prefix, 'include/node'), join(root, 'usr/local/include/node'), { recursive: true });
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    // The machine's CA bundle, as its npm uses it (the registry may sit behind a TLS-inspecting proxy).
    await mkdir(join(root, 'etc/ssl/certs'), { recursive: true });
    await cp('/etc/ssl/certs/ca-certificates.crt', join(root, 'etc/ssl/certs/ca-certificates.crt'));
    await mkdir(join(root, 'usr/local/etc'), { recursive: true });
    await writeFile(join(root, 'usr/local/etc/npmrc'), 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\naudit=false\n');
    for (const junk of ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/info']) {
      await rm(join(root, junk), { recursive: true, force: true });
      await mkdir(join(root, junk), { recursive: true });
    }
    await mkdir(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
    await mkdir(join(root, 'var/lib/apt/lists/partial'), { recursive: true });
    const tar = join(dir, 'rootfs.tar');
    await run('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.'], { timeoutMs: 300_000 });
    await podman(['import', '--change', 'CMD ["node"]', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tar, name], 300_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeBuild(base: string, name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-buildbase-'));
  try {
    await writeFile(
      join(dir, 'Containerfile'),
      `FROM ${base}\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*\n`,
    );
    // RUN steps need the Debian mirror; podman's own network would add a bridge to the machine's namespace.
    await podman(['build', '--network', 'host', '-t', name, dir], 900_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
