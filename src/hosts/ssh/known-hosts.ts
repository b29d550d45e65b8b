// Host keys pinned on first contact (trust on first use) and verified on every later connection, in a known-hosts
// file of our own (OpenSSH's syntax, so `ssh-keygen -l -f FILE` reads it). The seed used StrictHostKeyChecking=no.
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class HostKeyMismatchError extends Error {
  override readonly name = 'HostKeyMismatchError';
  constructor(
    readonly host: string,
    readonly pinnedFingerprint: string,
    readonly offeredFingerprint: string,
    readonly file: string,
  ) {
    super(
      `host key of ${host} has CHANGED: pinned ${pinnedFingerprint}, offered ${offeredFingerprint}; refusing to connect ` +
        `(possible man-in-the-middle; if the node was really reinstalled, remove its line from ${file})`,
    );
  }
}

/** OpenSSH's fingerprint of a host key blob: SHA256:base64 without padding. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of an SSH public key blob (a uint32 length and the name). */
export function keyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  if (len > 64 || key.length < 4 + len) return 'unknown';
  return key.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's way to name a host in known_hosts: bare for port 22, else [host]:port. */
export function hostId(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export type HostKeyCheck = 'pinned' | 'matched';

export class KnownHosts {
  // Serialises read-check-append so two connections to one new host pin it once.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  /** The pinned key of a host, if any. */
  async lookup(host: string): Promise<Buffer | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    for (const line of text.split('\n')) {
      const [name, , b64] = line.trim().split(/\s+/);
      if (name === host && b64) return Buffer.from(b64, 'base64');
    }
    return undefined;
  }

  /** Pins the key when the host is new; otherwise throws HostKeyMismatchError unless it is the pinned key. */
  check(host: string, key: Buffer): Promise<HostKeyCheck> {
    const next = this.queue.then(async (): Promise<HostKeyCheck> => {
      const pinned = await this.lookup(host);
      if (pinned) {
        if (pinned.equals(key)) return 'matched';
        throw new HostKeyMismatchError(host, fingerprint(pinned), fingerprint(key), this.file);
      }
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await appendFile(this.file, `${host} ${keyType(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
      return 'pinned';
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
