// The API's request limits against a real listening server and raw sockets: an oversized body is 413 and creates
// nothing; a client that sends its head and then drips or stalls its body, a slowloris that never finishes its
// headers, an oversized head, an idle keep-alive connection: each is cut off by the server. Timeouts are set short
// (1-2 s) and every wait is bounded generously (the machine is shared): the test asserts that the server closes
// the connection, not how fast.
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.js';
import { rawRequest, requestText } from './raw-http.js';

/** Longest a test waits for the server to cut a connection off. */
const CUTOFF_BOUND_MS = 20_000;

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await makeHarness({
    limits: { bodyLimitBytes: 4096, maxHeaderBytes: 4096, headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000, maxRequestsPerSocket: 3 },
  });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});
afterAll(() => h?.close());

interface Cutoff {
  /** What the server sent before closing. */
  readonly received: string;
  /** Bytes of the drip that went out before the close. */
  readonly sentAfterHead: number;
  readonly ms: number;
}

/**
 * Sends `head`, then one chunk of `drip` every `everyMs` (none when drip is empty: a stall) until the server closes
 * the connection; rejects when it has not closed within CUTOFF_BOUND_MS.
 */
function cutOff(head: string, drip: string, everyMs: number): Promise<Cutoff> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(head);
      if (drip) {
        timer = setInterval(() => {
          if (socket.writable) socket.write(drip[sent++ % drip.length]!);
        }, everyMs);
      }
    });
    const bound = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${CUTOFF_BOUND_MS} ms (sent ${sent} bytes after the head)`));
    }, CUTOFF_BOUND_MS);
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(bound);
      resolve({ received, sentAfterHead: sent, ms: performance.now() - started });
    });
  });
}

const auth = () => `Authorization: Bearer ${h.token}`;

describe('request limits (raw sockets)', () => {
  it('a body over bodyLimitBytes is 413 with a clear error, and nothing is created', async () => {
    const body = JSON.stringify({ name: 'big', pad: 'x'.repeat(5000) });
    const res = await rawRequest(port, requestText('POST', '/api/v1/subnets', { headers: [auth()], body }));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'body_too_large', message: 'request body is larger than this API accepts' });
    // Announced larger than the limit: refused on the head alone, before the body comes.
    const announced = await cutOff(`POST /api/v1/subnets HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`, '', 0);
    expect(announced.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(h.service.listSubnets()).toEqual([]);
  });

  it('headers sent, then the body dripped a byte at a time: cut off (408), the handler never runs', async () => {
    const body = JSON.stringify({ name: 'drip' });
    const head = `POST /api/v1/subnets HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 1000}\r\n\r\n`;
    const r = await cutOff(head, `${body}${' '.repeat(1000)}`, 250);
    console.log(`dripped body: cut off after ${r.ms.toFixed(0)} ms and ${r.sentAfterHead} bytes`);
    expect(r.received === '' || /^HTTP\/1\.1 408 /.test(r.received)).toBe(true);
    expect(r.sentAfterHead).toBeLessThan(body.length + 1000);
    expect(h.service.listSubnets()).toEqual([]);
  });

  it('headers sent, then the body stalls: cut off', async () => {
    const r = await cutOff(`POST /api/v1/subnets HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"na`, '', 0);
    expect(r.received === '' || /^HTTP\/1\.1 408 /.test(r.received)).toBe(true);
    expect(h.service.listSubnets()).toEqual([]);
  });

  it('a slowloris (a header line now and then, never the end of the head) is cut off', async () => {
    const r = await cutOff('GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\n', 'X-Slow: a\r\n', 200);
    console.log(`slowloris: cut off after ${r.ms.toFixed(0)} ms and ${r.sentAfterHead} header bytes`);
    expect(r.received === '' || /^HTTP\/1\.1 408 /.test(r.received)).toBe(true);
  });

  it('a head larger than maxHeaderBytes is 431', async () => {
    const res = await rawRequest(port, requestText('GET', '/api/v1/nodes', { headers: [auth(), `X-Big: ${'y'.repeat(5000)}`] }));
    expect(res.status).toBe(431);
  });

  it('an idle keep-alive connection is closed; a connection serves at most maxRequestsPerSocket requests', async () => {
    const one = `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`;
    const idle = await cutOff(one, '', 0);
    expect(idle.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.received).not.toMatch(/connection: close/i);

    const pipelined = await cutOff(one.repeat(5), '', 0);
    const answers = pipelined.received.match(/HTTP\/1\.1 200 /g) ?? [];
    expect(answers.length).toBe(3);
    expect(pipelined.received).toMatch(/connection: close/i);
  });
});
