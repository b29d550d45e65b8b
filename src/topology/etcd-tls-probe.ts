// Why a TLS connection to etcd fails, in words an operator can act on. gRPC only says "No connection established"
// (or times out) whatever went wrong; so when opening an etcd store over TLS fails, one TLS handshake (and one HTTP
// request, which is where a server that requires a client certificate says no) is made to each endpoint with the
// same CA and client certificate, and the first failure is reported.
import { isIP } from 'node:net';
import { connect } from 'node:tls';

export interface EtcdTlsFiles {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Undefined if every endpoint answers over TLS with these files; else what is wrong with the first that does not. */
export async function probeEtcdTls(endpoints: readonly string[], files: EtcdTlsFiles, timeoutMs: number): Promise<string | undefined> {
  for (const endpoint of endpoints) {
    const problem = await probeOne(new URL(endpoint), files, timeoutMs);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function probeOne(url: URL, files: EtcdTlsFiles, timeoutMs: number): Promise<string | undefined> {
  const where = url.host;
  return new Promise((resolve) => {
    let done = false;
    const finish = (problem: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = connect({
      host,
      // No SNI for an address (RFC 6066); the certificate is still checked against it.
      ...(isIP(host) === 0 && { servername: host }),
      port: Number(url.port || 2379),
      ca: files.ca,
      ...(files.cert && { cert: files.cert }),
      ...(files.key && { key: files.key }),
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => finish(`etcd at ${where} did not complete a TLS handshake and answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('secureConnect', () => {
      socket.write(`GET /version HTTP/1.1\r\nHost: ${where}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('data', () => finish(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (UNTRUSTED.has(code)) {
        finish(`etcd's certificate at ${where} is not trusted: ${e.message} (is store.etcd.tls.ca the CA that signed etcd's certificate, and is ${url.hostname} in its subjectAltName?)`);
      } else if (/certificate required|bad certificate|unknown ca|handshake failure/i.test(e.message)) {
        const alert = /alert ([a-z ]+?)(?::|$)/i.exec(e.message)?.[1] ?? e.message.trim();
        finish(
          `etcd at ${where} refused this client's certificate (TLS alert: ${alert}): ${files.cert ? 'store.etcd.tls.cert is not signed by the CA etcd trusts (--trusted-ca-file)' : 'etcd requires one: set store.etcd.tls.cert and store.etcd.tls.key'}`,
        );
      } else {
        finish(`etcd at ${where}: ${e.message}`);
      }
    });
    socket.once('close', () => finish(`etcd at ${where} closed the TLS connection without answering`));
  });
}
