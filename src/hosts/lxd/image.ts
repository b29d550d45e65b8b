// The local LXD image (no image server is reachable): a busybox rootfs from Debian's busybox-static, built on the
// node and imported once (lab.md's recipe). Its boot script reads /etc/minicloud/network, which the LXD driver
// pushes before each start: static address/route/DNS, or udhcpc with our lease script. Besides its own alias the
// image answers to `busybox`, the image name the docs, the demo and the netns backend use.
import type { Executor } from '../executor.js';
import { writeNodeFile } from '../files.js';
import { assertImageAlias, assertPath } from '../validate.js';
import { UDHCPC_SCRIPT } from '../vm/guest-files.js';

export const DEFAULT_IMAGE = 'minicloud-busybox';
/** The further alias the image gets, so `image: busybox` works on LXD nodes as it does on netns ones. */
export const BUSYBOX_ALIAS = 'busybox';

const INITTAB = `::sysinit:/etc/init.d/rcS
::shutdown:/bin/umount -a -r
`;

// Reads key=value lines with `read` (never sources them); values were validated by the driver.
const RCS = `#!/bin/sh
mount -t tmpfs tmpfs /run 2>/dev/null
ip link set lo up
mode= address= gateway= dns=
if [ -r /etc/minicloud/network ]; then
  while IFS='=' read -r k v; do
    case "$k" in
      mode) mode=$v ;; address) address=$v ;; gateway) gateway=$v ;; dns) dns=$v ;;
    esac
  done < /etc/minicloud/network
fi
ip link set eth0 up 2>/dev/null
case "$mode" in
  static)
    ip addr add "$address" dev eth0
    [ -n "$gateway" ] && ip route add default via "$gateway" dev eth0
    : > /etc/resolv.conf
    set -f
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    ;;
  dhcp)
    udhcpc -f -i eth0 -s /etc/udhcpc/default.script -t 3 -T 1 -A 1 -O mtu -x "hostname:$(hostname)" </dev/null >/dev/null 2>&1 &
    ;;
esac
`;

function metadataYaml(alias: string): string {
  return [
    'architecture: x86_64',
    `creation_date: ${Math.floor(Date.now() / 1000)}`,
    'properties:',
    `  description: "minicloud busybox (${alias})"`,
    '  os: busybox',
    'templates: {}',
    '',
  ].join('\n');
}

export async function imageExists(exec: Executor, alias: string): Promise<boolean> {
  return (await exec.run(['lxc', 'image', 'info', assertImageAlias('image', alias)], { okCodes: [0, 1] })).code === 0;
}

/** The fingerprint an alias points at, or undefined when there is no such alias. */
export async function aliasTarget(exec: Executor, alias: string): Promise<string | undefined> {
  const r = await exec.run(['lxc', 'query', `/1.0/images/aliases/${assertImageAlias('image alias', alias)}`], { okCodes: [0, 1] });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { target?: string }).target;
}

/** Every image alias the node's LXD knows, sorted. */
export async function listAliases(exec: Executor): Promise<string[]> {
  const urls = JSON.parse((await exec.run(['lxc', 'query', '/1.0/images/aliases'])).stdout) as string[] | null;
  return (urls ?? []).map((u) => decodeURIComponent(u.slice(u.lastIndexOf('/') + 1))).sort();
}

/**
 * Builds and imports the image unless an image with this alias exists, then gives it each of `aliases` (default
 * `busybox`) that is missing; an alias already pointing at another image is left alone. Returns whether it imported.
 */
export async function ensureBusyboxImage(exec: Executor, opts: { alias?: string; aliases?: readonly string[]; busybox?: string } = {}): Promise<boolean> {
  const alias = assertImageAlias('image', opts.alias ?? DEFAULT_IMAGE);
  const extra = (opts.aliases ?? [BUSYBOX_ALIAS]).map((a) => assertImageAlias('image alias', a)).filter((a) => a !== alias);
  const busybox = assertPath('busybox', opts.busybox ?? '/bin/busybox');
  let fingerprint = await aliasTarget(exec, alias);
  const imported = fingerprint === undefined;
  if (imported) {
    await importImage(exec, alias, busybox);
    fingerprint = await aliasTarget(exec, alias);
  }
  if (fingerprint === undefined) throw new Error(`[${exec.target}] image alias ${alias} is missing right after the import`);
  for (const a of extra) {
    if ((await aliasTarget(exec, a)) === undefined) await exec.run(['lxc', 'image', 'alias', 'create', a, fingerprint]);
  }
  return imported;
}

async function importImage(exec: Executor, alias: string, busybox: string): Promise<void> {
  const dir = (await exec.run(['mktemp', '-d', '/tmp/minicloud-image.XXXXXX'])).stdout.trim();
  assertPath('image build directory', dir);
  const root = `${dir}/rootfs`;
  try {
    const dirs = ['bin', 'sbin', 'etc/init.d', 'etc/udhcpc', 'etc/minicloud', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var'];
    await exec.run(['mkdir', '-p', '--', ...dirs.map((d) => `${root}/${d}`)]);
    await exec.run(['cp', '--', busybox, `${root}/bin/busybox`]);
    // A dynamically linked busybox would not start in a rootfs without libc: fail here, not at the first boot.
    await exec.run(['chroot', root, '/bin/busybox', 'true']).catch((e: Error) => {
      throw new Error(`${busybox} does not run inside a bare rootfs (is it busybox-static?): ${e.message}`);
    });
    // One link per applet. The script is fixed text; the directory comes in as "$1".
    await exec.run(['sh', '-c', 'cd "$1" && for a in $(./busybox --list); do [ "$a" = busybox ] || ln -s busybox "$a"; done', 'sh', `${root}/bin`]);
    await exec.run(['ln', '-s', '../bin/busybox', `${root}/sbin/init`]);
    await writeNodeFile(exec, `${root}/etc/inittab`, INITTAB);
    await writeNodeFile(exec, `${root}/etc/init.d/rcS`, RCS, '0755');
    await writeNodeFile(exec, `${root}/etc/udhcpc/default.script`, UDHCPC_SCRIPT, '0755');
    await writeNodeFile(exec, `${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\n');
    await writeNodeFile(exec, `${root}/etc/group`, 'root:x:0:\n');
    await writeNodeFile(exec, `${dir}/metadata.yaml`, metadataYaml(alias));
    await exec.run(['tar', '-C', root, '-czf', `${dir}/rootfs.tar.gz`, '.']);
    await exec.run(['tar', '-C', dir, '-czf', `${dir}/meta.tar.gz`, 'metadata.yaml']);
    await exec.run(['lxc', 'image', 'import', `${dir}/meta.tar.gz`, `${dir}/rootfs.tar.gz`, '--alias', alias], { timeoutMs: 120_000 });
  } finally {
    await exec.run(['rm', '-rf', '--', dir]);
  }
}
