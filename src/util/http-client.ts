import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What one call to the cloud sends: the providers' subset of fetch's RequestInit. */
export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  /** Sent as is (the signed bytes); Content-Length is set from it. */
  body?: Uint8Array | string | undefined;
  signal?: AbortSignal | undefined;
  /** Redirects are never followed (a 3xx comes back as it is); fetch needs to be told. */
  redirect?: 'manual';
}

/** The answer: fetch's Response as far as the providers read it. */
export interface HttpResponseLike {
  status: number;
  headers: { forEach(cb: (value: string, key: string) => void): void };
  text(): Promise<string>;
}

/**
 * The HTTP client the providers and the data-plane login check take. The global `fetch` satisfies
 * it (tests pass it); the worker uses {@link createKeepAliveClient}.
 */
export type HttpClient = (url: string, init: HttpRequestInit) => Promise<HttpResponseLike>;

export interface KeepAliveClientOptions {
  /** Sockets per origin (default 256: above the worker's usual concurrency). */
  maxSockets?: number;
  /**
   * How long an idle socket is kept for reuse (default 4 s). Below the 5 s idle timeout of Node's
   * own servers and far below the load balancers' in front of the clouds' APIs (60 s and more), so
   * we close an idle connection before the server does rather than race it.
   */
  idleMs?: number;
  /** Larger answers are cut off with an error (default 1 MiB; the clouds' answers are a few KB). */
  maxResponseBytes?: number;
}

export interface KeepAliveClient extends HttpClient {
  /** Destroys every socket, idle or in use: call it once the calls are done (at shutdown). */
  close(): void;
}

/** An error from the client; its cause carries a Node-style `code`, as fetch's errors do. */
export class HttpClientError extends Error {
  constructor(message: string, code: string, source?: unknown) {
    super(message, { cause: { code, source } });
    this.name = code === 'ABORT_ERR' ? 'AbortError' : 'HttpClientError';
  }
}

class Headers {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  forEach(cb: (value: string, key: string) => void): void {
    for (const key in this.raw) {
      const v = this.raw[key];
      if (v !== undefined) cb(Array.isArray(v) ? v.join(', ') : v, key);
    }
  }
}

/**
 * A keep-alive HTTP(S) client on node:http. Why not the global fetch: on the worker's profile,
 * undici with its web streams, AbortSignal plumbing and header objects was the largest block of
 * CPU per rotation after GC, and each rotation makes four to six calls. This client reuses
 * connections, buffers the (small) answers, and does only what the providers use: method, headers,
 * body, the caller's signal; no redirects, no cookies, no decompression. A request that fails before
 * an answer is an error, which the providers classify as `unknown-outcome` (it may have arrived):
 * it is never retried here, not even on a reused socket, so a reset is sent exactly once per call.
 */
export function createKeepAliveClient(opts: KeepAliveClientOptions = {}): KeepAliveClient {
  const agentOptions = {
    keepAlive: true,
    maxSockets: opts.maxSockets ?? 256,
    maxFreeSockets: opts.maxSockets ?? 256,
    // The agent destroys a free socket that stays idle this long.
    timeout: opts.idleMs ?? 4_000,
    scheduling: 'lifo' as const,
  };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);
  const maxBytes = opts.maxResponseBytes ?? 1024 * 1024;

  const client = ((url: string, init: HttpRequestInit): Promise<HttpResponseLike> =>
    new Promise((resolve, reject) => {
      const signal = init.signal;
      if (signal?.aborted) {
        reject(new HttpClientError('aborted before the request was sent', 'ABORT_ERR', signal.reason));
        return;
      }
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new HttpClientError('invalid URL', 'ERR_INVALID_URL'));
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new HttpClientError(`unsupported protocol ${target.protocol}`, 'ERR_UNSUPPORTED_PROTOCOL'));
        return;
      }
      const send = secure ? httpsRequest : httpRequest;
      let settled = false;
      const onAbort = () => {
        req.destroy(new HttpClientError('aborted', 'ABORT_ERR', signal?.reason));
      };
      const done = (err: Error | undefined, res?: HttpResponseLike) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = send(
        target,
        { method: init.method, headers: init.headers, agent: secure ? https : http },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              done(new HttpClientError(`answer larger than ${maxBytes} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (err) => done(err));
          res.on('aborted', () => done(new HttpClientError('answer cut off', 'ECONNRESET')));
          res.on('end', () => {
            const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            const headers = new Headers(res.headers);
            const status = res.statusCode ?? 0;
            done(undefined, { status, headers, text: async () => body.toString('utf8') });
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        done(
          err instanceof HttpClientError
            ? err
            : new HttpClientError('connection failed', err.code ?? 'ECONNFAILED', err),
        ),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(init.body ?? undefined);
    })) as KeepAliveClient;
  client.close = () => {
    http.destroy();
    https.destroy();
  };
  return client;
}
