// docker/Dockerfile built with podman from a locally made base (nothing can be pulled here), run in a network
// namespace of the test's own: /healthz answers, the HEALTHCHECK passes, it runs as non-root with the store on the
// mounted volume and the configuration from a mounted YAML file, and a real OVS in that namespace connects to it
// over OpenFlow (tcp) and gets its node's pipeline. docker/ovs-node, in a second namespace of ours, does the same
// through its userspace underlay (br-phy). docker/compose.yaml parses with podman-compose.
//
// Podman never gets a network of its own (its default would add a bridge and addresses to the machine's namespace):
// builds use the host network (RUN steps need the npm registry and the Debian mirror), containers join our namespace.
//
// Time: making the two base images (debootstrap + apt-get of a compiler) took 347 s here and is done once; they
// are kept between runs (see podman.ts). better-sqlite3 has no prebuilt binary reachable here, and compiling it from
// source made a cold build take 14 min on this 2-core machine. So, unless MCP_DOCKER_FROM_SOURCE=1, the build gets
// an npm cache holding this machine's own compiled better-sqlite3 as the prebuilt tarball prebuild-install would
// have downloaded (same version, Node ABI, glibc and arch: Debian 12, x64): the same code path as a build with
// internet access. Kept between runs as caches, like the base images: the Dockerfile's `deps` stage (tagged by the
// lock file) and the OVS node image (tagged by its files); everything else the run builds is removed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpidTextForNode } from '../../src/daemon/node-pipelines.js';
import { run } from '../../src/lab/exec.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { until } from '../helpers/wait.js';
import { ensureBaseImages, podman, podmanCompose, removePodmanConf, type BaseImages } from './podman.js';

const ROOT = normalize(join(import.meta.dirname, '..', '..'));
const NS = 'mcp-dk';
const NODE = 'mcp-node-1';
const IMAGE = `localhost/mcp-minicloud:test-${process.pid}`;
const CONTAINER = `mcp-dk-ctl-${process.pid}`;
/** The containerised OVS node (docker/ovs-node) gets a namespace of its own, wired to the controller's by a veth. */
const NODE_NS = 'mcp-dkn';
const NODE2 = 'mcp-node-2';
const OVS_IMAGE = `localhost/mcp-ovs-node:test-${process.pid}`;
const OVS_CONTAINER = `mcp-dkn-ovs-${process.pid}`;
const UID = 10001;

let dir: string;
let bases: BaseImages;
let ovs: OvsInstance | undefined;
let containerStarted = false;
let ovsContainerStarted = false;

