// A real OpenSSH server for tests: its own host key, config, authorized key and port on 127.0.0.1, run as a child
// (`sshd -D -e`) and killed by pid afterwards. `TestSshd.startInNode` makes it the SSH side of a lab node.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

export interface InNodeOptions {
  /** The lab node's namespace: every command runs in it. */
  readonly netns: string;
  /** The node's OVS directory (OVS_RUNDIR, OVS_DBDIR and OVS_LOGDIR). */
  readonly ovsDir: string;
  /** More environment for every command (e.g. the node's LXD_DIR). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A command line as SshExecutor sends it (`echo PID >&2; exec timeout -k K -s KILL T 'prog' ...`), for `prog`. */
const commandOf = (prog: string): RegExp => new RegExp(`^echo \\S+ >&2; exec timeout -k \\S+ -s KILL \\S+ '${prog}' `);
/** The prefix of an `lxc` command line as it comes through sshd. */
export const LXC_LINE = commandOf('lxc');
/** The command lines among `lines` that run `prog` (as they come through sshd). */
export const linesOf = (lines: readonly string[], prog: string): string[] => lines.filter((c) => commandOf(prog).test(c));
export const lxcLines = (lines: readonly string[]): string[] => linesOf(lines, 'lxc');
/** The `ovs-vsctl ... add-br br0` (or del-br) of a node's bootstrap, as it comes through sshd. */
export const vsctlBr0 = (verb: 'add-br' | 'del-br'): RegExp => new RegExp(`${commandOf('ovs-vsctl').source}.* ${verb} br0\\b`);

const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * An sshd standing for a lab node: its ForceCommand runs each requested command line inside the node's namespace with
 * the node's OVS directories (`ip netns exec NS env OVS_...=DIR sh -c "$SSH_ORIGINAL_COMMAND"`: `sh -c` reads it as a
 * login shell would, SshExecutor quoting each argument) and logs it. Its host key is pinned in its known_hosts file
 * from the start (no trust on first use).
 */
export class InNodeSshd {
  private constructor(
    readonly sshd: TestSshd,
    private readonly work: string,
  ) {}

  static async start(opts: InNodeOptions): Promise<InNodeSshd> {
    const work = mkdtempSync(join(tmpdir(), 'mc-sshd-node-'));
    try {
      const log = join(work, 'commands.log');
      writeFileSync(log, '');
      const env = { OVS_RUNDIR: opts.ovsDir, OVS_DBDIR: opts.ovsDir, OVS_LOGDIR: opts.ovsDir, ...opts.env };
      const assignments = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`);
      const wrapper = join(work, 'in-node.sh');
      writeFileSync(
        wrapper,
        ['#!/bin/sh', `printf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> ${shq(log)}`, `exec ip netns exec ${shq(opts.netns)} env ${assignments.join(' ')} sh -c "$SSH_ORIGINAL_COMMAND"`, ''].join('\n'),
      );
      chmodSync(wrapper, 0o755);
      const node = new InNodeSshd(await TestSshd.start({ forceCommand: wrapper }), work);
      node.pin();
      return node;
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    }
  }

  /** Every command line that came through, in order. */
  commandLog(): string[] {
    return readFileSync(join(this.work, 'commands.log'), 'utf8').split('\n').filter(Boolean);
  }

  get knownHostsFile(): string {
    return join(this.work, 'known_hosts');
  }

  /** (Re-)pins the current host key in knownHostsFile, as an operator would from the node's console. */
  pin(): void {
    writeFileSync(this.knownHostsFile, this.sshd.knownHostsLine());
  }

  /** The node record's sshTarget. */
  get target(): string {
    return `root@127.0.0.1:${this.sshd.port}`;
  }

  /** LabCloud's (and the controller config's) `ssh` options for reaching it. */
  get labSsh(): { user: string; keyFile: string; knownHostsFile: string } {
    return { user: 'root', keyFile: this.sshd.clientKeyFile, knownHostsFile: this.knownHostsFile };
  }

  async stop(): Promise<void> {
    await this.sshd.stop();
    rmSync(this.work, { recursive: true, force: true });
  }
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

  /** An sshd whose every command runs inside a lab node's namespace: see InNodeSshd. */
  static startInNode(opts: InNodeOptions): Promise<InNodeSshd> {
    return InNodeSshd.start(opts);
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

  /** Stops listening and drops every connection, keeping keys and config: a node whose sshd is down (`resume`). */
  async halt(): Promise<void> {
    this.dropConnections();
    await this.kill();
  }

  /** Starts again after `halt`, on the same port with the same host key. */
  async resume(): Promise<void> {
    if (this.child) return;
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
