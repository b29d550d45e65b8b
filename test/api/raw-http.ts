// HTTP/1.1 over a bare socket: the request line goes out exactly as written (no client normalises the target), and
// the status line comes back. For the attacker's tests of the API (auth, limits).
import net from 'node:net';

export interface RawResponse {
  /** 0 when the server closed without an answer. */
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/** Sends `text` and reads until the server closes; fails after `timeoutMs`. */
export function rawRequest(port: number, text: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(text));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(text).split('\r\n')[0])}`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined); // a reset after the answer: what was read counts
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const head = split < 0 ? all : all.slice(0, split);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : 0, head, body: split < 0 ? '' : all.slice(split + 4) });
    });
  });
}

/** A request with `Connection: close`; a body (JSON) gets its Content-Type and Content-Length. */
export function requestText(method: string, target: string, options: { headers?: readonly string[]; body?: string } = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...(options.headers ?? [])];
  if (options.body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(options.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${options.body ?? ''}`;
}

/** Runs `jobs` with at most `width` at a time, in order of start. */
export async function pool<T, R>(items: readonly T[], width: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await job(items[i]!);
      }
    }),
  );
  return out;
}

const hex = (c: string, upper: boolean): string =>
  [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');

/** `path` with the character at `i` percent-encoded. */
export function encodeAt(path: string, i: number, upper = true): string {
  return path.slice(0, i) + hex(path[i]!, upper) + path.slice(i + 1);
}

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Endings a parser or router might drop or read as part of the path. */
export const TRAILERS = ['/', '?', '?x=1', '#', '#x', ';', ';x=1', '%00', '%20', '%09', '%0a', '.', '/.', '/..', '%2f', '%2F', '%5c', '\\', '*', '~'];

/**
 * Spellings of one concrete path (`/api/v1/vms/vm-a/start`) that a lenient parser, router or proxy could take for it:
 * each character percent-encoded (upper and lower hex), absolute-form targets, dot segments (plain and encoded),
 * doubled slashes, case variants, trailing characters, encoded and backslash separators.
 */
export function spellings(path: string): string[] {
  const out = new Set<string>([path]);
  for (let i = 0; i < path.length; i++) {
    out.add(encodeAt(path, i, true));
    out.add(encodeAt(path, i, false));
  }
  for (const scheme of ['http://127.0.0.1', 'http://x', 'HTTP://X', 'http://x:80', 'https://x', 'http://user@x', 'http://x?']) out.add(`${scheme}${path}`);
  const segments = path.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const before = `/${segments.slice(0, i).join('/')}`.replace(/^\/$/, '');
    const after = segments.slice(i).join('/');
    out.add(`${before}/./${after}`);
    out.add(`${before}/%2e/${after}`);
    out.add(`${before}/x/../${after}`);
    out.add(`${before}/x/%2e%2e/${after}`);
    out.add(`${before}/x/%2E%2E/${after}`);
    out.add(`${before}//${after}`);
    if (i > 0) {
      for (const sep of ['%2f', '%2F', '%5c', '%5C', '\\']) out.add(`${before}${sep}${after}`);
      const upper = [...segments];
      upper[i] = upper[i]!.toUpperCase();
      out.add(`/${upper.join('/')}`);
    }
  }
  out.add(`/api/v1/../v1/${segments.slice(2).join('/')}`);
  out.add(`/api/../api/${segments.slice(1).join('/')}`);
  out.add(`//${path}`);
  out.add(path.toUpperCase());
  out.add(`/${segments.map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join('/')}`);
  for (const t of TRAILERS) out.add(`${path}${t}`);
  return [...out];
}

/** A few spellings worth trying with every method. */
export function coreSpellings(path: string): string[] {
  return [path, encodeAt(path, 1), `http://x${path}`, `/api/v1/../v1/${path.split('/').slice(3).join('/')}`, `/${path}`, `${path}/`, `${path}?`, `${path}%00`];
}
