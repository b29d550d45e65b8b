// A throwaway PKI made with the openssl command line (as an operator would, see docs/operations.md): CAs and
// certificates with chosen subject names, subjectAltNames and validity dates (`openssl ca -startdate/-enddate`, so
// expired and not-yet-valid certificates can be made too).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

export interface CertOptions {
  /** Subject CN (default: none). */
  readonly cn?: string;
  /** subjectAltName entries as openssl writes them: `DNS:compute-1`, `IP:127.0.0.1`. */
  readonly san?: readonly string[];
  /** The CA that signs it (default 'ca'). */
  readonly ca?: string;
  /** openssl's `YYYYMMDDHHMMSSZ`; default: an hour ago. */
  readonly notBefore?: string;
  /** Default: in two days. */
  readonly notAfter?: string;
}

export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

/** `YYYYMMDDHHMMSSZ` for openssl, `offsetMs` from now. */
export function opensslTime(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

const HOUR = 3600_000;

/** CAs and certificates in `dir` (which the caller makes and removes). */
export class TestPki {
  constructor(readonly dir: string) {}

  private ssl(...args: string[]): void {
    const r = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  }

  /** A self-signed CA `name`: `<name>-cert.pem` is what `openflow.tls.ca` / `ovs-vsctl set-ssl` take. */
  makeCa(name = 'ca'): string {
    this.ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}-cert.pem`, '-days', '2', '-subj', `/CN=minicloud test ${name}`);
    writeFileSync(join(this.dir, `${name}-index.txt`), '');
    writeFileSync(join(this.dir, `${name}-serial`), '1000\n');
    writeFileSync(
      join(this.dir, `${name}.cnf`),
      [
        '[ca]', 'default_ca = this', '[this]', `database = ${name}-index.txt`, `serial = ${name}-serial`, 'new_certs_dir = .', 'default_md = sha256',
        'policy = any', 'unique_subject = no', 'email_in_dn = no', '[any]', 'commonName = optional', '[ext]', 'basicConstraints = CA:FALSE',
      ].join('\n') + '\n',
    );
    return join(this.dir, `${name}-cert.pem`);
  }

  /** A key and a certificate `<name>-key.pem` / `<name>-cert.pem` signed by `opts.ca`. */
  issue(name: string, opts: CertOptions = {}): KeyPair {
    const ca = opts.ca ?? 'ca';
    const subj = opts.cn === undefined ? '/' : `/CN=${opts.cn}`;
    this.ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}-req.pem`, '-subj', subj);
    const ext = join(this.dir, `${name}-ext.cnf`);
    // A section of its own, so that a value may hold a comma.
    const alt = (opts.san ?? []).map((e, i) => `${e.slice(0, e.indexOf(':'))}.${i} = ${e.slice(e.indexOf(':') + 1)}`);
    writeFileSync(ext, `[ext]\nbasicConstraints = CA:FALSE\n${alt.length ? `subjectAltName = @alt\n[alt]\n${alt.join('\n')}\n` : ''}`);
    this.ssl(
      'ca', '-batch', '-config', `${ca}.cnf`, '-cert', `${ca}-cert.pem`, '-keyfile', `${ca}-key.pem`, '-in', `${name}-req.pem`, '-out', `${name}-cert.pem`,
      '-notext', '-extfile', ext, '-extensions', 'ext',
      '-startdate', opts.notBefore ?? opensslTime(-HOUR), '-enddate', opts.notAfter ?? opensslTime(48 * HOUR),
    );
    return { key: join(this.dir, `${name}-key.pem`), cert: join(this.dir, `${name}-cert.pem`) };
  }

  /** `openflow.tls` / TlsFiles for a certificate made by `issue`, trusting CA `ca`. */
  tls(name: string, ca = 'ca'): { key: string; cert: string; ca: string } {
    return { key: join(this.dir, `${name}-key.pem`), cert: join(this.dir, `${name}-cert.pem`), ca: join(this.dir, `${ca}-cert.pem`) };
  }
}
