// How much and how slowly a client may send: the HTTP server's limits, set on purpose rather than left to Node's and
// fastify's defaults (fastify keeps idle connections 72 s; Node checks its header and request timeouts only every
// 30 s, so a slowloris got that much longer than the timeout said).

export interface ApiLimits {
  /** Largest request body, bytes; larger is 413. */
  readonly bodyLimitBytes: number;
  /** Largest request head (request line and headers), bytes; larger is 431. */
  readonly maxHeaderBytes: number;
  /** Time to receive the request head; a slower client gets 408 and is disconnected. */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request (head and body); then 408 and disconnected. Not the time to answer. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /**
   * A connection with no traffic for this long is closed (0: never), also while its request is being answered, so
   * it must be longer than the slowest operation (a VM create waits for its backend).
   */
  readonly connectionTimeoutMs: number;
  /** Requests one keep-alive connection may make before the server closes it (0: no limit). */
  readonly maxRequestsPerSocket: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  bodyLimitBytes: 64 * 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  connectionTimeoutMs: 600_000,
  maxRequestsPerSocket: 1000,
};

/** How often Node looks for connections past their header or request timeout (its default is 30 s). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** The fastify options that carry `limits`. */
export function serverOptions(limits: ApiLimits) {
  return {
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    },
  };
}
