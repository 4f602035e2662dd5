import { Agent, request } from 'node:http';

/**
 * The part of fetch the providers use (src/providers/shared/http.ts: method, headers, body, signal;
 * status, text(), headers.forEach), over node:http with a keep-alive agent. For the bench's
 * comparison against the global fetch (undici), whose per-request cost dominates a rotation's CPU.
 * http: only (the sandbox); a real client would take https the same way.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

interface MinimalResponse {
  status: number;
  headers: { forEach(cb: (value: string, key: string) => void): void; get(name: string): string | null };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

function call(input: string | URL | Request, init?: RequestInit): Promise<MinimalResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const req = request(
      url,
      {
        method: init?.method ?? 'GET',
        headers: (init?.headers ?? {}) as Record<string, string>,
        agent,
        ...(init?.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const raw = res.headers;
          resolve({
            status: res.statusCode ?? 0,
            headers: {
              forEach(cb) {
                for (const [k, v] of Object.entries(raw)) if (v !== undefined) cb(String(v), k);
              },
              get: (name) => {
                const v = raw[name.toLowerCase()];
                return v === undefined ? null : String(v);
              },
            },
            text: async () => body.toString('utf8'),
            arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init?.body === undefined || init.body === null ? undefined : (init.body as Uint8Array | string));
  });
}

export const nodeHttpFetch = call as unknown as typeof globalThis.fetch;
