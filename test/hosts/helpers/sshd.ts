// A real OpenSSH server for tests: its own host key, config, authorized key and port on 127.0.0.1, run as a child
// (`sshd -D -e`) and killed by pid afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function keygen(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
}

async function waitForBanner(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not come up on port ${port}`);
}

export interface TestSshdOptions {
  /**
   * sshd's ForceCommand: run (by root's shell, `-c`) instead of every requested command, which it finds in
   * $SSH_ORIGINAL_COMMAND. E.g. a wrapper that runs the command inside a lab node's namespace.
   */
  readonly forceCommand?: string;
}

export class TestSshd {
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(opts: TestSshdOptions = {}): Promise<TestSshd> {
    const dir = mkdtempSync(join(tmpdir(), 'mc-sshd-'));
    const sshd = new TestSshd(dir, await freePort());
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
      keygen(join(dir, 'host_ed25519'));
      keygen(join(dir, 'client_ed25519'));
      writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')), { mode: 0o600 });
      writeFileSync(
        join(dir, 'sshd_config'),
        [
          `Port ${sshd.port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${join(dir, 'host_ed25519')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'StrictModes no',
          'UsePAM no',
          'MaxSessions 10',
          // bash sources ~/.bashrc for a command sshd runs (Debian builds it with SSH_SOURCE_BASHRC) unless SHLVL says
          // it is nested: this machine's root .bashrc (pyenv init) costs 0.3-0.6 s per command otherwise.
          'SetEnv SHLVL=1',
          ...(opts.forceCommand !== undefined ? [`ForceCommand ${opts.forceCommand}`] : []),
          '',
        ].join('\n'),
      );
      await sshd.spawn();
      return sshd;
    } catch (e) {
      await sshd.stop();
      throw e;
    }
  }

  get clientKey(): string {
    return readFileSync(this.clientKeyFile, 'utf8');
  }

  /** The client's private key file (what `vms.ssh.keyFile` names). */
  get clientKeyFile(): string {
    return join(this.dir, 'client_ed25519');
  }

  /** The host key as a known_hosts line for 127.0.0.1 on this port: pins it before the first contact. */
  knownHostsLine(): string {
    const [type, b64] = readFileSync(join(this.dir, 'host_ed25519.pub'), 'utf8').split(' ');
    return `[127.0.0.1]:${this.port} ${type} ${b64}\n`;
  }

  /** The host key's fingerprint as OpenSSH prints it. */
  hostFingerprint(): string {
    return execFileSync('ssh-keygen', ['-l', '-f', join(this.dir, 'host_ed25519.pub')]).toString().split(' ')[1]!;
  }

  /** Pids of the per-connection sshd processes (children of the listener). */
  connectionPids(): number[] {
    if (!this.child?.pid) return [];
    try {
      return execFileSync('pgrep', ['-P', String(this.child.pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Kills the per-connection processes: clients see their connection drop. */
  dropConnections(): void {
    for (const pid of this.connectionPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** Restarts on the same port, optionally with a new host key (a reinstalled node, or an impostor). */
  async restart(opts: { newHostKey?: boolean } = {}): Promise<void> {
    this.dropConnections();
    await this.kill();
    if (opts.newHostKey) keygen(join(this.dir, 'host_ed25519'));
    await this.spawn();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(this.dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    await waitForBanner(this.port, Date.now() + 10_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.log}`);
    });
  }

  private async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
