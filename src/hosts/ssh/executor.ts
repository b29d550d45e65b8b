// Commands on a remote node over SSH (ssh2): key authentication, host key pinned on first contact, one connection
// per node shared by concurrent commands (each on its own exec channel), reconnection after a drop.
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import {
  DEFAULT_TIMEOUT_MS,
  logOutputLimit,
  logStart,
  logTimeout,
  OutputBuffer,
  outputLimit,
  settle,
  type ExecOptions,
  type ExecResult,
  type Executor,
} from '../executor.js';
import { quoteArgv } from '../quote.js';
import { silentLogger, type Logger } from '../types.js';
import { hostId, keyType, KnownHosts } from './known-hosts.js';

export interface SshExecutorOptions {
  readonly host: string;
  readonly port?: number;
  readonly username: string;
  /** The private key (OpenSSH or PEM format). */
  readonly privateKey: string | Buffer;
  readonly passphrase?: string;
  /** Our known-hosts file (or a shared KnownHosts); the node's key is pinned there on first contact. */
  readonly knownHosts: KnownHosts | string;
  /** Handshake and authentication must finish within this (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Per-command timeout unless the call gives one (default 60 s). */
  readonly defaultTimeoutMs?: number;
  /** Per-stream output limit unless the call gives one (default DEFAULT_MAX_OUTPUT_BYTES, 4 MiB). */
  readonly maxOutputBytes?: number;
  /** SSH keepalives; a dead peer is noticed after 3 unanswered (default 15 s, 0 = off). */
  readonly keepaliveIntervalMs?: number;
  /** Concurrent exec channels on the one connection (OpenSSH's MaxSessions defaults to 10). Default 8. */
  readonly maxChannels?: number;
  readonly logger?: Logger;
}

export class SshConnectError extends Error {
  override readonly name = 'SshConnectError';
  constructor(
    readonly target: string,
    cause: Error,
    /** False when the command certainly did not start (so running it again is safe). */
    readonly commandStarted = false,
  ) {
    super(`[${target}] SSH connection failed: ${cause.message}`, { cause });
  }
}

/** Seconds between the TERM a command gets when we stop waiting for it early and the KILL that follows. */
const KILL_AFTER_S = 2;
/**
 * The command line's first words print the remote shell's pid on stderr (then `exec timeout` keeps that pid and makes
 * it its process group): how we end the command early. sshd refuses channel signals for root logins (no privilege
 * separation after a root login: "session signalling requires privilege separation"), so a signal is sent by a
 * second command instead. The line is taken off stderr before anyone sees it.
 */
const PID_MARKER = 'minicloud-exec-pid:';
const PID_LINE = new RegExp(`(^|\\n)${PID_MARKER}(\\d+)\\n`);
/** Shell noise (a login banner from .bashrc) allowed before the pid line; past it, the line is not looked for. */
const PID_SEARCH_BYTES = 4096;
/** How long an overflowed command's channel stays open (discarding) for a pid line that has not arrived yet. */
const PID_WAIT_MS = 2000;

