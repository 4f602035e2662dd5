import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxCluster, SandboxClusterSpec } from './cluster.js';
import { handleCss } from './css-handler.js';
import { handleDataPlane } from './dataplane.js';
import { decodePart, type Exchange, readBody, type SandboxState, send } from './http.js';
import { handleNcp, type NcpApi } from './ncp-handler.js';
import { ClusterRegistry, RequestLog, type SandboxLogEntry } from './registry.js';
import { css, ncp } from './responses.js';

export interface SandboxOptions {
  /** Default 0: a free port. */
  port?: number;
  host?: string;
  clusters?: SandboxClusterSpec[];
  /** The sandbox's own time (signature skew, busy windows). Default Date.now. */
  clock?: { now(): number };
  /** Default busy time after a reset, ms (default 2000). */
  busyMs?: number;
  /** Default extra delay before each answer, ms (default 0). */
  latencyMs?: number;
  /** Called for every request log entry (never carries a password). */
  onRequest?: (entry: SandboxLogEntry) => void;
  /** Log entries kept in memory (oldest dropped first; default 100000). */
  maxLogEntries?: number;
  /**
   * NCP APIs the gateway no longer routes (e.g. `resetCMAKPassword`, retired by NCP): answered like
   * any unknown route, 404 `{"error":{"errorCode":"300","message":"Not Found Exception"}}`.
   */
  retiredNcpApis?: readonly NcpApi[];
}

export interface SandboxClusters {
  add(spec: SandboxClusterSpec): SandboxCluster;
  /** Throws for an unknown key. */
  get(key: string): SandboxCluster;
  has(key: string): boolean;
  list(): SandboxCluster[];
  readonly size: number;
}

export interface Sandbox {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly clusters: SandboxClusters;
  /** The request log, oldest first. */
  requests(): readonly SandboxLogEntry[];
  clearRequests(): void;
  setBusyMs(ms: number): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

/** Hands a request to its cloud's handler by path; `retired` NCP APIs are unknown routes. */
async function route(x: Exchange, state: SandboxState, retired: ReadonlySet<NcpApi>): Promise<void> {
  const { path, requestId } = x;
  let m = /^\/_dataplane\/([^/]+)$/.exec(path);
  if (m) {
    const key = decodePart(m[1]!);
    return key === undefined
      ? send(x, { status: 404, body: '' }, 'not-found')
      : handleDataPlane(x, state, key);
  }
  m = /^\/v1\.0\/([^/]+)\/clusters\/([^/]+)(\/password\/reset)?$/.exec(path);
  if (m) {
    const [projectId, clusterId] = [decodePart(m[1]!), decodePart(m[2]!)];
    if (projectId === undefined || clusterId === undefined)
      return send(x, css.noApi(requestId), 'no such api');
    return handleCss(x, state, projectId, clusterId, m[3] !== undefined);
  }
  m = /^\/api\/([^/]+)\/cluster\/(resetMGMTPassword|resetCMAKPassword|getClusterInfoList)\/(\d+)$/.exec(path);
  if (m && !retired.has(m[2] as NcpApi)) return handleNcp(x, state, m[1]!, m[2] as NcpApi, m[3]!);
  // NCP's gateway answers every route it does not know (wrong region prefix, retired or misspelt
  // path) with its own 404 / errorCode 300, before it looks at the signature.
  if (path.startsWith('/api/')) return send(x, ncp.noApi(), 'no such api (gateway 300)');
  return send(
    x,
    { status: 404, body: JSON.stringify({ error: 'no such API in the sandbox' }) },
    'no such api',
  );
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const clock = options.clock ?? { now: () => Date.now() };
  const state: SandboxState = {
    clusters: new ClusterRegistry(),
    clock,
    defaults: { busyMs: options.busyMs ?? 2000, latencyMs: options.latencyMs ?? 0 },
  };
  const log = new RequestLog(options.maxLogEntries ?? 100_000, options.onRequest);
  const retired = new Set<NcpApi>(options.retiredNcpApis ?? []);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const entry: SandboxLogEntry = { time: clock.now(), operation: 'unknown', status: 0, outcome: '' };
    const requestId = randomUUID();
    const body = await readBody(req);
    const x: Exchange = { req, res, target, path, body: body ?? Buffer.alloc(0), requestId, entry };
    try {
      if (body === undefined)
        return send(x, { status: 413, body: JSON.stringify({ error: 'body too large' }) }, 'too large');
      return await route(x, state, retired);
    } finally {
      log.record(entry);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the sandbox must show, not pass for a cloud answer.
      if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' });
      res.end(`sandbox internal error: ${(err as Error)?.message ?? String(err)}`);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const registry = state.clusters;
  registry.baseUrl = `http://${host}:${address.port}`;
  for (const spec of options.clusters ?? []) registry.add(spec);

  const clusters: SandboxClusters = {
    add: (spec) => registry.add(spec),
    get(key) {
      const c = registry.byKey(key);
      if (!c) throw new Error(`unknown sandbox cluster '${key}'`);
      return c;
    },
    has: (key) => registry.byKey(key) !== undefined,
    list: () => registry.list(),
    get size() {
      return registry.size;
    },
  };

  return {
    url: registry.baseUrl,
    port: address.port,
    clusters,
    requests: () => log.entries(),
    clearRequests: () => log.clear(),
    setBusyMs(ms) {
      state.defaults.busyMs = ms;
    },
    setLatency(ms) {
      state.defaults.latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