/** HTTP inside our namespace (the container shares it), so nothing is reachable from the machine's own. */
async function http(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const args = ['-sS', '-m', '10', '-o', '-', '-w', '\n%{http_code}', '-X', method, `http://127.0.0.1:8080${path}`];
  if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
  const out = await run('curl', args, { netns: NS, timeoutMs: 15_000 });
  const cut = out.lastIndexOf('\n');
  const text = out.slice(0, cut);
  return { status: Number(out.slice(cut + 1)), json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** An npm cache whose _prebuilds holds this machine's better-sqlite3 addon, named as prebuild-install looks it up. */
function seededNpmCache(into: string): string {
  const pkgDir = join(ROOT, 'node_modules', 'better-sqlite3');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const url = `https://github.com/WiseLibs/better-sqlite3/releases/download/v${version}/better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const name = `${createHash('sha512').update(url).digest('hex').slice(0, 6)}-${basename(url).replace(/[^a-zA-Z0-9.]+/g, '-')}`;
  const cache = join(into, 'npm-cache');
  mkdirSync(join(cache, '_prebuilds'), { recursive: true });
  execFileSync('tar', ['-czf', join(cache, '_prebuilds', name), '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  return cache;
}

const hash = (...parts: (string | Buffer)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
};

/** Image ids of dangling images (a build's untagged stages): what this run adds is removed after it. */
async function danglingImages(): Promise<Set<string>> {
  return new Set((await podman(['images', '--quiet', '--no-trunc', '--filter', 'dangling=true'])).split('\n').filter(Boolean));
}

/** Keeps `keep` and removes the other tags of the same repository (caches made for an older lock file or base). */
async function dropOtherTags(repository: string, keep: string): Promise<void> {
  const tags = (await podman(['images', '--format', '{{.Repository}}:{{.Tag}}', repository])).split('\n').filter((t) => t && t !== keep);
  if (tags.length > 0) await podman(['rmi', '--force', ...tags]).catch(() => undefined);
}

let danglingBefore = new Set<string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-docker-'));
  bases = await ensureBaseImages();
  console.log(`base images ${bases.base}, ${bases.build}: ${bases.seconds === 0 ? 'cached' : `made in ${bases.seconds.toFixed(0)} s`}`);
  danglingBefore = await danglingImages();

  const fromSource = process.env['MCP_DOCKER_FROM_SOURCE'] === '1';
  const args = ['--network', 'host', '--format', 'docker', '--build-arg', `BASE_IMAGE=${bases.base}`, '--build-arg', `BUILD_IMAGE=${bases.build}`, '-f', join(ROOT, 'docker', 'Dockerfile')];
  if (!fromSource) args.push('--volume', `${seededNpmCache(dir)}:/root/.npm`);
  // The `deps` stage (npm ci) is kept, tagged by what it is made of, so the next run reuses its layers; the rest of
  // what the build makes is removed after the run.
  const deps = `localhost/mcp-minicloud-deps:${hash(readFileSync(join(ROOT, 'package-lock.json')), readFileSync(join(ROOT, 'package.json')), bases.build, readFileSync(join(ROOT, 'docker', 'Dockerfile')))}`;
  let started = performance.now();
  await podman(['build', ...args, ...(fromSource ? ['--no-cache'] : []), '--target', 'deps', '-t', deps, ROOT], 1_800_000);
  console.log(`deps stage (npm ci, better-sqlite3 ${fromSource ? 'compiled from source' : 'prebuilt'}) ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  await dropOtherTags('localhost/mcp-minicloud-deps', deps);
  started = performance.now();
  await podman(['build', ...args, '-t', IMAGE, ROOT], 1_800_000);
  const size = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim());
  console.log(`docker/Dockerfile built in ${((performance.now() - started) / 1000).toFixed(0)} s after the deps stage; image ${(size / 1e6).toFixed(0)} MB`);

  const ovsDir = join(ROOT, 'docker', 'ovs-node');
  const ovsCache = `localhost/mcp-ovs-node:${hash(bases.base, readFileSync(join(ovsDir, 'Dockerfile')), readFileSync(join(ovsDir, 'entrypoint.sh')))}`;
  started = performance.now();
  await podman(['build', '--network', 'host', '--format', 'docker', '--build-arg', `BASE_IMAGE=${bases.base}`, '-t', ovsCache, ovsDir], 900_000);
  await dropOtherTags('localhost/mcp-ovs-node', ovsCache);
  await podman(['tag', ovsCache, OVS_IMAGE]);
  console.log(`docker/ovs-node built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}, 2_400_000);

afterAll(async () => {
  if (ovsContainerStarted) await podman(['rm', '--force', '--time', '5', OVS_CONTAINER]).catch(() => undefined);
  if (containerStarted) await podman(['rm', '--force', '--time', '5', CONTAINER]).catch(() => undefined);
  await podman(['rmi', '--force', IMAGE]).catch(() => undefined);
  await podman(['untag', OVS_IMAGE, OVS_IMAGE]).catch(() => undefined);
  const added = [...(await danglingImages().catch(() => new Set<string>()))].filter((id) => !danglingBefore.has(id));
  if (added.length > 0) await podman(['rmi', '--force', ...added]).catch(() => undefined);
  await ovs?.stop();
  await run('ip', ['netns', 'del', NODE_NS]).catch(() => undefined);
  await run('ip', ['netns', 'del', NS]).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
  removePodmanConf();
}, 120_000);

describe('docker/Dockerfile', () => {
  it('has the image metadata an operator relies on', async () => {
    const [image] = JSON.parse(await podman(['image', 'inspect', IMAGE])) as {
      Config: { User: string; ExposedPorts: Record<string, unknown>; Volumes: Record<string, unknown>; Entrypoint: string[]; Cmd: string[] };
      Healthcheck?: { Test: string[] };
    }[];
    const config = image!.Config;
    expect(config.User).toBe('minicloud');
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(['6653/tcp', '8080/tcp']);
    expect(Object.keys(config.Volumes)).toEqual(['/var/lib/minicloud']);
    expect(config.Entrypoint).toEqual(['node', '/app/dist/src/cli/main.js']);
    expect(config.Cmd).toEqual(['controller', '--config', '/etc/minicloud/controller.yaml']);
    expect(image!.Healthcheck?.Test).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs']);
  });

  it('runs as non-root in our namespace, answers /healthz, keeps the store on the volume, reads a mounted YAML config', async () => {
    ovs = await OvsInstance.start({ name: NS, baseDir: join(dir, 'ovs') });
    const store = join(dir, 'store');
    mkdirSync(store);
    chownSync(store, UID, UID);
    const config = join(dir, 'controller.yaml');
    writeFileSync(config, ['openflow:', '  listen: ["tcp:6653"]', 'api:', '  host: 127.0.0.1', '  port: 8080', 'stats:', '  intervalSeconds: 2', 'log:', '  level: info', ''].join('\n'));
    await podman([
      'run', '--detach', '--name', CONTAINER,
      '--network', `ns:/run/netns/${NS}`,
      '--volume', `${store}:/var/lib/minicloud`,
      '--volume', `${config}:/etc/minicloud/controller.yaml:ro`,
      '--env', 'MINICLOUD_API_AUTH=false',
      IMAGE,
    ]);
    containerStarted = true;
    const started = performance.now();
    const health = await until(async () => (await http('GET', '/healthz')).status === 200, 90_000, '/healthz', 500);
    console.log(`container answered /healthz after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(health).toBe(true);
    // The image's HEALTHCHECK command itself (podman runs it on demand; there is no systemd timer here).
    await podman(['healthcheck', 'run', CONTAINER]);
    expect((await podman(['exec', CONTAINER, 'id', '-u'])).trim()).toBe(String(UID));
    expect(statSync(join(store, 'cloud.db')).uid).toBe(UID);
    // api.host 127.0.0.1 came from the mounted file (the image's own default is 0.0.0.0).
    const logs = await podman(['logs', CONTAINER]);
    expect(logs).toContain('"url":"http://127.0.0.1:8080"');
    expect(logs).toContain('"store":"/var/lib/minicloud/cloud.db"');
  }, 180_000);

  it('is the controller a real OVS connects to over OpenFlow: the node gets its pipeline', async () => {
    expect(containerStarted).toBe(true);
    const res = await http('POST', '/api/v1/nodes', { name: NODE, roles: ['compute'], underlayIp: '10.99.0.1', cpus: 2, memoryMiB: 2048 });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    await ovs!.addBridge('br0', { datapathType: 'netdev', failMode: 'secure', protocols: ['OpenFlow13'], datapathId: dpidTextForNode(NODE) });
    await ovs!.vsctl('set-controller', 'br0', 'tcp:127.0.0.1:6653');
    const started = performance.now();
    await until(async () => (await ovs!.vsctl('--columns=is_connected', 'list', 'controller')).includes('true'), 60_000, 'is_connected', 500);
    const flows = await until(
      async () => {
        const dump = await ovs!.ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0');
        const ours = dump.split('\n').filter((l) => /cookie=0x4d43/.test(l));
        return ours.length > 0 ? ours : undefined;
      },
      60_000,
      'our flows on br0',
      500,
    );
    console.log(`OVS connected over tcp and received ${flows.length} flows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const dps = (await http('GET', '/api/v1/datapaths')).json as { datapaths: { node: string; connected: boolean; dpid: string }[] };
    expect(dps.datapaths.find((d) => d.node === NODE)).toMatchObject({ connected: true });
  }, 180_000);
});

describe('docker/ovs-node', () => {
  it('starts OVS in userspace, moves its underlay onto br-phy, and its br0 connects to the controller container over tcp', async () => {
    expect(containerStarted).toBe(true);
    // 10.231.0.0/30 lives only between our two namespaces.
    await run('ip', ['netns', 'add', NODE_NS]);
    await run('ip', ['link', 'set', 'lo', 'up'], { netns: NODE_NS });
    await run('ip', ['link', 'add', 'mcp-dkv0', 'netns', NS, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NODE_NS]);
    await run('ip', ['addr', 'add', '10.231.0.1/30', 'dev', 'mcp-dkv0'], { netns: NS });
    await run('ip', ['link', 'set', 'mcp-dkv0', 'up'], { netns: NS });
    // The checksum offload trap: TCP sent into a netdev bridge needs TX offload off on the sending veth.
    await run('ethtool', ['-K', 'mcp-dkv0', 'tx', 'off'], { netns: NS });
    await run('ip', ['addr', 'add', '10.231.0.2/30', 'dev', 'eth0'], { netns: NODE_NS });
    await run('ip', ['link', 'set', 'eth0', 'up'], { netns: NODE_NS });

    const res = await http('POST', '/api/v1/nodes', { name: NODE2, roles: ['compute'], underlayIp: '10.231.0.2', cpus: 2, memoryMiB: 2048 });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    await podman([
      'run', '--detach', '--name', OVS_CONTAINER,
      '--network', `ns:/run/netns/${NODE_NS}`,
      '--cap-add', 'NET_ADMIN', '--device', '/dev/net/tun',
      '--env', `NODE_NAME=${NODE2}`, '--env', 'MINICLOUD_CONTROLLER=tcp:10.231.0.1:6653',
      OVS_IMAGE,
    ]);
    ovsContainerStarted = true;
    const started = performance.now();
    await until(
      async () => {
        const dps = (await http('GET', '/api/v1/datapaths')).json as { datapaths: { node: string; connected: boolean; dpid: string }[] };
        return dps.datapaths.find((d) => d.node === NODE2 && d.connected);
      },
      90_000,
      `${NODE2} connected`,
      500,
    );
    const flows = await until(
      async () => {
        const dump = await podman(['exec', OVS_CONTAINER, 'ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', 'br0']);
        const ours = dump.split('\n').filter((l) => /cookie=0x4d43/.test(l));
        return ours.length > 0 ? ours : undefined;
      },
      60_000,
      'our flows on the node',
      500,
    );
    console.log(`ovs-node container connected (via br-phy) and received ${flows.length} flows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const bridge = await podman(['exec', OVS_CONTAINER, 'ovs-vsctl', 'get', 'bridge', 'br0', 'other_config:datapath-id', 'fail_mode', 'datapath_type', 'protocols']);
    expect(bridge.split('\n').slice(0, 4)).toEqual([`"${dpidTextForNode(NODE2)}"`, 'secure', 'netdev', '[OpenFlow13]']);
    const vxlan = await podman(['exec', OVS_CONTAINER, 'ovs-vsctl', 'get', 'interface', 'vxlan-int', 'options']);
    expect(vxlan.trim()).toBe('{key=flow, local_ip="10.231.0.2", remote_ip=flow}');
    expect(await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'br-phy'], { netns: NODE_NS })).toContain('10.231.0.2/30');
  }, 240_000);
});

describe('docker/compose.yaml', () => {
  // podman-compose 1.0 has no `config`; `--dry-run build` parses the file (merges, services, build contexts) and
  // prints the podman commands without running them. (`--dry-run up` would still create networks: never used.)
  it('parses with podman-compose and builds the controller and every node from docker/', async () => {
    const out = await podmanCompose(['--dry-run', '-f', join(ROOT, 'docker', 'compose.yaml'), 'build']);
    const builds = out.split('\n').filter((l) => l.startsWith('podman build '));
    expect(builds).toContainEqual(expect.stringMatching(/-t localhost\/minicloud:lab -f \.\.\/docker\/Dockerfile --build-arg BASE_IMAGE=node:20-bookworm-slim --build-arg BUILD_IMAGE=node:20-bookworm \.\.$/));
    expect(builds.filter((l) => l.includes('-t localhost/minicloud-ovs-node:lab -f ./ovs-node/Dockerfile')).length).toBe(3);
  }, 60_000);
});