// Host key algorithms that produce each pinned key type, so the server offers the key we pinned.
const HOST_KEY_ALGORITHMS: Record<string, readonly string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export class SshExecutor implements Executor {
  readonly target: string;
  private readonly logger: Logger;
  private readonly knownHosts: KnownHosts;
  private readonly hostId: string;
  private connection: Promise<Client> | undefined;
  private channelsInUse = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: SshExecutorOptions) {
    const port = options.port ?? 22;
    this.target = `ssh:${options.username}@${options.host}:${port}`;
    this.hostId = hostId(options.host, port);
    this.logger = options.logger ?? silentLogger;
    this.knownHosts = typeof options.knownHosts === 'string' ? new KnownHosts(options.knownHosts) : options.knownHosts;
  }

  async run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const limit = outputLimit(opts, this.options.maxOutputBytes);
    // The node enforces the deadline too (coreutils `timeout`): a KILL signal sent over the channel can race the
    // command's start on a busy node and be lost, and sshd does not end a pty-less command when its channel closes.
    // `-k`: when we give up early (output over the limit) the group gets TERM, which `timeout` passes on and follows
    // with a KILL after KILL_AFTER_S, so a command that ignores TERM dies all the same (see PID_MARKER).
    const line = `echo ${PID_MARKER}$$ >&2; exec timeout -k ${KILL_AFTER_S}s -s KILL ${(timeoutMs / 1000).toFixed(3)}s ${quoteArgv(argv)}`;
    await this.acquireChannel();
    try {
      const startedAt = logStart(this.logger, this.target, argv);
      let result: ExecResult;
      try {
        result = await this.exec(await this.connect(), argv, line, opts, timeoutMs, limit);
      } catch (e) {
        // A connection that died unnoticed (node rebooted, sshd restarted) fails at channel open: reconnect once.
        if (!(e instanceof SshConnectError) || e.commandStarted || this.closed) throw e;
        this.logger.warn({ target: this.target, err: e.message }, 'ssh channel failed; reconnecting');
        this.forget();
        result = await this.exec(await this.connect(), argv, line, opts, timeoutMs, limit);
      }
      return settle(this.logger, this.target, argv, opts, result, startedAt);
    } finally {
      this.releaseChannel();
    }
  }

  /** Drops the cached connection so the next command opens a new one. */
  private forget(): void {
    const stale = this.connection;
    this.connection = undefined;
    void stale?.then((c) => c.end(), () => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connection;
    this.connection = undefined;
    const client = await pending?.catch(() => undefined);
    client?.end();
  }

  private exec(client: Client, argv: readonly string[], line: string, opts: ExecOptions, timeoutMs: number, limit: number): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let timedOut = false;
      let overflowed = false;
      const timer = setTimeout(() => {
        timedOut = true;
        // The node's `timeout` KILLs the command's group at this same deadline. The TERM (which `timeout` would pass
        // on; a KILL would end `timeout` alone and orphan the command) helps only where sshd honours channel signals
        // (OpenSSH >= 7.9, not for root logins). Closing the channel ends our wait regardless.
        channel?.signal('TERM');
        channel?.close();
        reject(logTimeout(this.logger, this.target, argv, timeoutMs));
      }, timeoutMs);
      const onChannel = (err: Error | undefined, stream: ClientChannel): void => {
        if (err) {
          clearTimeout(timer);
          return reject(new SshConnectError(this.target, err));
        }
        if (timedOut) {
          // The command was sent before we gave up: it may be starting on the node right now.
          stream.signal('TERM');
          return stream.close();
        }
        channel = stream;
        const out = new OutputBuffer(limit);
        const errOut = new OutputBuffer(limit);
        let code: number | undefined;
        let remotePid: number | undefined;
        let errHead: Buffer | undefined = Buffer.alloc(0); // stderr until the pid line is found (or given up on)
        let pidWait: NodeJS.Timeout | undefined;
        const finish = (): void => {
          clearTimeout(pidWait);
          if (remotePid !== undefined) this.killRemoteGroup(client, remotePid);
          stream.close();
        };
        const overflow = (which: 'stdout' | 'stderr'): void => {
          if (overflowed || timedOut) return;
          overflowed = true;
          clearTimeout(timer);
          // The group's TERM reaches `timeout`, which passes it on and KILLs KILL_AFTER_S later (see run). A channel
          // signal is tried too (sshd honours it for non-root users). Closing the channel makes sshd close the
          // command's pipes: its next write fails (SIGPIPE) whatever became of the signals, and the node's `timeout`
          // ends it at the deadline in any case. Data still in flight is dropped by ssh2 once the channel is closed.
          // The pid line travels on stderr, which may lag stdout's flood: closing the channel before it arrives would
          // drop it and leave the rest of the command (a shell's next step) running until its deadline. So the channel
          // stays open, discarding, until the line comes or PID_WAIT_MS passes.
          stream.signal('TERM');
          if (remotePid !== undefined || errHead === undefined) finish();
          else pidWait = setTimeout(finish, PID_WAIT_MS);
          reject(logOutputLimit(this.logger, this.target, argv, which, limit));
        };
        const stderr = (b: Buffer): void => {
          if (!errOut.push(b)) overflow('stderr');
        };
        stream.on('data', (b: Buffer) => overflowed || out.push(b) || overflow('stdout'));
        stream.stderr.on('data', (b: Buffer) => {
          if (errHead === undefined) return overflowed ? undefined : stderr(b);
          errHead = Buffer.concat([errHead, b]);
          const text = errHead.toString('latin1');
          const m = PID_LINE.exec(text);
          if (m) {
            remotePid = Number(m[2]);
            if (overflowed) return finish(); // stdout overflowed before this line arrived
            const rest = Buffer.concat([errHead.subarray(0, m.index + m[1]!.length), errHead.subarray(m.index + m[0].length)]);
            errHead = undefined;
            if (rest.length) stderr(rest);
          } else if (errHead.length > PID_SEARCH_BYTES) {
            const all = errHead;
            errHead = undefined;
            stderr(all);
          }
        });
        stream.on('exit', (exitCode: number | null) => {
          code = exitCode ?? -1;
        });
        stream.on('close', () => {
          clearTimeout(timer);
          clearTimeout(pidWait);
          if (timedOut || overflowed) return;
          if (code === undefined) {
            return reject(new SshConnectError(this.target, new Error('connection lost while the command ran'), true));
          }
          if (errHead !== undefined && errHead.length) errOut.push(errHead); // no pid line: a shell that did not run it
          resolve({ stdout: out.text(), stderr: errOut.text(), code });
        });
        stream.end(opts.input ?? '');
      };
      try {
        client.exec(line, onChannel);
      } catch (e) {
        clearTimeout(timer);
        reject(new SshConnectError(this.target, e as Error)); // "Not connected": the socket is already gone
      }
    });
  }

  /** TERM to the command's process group on the node (`timeout` KILLs it KILL_AFTER_S later); best effort. */
  private killRemoteGroup(client: Client, pid: number): void {
    if (!Number.isInteger(pid) || pid <= 1) return;
    try {
      client.exec(`kill -TERM -- -${pid} 2>/dev/null; true`, (err, ch) => {
        if (err) return this.logger.warn({ target: this.target, pid, err: err.message }, 'could not stop a command on the node');
        ch.on('data', () => undefined);
        ch.stderr.on('data', () => undefined);
        ch.on('close', () => undefined);
      });
    } catch (e) {
      this.logger.warn({ target: this.target, pid, err: (e as Error).message }, 'could not stop a command on the node');
    }
  }

  private connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error(`[${this.target}] executor closed`));
    if (!this.connection) {
      const attempt: Promise<Client> = this.openConnection(() => {
        if (this.connection === attempt) this.connection = undefined;
      });
      this.connection = attempt;
    }
    return this.connection;
  }

  /** Connects and authenticates; `dropped` is called once the connection fails or closes, so the next run reconnects. */
  private async openConnection(dropped: () => void): Promise<Client> {
    const pinned = await this.knownHosts.lookup(this.hostId);
    const serverHostKey = pinned ? HOST_KEY_ALGORITHMS[keyType(pinned)] : undefined;
    const client = new Client();
    let hostKeyError: Error | undefined;
    const config: ConnectConfig = {
      host: this.options.host,
      port: this.options.port ?? 22,
      username: this.options.username,
      privateKey: this.options.privateKey,
      ...(this.options.passphrase !== undefined ? { passphrase: this.options.passphrase } : {}),
      readyTimeout: this.options.connectTimeoutMs ?? 10_000,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      ...(serverHostKey ? { algorithms: { serverHostKey: [...serverHostKey] as never } } : {}),
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        this.knownHosts.check(this.hostId, key).then(
          (outcome) => {
            if (outcome === 'pinned') this.logger.warn({ target: this.target, host: this.hostId }, 'ssh host key pinned on first contact');
            verify(true);
          },
          (e: Error) => {
            hostKeyError = e;
            verify(false);
          },
        );
      },
    };
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('ready', () => {
        ready = true;
        this.logger.info({ target: this.target }, 'ssh connected');
        resolve(client);
      });
      client.on('error', (e: Error) => {
        dropped();
        if (!ready) {
          const cause = hostKeyError ?? e;
          this.logger.error({ target: this.target, err: cause.message }, 'ssh connection failed');
          reject(hostKeyError ?? new SshConnectError(this.target, e));
        } else this.logger.warn({ target: this.target, err: e.message }, 'ssh connection error');
      });
      client.on('close', () => {
        dropped();
        if (ready) this.logger.info({ target: this.target }, 'ssh connection closed');
        else reject(hostKeyError ?? new SshConnectError(this.target, new Error('closed during handshake')));
      });
      client.connect(config);
    });
  }

  private acquireChannel(): Promise<void> {
    if (this.channelsInUse < (this.options.maxChannels ?? 8)) {
      this.channelsInUse++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseChannel(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.channelsInUse--;
  }
}
