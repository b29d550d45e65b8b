// A small client of the HTTP API (global fetch), used by the CLI. Failures are ApiError (the server answered with
// an error) or ApiUnreachable (it did not answer).

export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  readonly requestId?: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

export class ApiUnreachable extends Error {
  override readonly name = 'ApiUnreachable';
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly token?: string;
  /** Sent as X-Project: the project the requests act in. */
  readonly project?: string;
  readonly fetch?: typeof fetch;
  /** Default 5 minutes: a VM create waits for the backend and the switches. */
  readonly timeoutMs?: number;
}

export class ApiClient {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  get<T>(path: string): Promise<T> {
    return this.request('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request('POST', path, body);
  }

  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request('PATCH', path, body);
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.project) headers['x-project'] = this.options.project;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 300_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiUnreachable(`cannot reach the API at ${this.base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: ApiErrorBody } | undefined)?.error;
      throw new ApiError(res.status, err ?? { code: `http_${res.status}`, message: `${method} ${path}: HTTP ${res.status} ${res.statusText}` });
    }
    return json as T;
  }
}

/** Path segment escaping for names in URLs. */
export function seg(name: string): string {
  return encodeURIComponent(name);
}
