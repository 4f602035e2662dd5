import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKeepAliveClient, type KeepAliveClient } from '../../src/util/http-client.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('keep-alive HTTP client (real loopback server)', () => {
  let server: Server;
  let base: string;
  let connections: number;
  let seen: Seen[];
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  let client: KeepAliveClient;

  beforeEach(async () => {
    connections = 0;
    seen = [];
    handler = (_req, res) => {
      res.setHeader('x-request-id', 'r-1');
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    };
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        handler(req, res, body);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = createKeepAliveClient();
  });
  afterEach(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends method, headers and the exact body bytes with a Content-Length, and returns status, headers, text', async () => {
    const body = new TextEncoder().encode('{"password":"ü"}');
    const res = await client(`${base}/v1/reset?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sdk-date': '20260101T000000Z' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"ok":true}');
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    expect(headers['x-request-id']).toBe('r-1');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/reset?x=1', body: '{"password":"ü"}' });
    expect(seen[0]!.headers['content-length']).toBe(String(body.byteLength));
    expect(seen[0]!.headers['x-sdk-date']).toBe('20260101T000000Z');
    expect(seen[0]!.headers.host).toBe(new URL(base).host);
  });

  it('reuses one connection for sequential calls (global fetch would too; this is what we pay for)', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await client(`${base}/s`, { method: 'GET', headers: {} });
      await res.text();
    }
    expect(seen).toHaveLength(20);
    expect(connections).toBe(1);
  });

  it('does not follow redirects: a 3xx comes back as it is', async () => {
    handler = (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', `${base}/elsewhere`);
      res.end();
    };
    const res = await client(`${base}/x`, { method: 'POST', headers: {}, body: 'secret-body' });
    expect(res.status).toBe(302);
    expect(seen.map((s) => s.url)).toEqual(['/x']);
  });

  it('aborts on the caller signal with an AbortError, and the server sees the connection closed', async () => {
    handler = () => undefined; // never answers
    const controller = new AbortController();
    const pending = client(`${base}/hang`, { method: 'GET', headers: {}, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects at once when the signal is already aborted, sending nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      client(`${base}/x`, { method: 'GET', headers: {}, signal: controller.signal }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(seen).toHaveLength(0);
  });

  it('a refused connection is an error whose cause carries the code', async () => {
    const port = (server.address() as AddressInfo).port;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    const err = await client(`http://127.0.0.1:${port}/x`, { method: 'GET', headers: {} }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('connection failed');
    expect((err as { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  it('cuts off an answer larger than the limit', async () => {
    const small = createKeepAliveClient({ maxResponseBytes: 1000 });
    handler = (_req, res) => res.end('x'.repeat(5000));
    await expect(small(`${base}/big`, { method: 'GET', headers: {} })).rejects.toThrow(
      /larger than 1000 bytes/,
    );
    small.close();
  });

  it('rejects unsupported protocols and bad URLs without sending', async () => {
    await expect(client('ftp://127.0.0.1/x', { method: 'GET', headers: {} })).rejects.toThrow(
      /unsupported protocol/,
    );
    await expect(client('not a url', { method: 'GET', headers: {} })).rejects.toThrow(/invalid URL/);
  });
});
