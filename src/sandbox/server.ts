import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ProviderId } from '../config/provider-ids.js';
import {
  NCP_API_PREFIXES,
  NCP_MANAGER_USER_PATTERN,
  SandboxCluster,
  type SandboxClusterSpec,
} from './cluster.js';
import type { SandboxFault } from './faults.js';
import { checkCssPassword, checkNcpPassword } from './password-rules.js';
import { type CannedAnswer, css, faultAnswer, ncp } from './responses.js';
import { verifyNcpV2 } from './verify-ncp-v2.js';
import { verifySdkHmacSha256 } from './verify-sdk-hmac.js';

/**
 * The headers an AK/SK-signed CSS call must have signed besides host and x-sdk-date. The reference
 * signs `content-type;host;x-project-id;x-sdk-date` (the providers send and sign Content-Type on GET
 * too): a sent X-Project-Id or Content-Type must be signed, and so must Content-Type whenever there
 * is a body, so neither can be swapped in transit.
 */
function cssMustSign(req: Pick<IncomingMessage, 'headers'>, body: Uint8Array): string[] {
  const out: string[] = [];
  if (req.headers['content-type'] !== undefined || body.length > 0) out.push('content-type');
  if (req.headers['x-project-id'] !== undefined) out.push('x-project-id');
  return out;
}

export const CSS_MAX_SKEW_MS = 15 * 60_000;
export const NCP_MAX_SKEW_MS = 5 * 60_000;
const MAX_BODY_BYTES = 64 * 1024;

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

export const NCP_APIS = ['resetMGMTPassword', 'resetCMAKPassword', 'getClusterInfoList'] as const;
export type NcpApi = (typeof NCP_APIS)[number];

export type SandboxOperation = 'reset' | 'status' | 'dataplane' | 'unknown';

/** One handled request. No password, secret key or token, by construction. */
export interface SandboxLogEntry {
  time: number;
  provider?: ProviderId;
  cluster?: string;
  /** The access key that signed it, `token` for IAM-token calls. */
  accessKey?: string;
  operation: SandboxOperation;
  /** HTTP status answered; 0 when the connection was dropped or left hanging. */
  status: number;
  /** `ok`, `busy CSS.0011`, `auth skew`, `password-rejected CSS.2026`, `fault hang`... */
  outcome: string;
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

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  target: string;
  path: string;
  body: Buffer;
  requestId: string;
  entry: SandboxLogEntry;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const clock = options.clock ?? { now: () => Date.now() };
  let defaultBusyMs = options.busyMs ?? 2000;
  let defaultLatencyMs = options.latencyMs ?? 0;
  const maxLog = options.maxLogEntries ?? 100_000;
  const retiredNcpApis = new Set<NcpApi>(options.retiredNcpApis ?? []);
  let log: SandboxLogEntry[] = [];

  const byKey = new Map<string, SandboxCluster>();
  const cssByPath = new Map<string, SandboxCluster>();
  const ncpByNo = new Map<string, SandboxCluster>();
  const cssSecrets = new Map<string, string>();
  const ncpSecrets = new Map<string, string>();
  const knownTokens = new Set<string>();
  let baseUrl = '';

  function record(entry: SandboxLogEntry): void {
    log.push(entry);
    if (log.length > maxLog) log = log.slice(log.length - Math.floor(maxLog / 2));
    options.onRequest?.(entry);
  }

  function send(ctx: Ctx, a: CannedAnswer, outcome: string, headers: Record<string, string> = {}): void {
    ctx.entry.status = a.status;
    ctx.entry.outcome = outcome;
    const h: Record<string, string> = { ...headers, ...a.headers };
    if (a.body !== '') h['content-type'] = 'application/json';
    ctx.res.writeHead(a.status, h);
    ctx.res.end(a.body);
  }

  function addCluster(spec: SandboxClusterSpec): SandboxCluster {
    const where = `sandbox cluster${spec.key ? ` '${spec.key}'` : ''}`;
    if (!spec.accessKey || !spec.secretKey) throw new Error(`${where}: accessKey and secretKey are required`);
    if (typeof spec.password !== 'string' || spec.password === '')
      throw new Error(`${where}: password is required`);
    if (spec.provider === 'ncp-cdss' && spec.username !== undefined) {
      if (!NCP_MANAGER_USER_PATTERN.test(spec.username) || spec.username === 'admin')
        throw new Error(
          `${where}: username (the NCP manager user) must be 3-15 lower-case letters, not admin`,
        );
    }
    if (spec.provider === 'ncp-cdss' && spec.authorityEnable !== undefined)
      throw new Error(`${where}: authorityEnable applies to huaweicloud-css and otc-css only`);
    const d = spec.applyDelayMs;
    if (d !== undefined && !(Number.isFinite(d) && d >= 0))
      throw new Error(`${where}: applyDelayMs must be a number of ms >= 0, got ${String(d)}`);
    let key: string;
    let routeKey: string;
    const secrets = spec.provider === 'ncp-cdss' ? ncpSecrets : cssSecrets;
    if (spec.provider === 'ncp-cdss') {
      if (!spec.serviceGroupInstanceNo || !/^\d+$/.test(spec.serviceGroupInstanceNo)) {
        throw new Error(`${where}: serviceGroupInstanceNo (digits) is required for ncp-cdss`);
      }
      if (spec.apiPrefix && !(NCP_API_PREFIXES as readonly string[]).includes(spec.apiPrefix)) {
        throw new Error(`${where}: apiPrefix must be one of: ${NCP_API_PREFIXES.join(', ')}`);
      }
      key = spec.key ?? `ncp-${spec.serviceGroupInstanceNo}`;
      routeKey = spec.serviceGroupInstanceNo;
      if (ncpByNo.has(routeKey))
        throw new Error(`${where}: serviceGroupInstanceNo ${routeKey} is already used`);
    } else if (spec.provider === 'huaweicloud-css' || spec.provider === 'otc-css') {
      if (!spec.projectId || !spec.clusterId)
        throw new Error(`${where}: projectId and clusterId are required for ${spec.provider}`);
      key = spec.key ?? spec.clusterId;
      routeKey = `${spec.projectId}/${spec.clusterId}`;
      if (cssByPath.has(routeKey))
        throw new Error(`${where}: project ${spec.projectId} already has cluster ${spec.clusterId}`);
    } else {
      throw new Error(`${where}: provider must be one of: ncp-cdss, huaweicloud-css, otc-css`);
    }
    if (byKey.has(key)) throw new Error(`sandbox cluster '${key}' already exists`);
    const known = secrets.get(spec.accessKey);
    if (known !== undefined && known !== spec.secretKey) {
      throw new Error(
        `${where}: access key ${spec.accessKey} is already registered with a different secret key`,
      );
    }
    secrets.set(spec.accessKey, spec.secretKey);
    for (const t of spec.tokens ?? []) knownTokens.add(t);
    const cluster = new SandboxCluster(spec, key, `${baseUrl}/_dataplane/${encodeURIComponent(key)}`);
    byKey.set(key, cluster);
    (spec.provider === 'ncp-cdss' ? ncpByNo : cssByPath).set(routeKey, cluster);
    return cluster;
  }

  /** Counts concurrent resets and overlaps; undone when the answer is finished or the socket is gone. */
  function trackReset(ctx: Ctx, cluster: SandboxCluster): void {
    if (cluster.inFlightResets > 0 || cluster.isBusy(clock.now())) cluster.overlaps += 1;
    cluster.inFlightResets += 1;
    cluster.maxConcurrentResets = Math.max(cluster.maxConcurrentResets, cluster.inFlightResets);
    ctx.res.once('close', () => {
      cluster.inFlightResets -= 1;
    });
  }

  /** Answers a scripted fault; true when the request was handled by it. */
  function applyFault(ctx: Ctx, cluster: SandboxCluster, fault: SandboxFault, apply?: () => void): boolean {
    const p = cluster.provider;
    const ridHeader: Record<string, string> = p === 'ncp-cdss' ? {} : { 'x-request-id': ctx.requestId };
    switch (fault.type) {
      case 'http': {
        const canned = faultAnswer(p, fault.status, ctx.requestId);
        const body =
          fault.body === undefined
            ? canned.body
            : typeof fault.body === 'string'
              ? fault.body
              : JSON.stringify(fault.body);
        send(
          ctx,
          { status: fault.status, body, headers: { ...fault.headers } },
          `fault http ${fault.status}`,
          ridHeader,
        );
        return true;
      }
      case 'throttle': {
        const headers = { 'retry-after': fault.retryAfter ?? '2' };
        const a =
          p === 'ncp-cdss'
            ? ncp.gateway(429, '410', 'Throttle Limited', headers)
            : css.gateway(
                429,
                'APIG.0308',
                'The throttling threshold has been reached',
                ctx.requestId,
                headers,
              );
        send(ctx, a, 'fault throttle', ridHeader);
        return true;
      }
      case 'hang':
        ctx.entry.status = 0;
        ctx.entry.outcome = 'fault hang';
        return true;
      case 'drop-after-apply':
        apply?.();
        ctx.entry.status = 0;
        ctx.entry.outcome = apply ? 'fault drop-after-apply (applied)' : 'fault drop';
        ctx.req.socket.destroy();
        return true;
      case 'malformed-json': {
        const status = ctx.entry.operation === 'reset' && p !== 'ncp-cdss' ? 400 : 200;
        send(
          ctx,
          { status, body: p === 'ncp-cdss' ? '{"code":0,"message":"SUCC' : '{"errCode":"CSS.00' },
          'fault malformed-json',
          ridHeader,
        );
        return true;
      }
      case 'result-null':
        send(
          ctx,
          {
            status: 200,
            body: JSON.stringify({ code: 0, message: 'SUCCESS', result: null, requestId: ctx.requestId }),
          },
          'fault result-null',
        );
        return true;
      case 'busy': {
        const a = p === 'ncp-cdss' ? ncp.busy('changing', ctx.requestId) : css.busy();
        send(ctx, a, 'fault busy', ridHeader);
        return true;
      }
      case 'busy202':
        send(ctx, css.busy202(), 'fault busy202 CSS.0011', ridHeader);
        return true;
    }
  }

  async function handleCss(ctx: Ctx, projectId: string, clusterId: string, isReset: boolean): Promise<void> {
    const ridHeader = { 'x-request-id': ctx.requestId };
    const { req } = ctx;
    ctx.entry.operation = isReset ? 'reset' : 'status';
    if (req.method !== (isReset ? 'POST' : 'GET'))
      return send(ctx, css.noApi(ctx.requestId), 'no such api', ridHeader);

    const route = cssByPath.get(`${projectId}/${clusterId}`);
    let identity: { accessKey?: string; token?: string };
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string' && token !== '') {
      ctx.entry.accessKey = 'token';
      identity = { token };
    } else {
      const v = verifySdkHmacSha256(
        { method: req.method ?? '', target: ctx.target, headers: req.headers, body: ctx.body },
        {
          secretFor: (ak) => cssSecrets.get(ak),
          nowMs: clock.now(),
          maxSkewMs: CSS_MAX_SKEW_MS,
          mustSign: cssMustSign(req, ctx.body),
        },
      );
      if (v.accessKey) ctx.entry.accessKey = v.accessKey;
      if (!v.ok) {
        const a =
          v.reason === 'skew'
            ? css.gateway(
                401,
                'APIGW.0303',
                'Incorrect app authentication information: the request has expired (X-Sdk-Date)',
                ctx.requestId,
              )
            : css.gateway(
                401,
                'APIGW.0301',
                'Incorrect IAM authentication information: verify aksk signature fail',
                ctx.requestId,
              );
        return send(ctx, a, `auth ${v.reason}`, ridHeader);
      }
      identity = { accessKey: v.accessKey };
    }
    const owns = (c: SandboxCluster) =>
      identity.token !== undefined
        ? (c.spec.tokens ?? []).includes(identity.token)
        : c.spec.accessKey === identity.accessKey;
    if (identity.token !== undefined && !knownTokens.has(identity.token)) {
      const a = css.gateway(
        401,
        'APIGW.0301',
        'Incorrect IAM authentication information: token invalid',
        ctx.requestId,
      );
      return send(ctx, a, 'auth token', ridHeader);
    }
    const projectHeader = req.headers['x-project-id'];
    if (projectHeader !== undefined && projectHeader !== projectId) {
      return send(
        ctx,
        css.error(400, 'CSS.0001', 'X-Project-Id does not match the project in the URI.'),
        'bad-request project',
        ridHeader,
      );
    }
    if (!route || !owns(route)) return send(ctx, css.notFound(), 'not-found CSS.0015', ridHeader);
    const cluster = route;
    ctx.entry.provider = cluster.provider;
    ctx.entry.cluster = cluster.key;
    if (isReset) trackReset(ctx, cluster);

    const latency = cluster.latencyMs(defaultLatencyMs);
    if (latency > 0) await delay(latency);

    const apply = (pw: string) => cluster.apply(pw, clock.now(), cluster.busyMs(defaultBusyMs));
    let newPassword: string | undefined;
    if (isReset) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(ctx.body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const ct = String(req.headers['content-type'] ?? '');
      const ok =
        ct.startsWith('application/json') &&
        typeof parsed === 'object' &&
        parsed !== null &&
        !Array.isArray(parsed) &&
        Object.keys(parsed).length === 1 &&
        typeof (parsed as { newpassword?: unknown }).newpassword === 'string';
      if (ok) newPassword = (parsed as { newpassword: string }).newpassword;
    }
    const fault = cluster.takeFault(isReset ? 'reset' : 'status');
    if (
      fault &&
      applyFault(ctx, cluster, fault, newPassword === undefined ? undefined : () => apply(newPassword!))
    )
      return;

    if (!isReset) {
      const busy = cluster.isBusy(clock.now());
      const failed = cluster.lifecycle === 'failed';
      const doc = {
        id: cluster.spec.clusterId,
        name: cluster.key,
        status: failed ? '303' : busy ? '100' : '200',
        actions: busy ? ['RESETPASSWORD'] : [],
        actionProgress: busy ? { RESETPASSWORD: '50%' } : {},
        authorityEnable: cluster.spec.authorityEnable ?? true,
        httpsEnable: true,
        endpoint: '127.0.0.1:9200',
        datastore: { type: 'elasticsearch', version: '7.10.2' },
        instances: [
          { id: `${cluster.key}-ess-1`, type: 'ess', status: failed ? '303' : '200', ip: '127.0.0.1' },
        ],
        ...(failed ? { failedReason: { errorCode: 'CSS.6000', errorMsg: 'simulated failure' } } : {}),
      };
      return send(ctx, { status: 200, body: JSON.stringify(doc) }, `ok ${doc.status}`, ridHeader);
    }
    if (newPassword === undefined) return send(ctx, css.badBody(), 'bad-request body', ridHeader);
    if (cluster.isBusy(clock.now()) || cluster.inFlightResets > 1)
      return send(ctx, css.busy(), 'busy CSS.0011', ridHeader);
    if (cluster.spec.authorityEnable === false)
      return send(ctx, css.notSecurityMode(), 'precondition not in security mode', ridHeader);
    const violation = checkCssPassword(newPassword);
    if (violation)
      return send(
        ctx,
        css.error(400, violation.code, violation.message.replace(`${violation.code} : `, '')),
        `password-rejected ${violation.code}`,
        ridHeader,
      );
    apply(newPassword);
    return send(ctx, { status: 200, body: '' }, 'ok', ridHeader);
  }

  async function handleNcp(ctx: Ctx, prefix: string, api: string, no: string): Promise<void> {
    const { req } = ctx;
    const isReset = api !== 'getClusterInfoList';
    ctx.entry.operation = isReset ? 'reset' : 'status';
    if (req.method !== 'POST' || !(NCP_API_PREFIXES as readonly string[]).includes(prefix))
      return send(ctx, ncp.noApi(), 'no such api (gateway 300)');
    const v = verifyNcpV2(
      { method: req.method, target: ctx.target, headers: req.headers },
      { secretFor: (ak) => ncpSecrets.get(ak), nowMs: clock.now(), maxSkewMs: NCP_MAX_SKEW_MS },
    );
    if (v.accessKey) ctx.entry.accessKey = v.accessKey;
    if (!v.ok) {
      const details = {
        missing: 'missing auth headers',
        'unknown-key': 'unknown access key',
        skew: 'timestamp out of range',
        signature: 'signature mismatch',
      }[v.reason];
      return send(ctx, ncp.authFailed(details), `auth ${v.reason}`);
    }
    const cluster = ncpByNo.get(no);
    if (!cluster || cluster.spec.accessKey !== v.accessKey || (cluster.spec.apiPrefix ?? 'v1') !== prefix) {
      return send(ctx, ncp.notFound(ctx.requestId), 'not-found');
    }
    ctx.entry.provider = cluster.provider;
    ctx.entry.cluster = cluster.key;
    if (isReset) trackReset(ctx, cluster);

    const latency = cluster.latencyMs(defaultLatencyMs);
    if (latency > 0) await delay(latency);

    let newPassword: string | undefined;
    if (isReset) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(ctx.body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const pw = (parsed as { kafkaManagerUserPassword?: unknown } | null)?.kafkaManagerUserPassword;
      if (typeof parsed === 'object' && parsed !== null && typeof pw === 'string') newPassword = pw;
    }
    const apply = (pw: string) => cluster.apply(pw, clock.now(), cluster.busyMs(defaultBusyMs));
    const fault = cluster.takeFault(isReset ? 'reset' : 'status');
    if (
      fault &&
      applyFault(ctx, cluster, fault, newPassword === undefined ? undefined : () => apply(newPassword!))
    )
      return;

    const busy = cluster.isBusy(clock.now());
    const lifecycle = cluster.lifecycle === 'failed' ? 'error' : busy ? 'changing' : 'running';
    if (!isReset) {
      const result = {
        clusterName: cluster.key,
        serviceGroupInstanceNo: cluster.spec.serviceGroupInstanceNo,
        kafkaManagerUserName: cluster.username,
        status: lifecycle,
      };
      return send(ctx, ncp.ok(result, ctx.requestId), `ok ${lifecycle}`);
    }
    if (newPassword === undefined) return send(ctx, ncp.badBody(ctx.requestId), 'bad-request body');
    if (busy || cluster.inFlightResets > 1) return send(ctx, ncp.busy(lifecycle, ctx.requestId), 'busy 1002');
    const violation = checkNcpPassword(newPassword);
    if (violation)
      return send(
        ctx,
        ncp.cdss(400, Number(violation.code), violation.message, ctx.requestId),
        `password-rejected ${violation.code}`,
      );
    apply(newPassword);
    return send(ctx, ncp.ok(true, ctx.requestId), 'ok');
  }

  function handleDataPlane(ctx: Ctx, key: string): void {
    ctx.entry.operation = 'dataplane';
    const cluster = byKey.get(key);
    if (!cluster || ctx.req.method !== 'GET')
      return send(ctx, { status: 404, body: JSON.stringify({ error: 'no such cluster' }) }, 'not-found');
    ctx.entry.provider = cluster.provider;
    ctx.entry.cluster = cluster.key;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(String(ctx.req.headers.authorization ?? ''));
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? '' : decoded.slice(0, colon);
    const pass = colon < 0 ? '' : decoded.slice(colon + 1);
    if (m && user === cluster.username && pass === cluster.loginPassword(clock.now())) {
      return send(
        ctx,
        { status: 200, body: JSON.stringify({ cluster: cluster.key, authenticated: true }) },
        'ok',
      );
    }
    return send(
      ctx,
      { status: 401, body: JSON.stringify({ error: 'unauthorized' }) },
      m ? 'wrong credentials' : 'no credentials',
      {
        'www-authenticate': 'Basic realm="sandbox"',
      },
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const entry: SandboxLogEntry = { time: clock.now(), operation: 'unknown', status: 0, outcome: '' };
    const requestId = randomUUID();
    const body = await readBody(req);
    const ctx: Ctx = { req, res, target, path, body: body ?? Buffer.alloc(0), requestId, entry };
    try {
      if (body === undefined)
        return send(ctx, { status: 413, body: JSON.stringify({ error: 'body too large' }) }, 'too large');
      let m = /^\/_dataplane\/([^/]+)$/.exec(path);
      if (m) {
        const key = decode(m[1]!);
        return key === undefined
          ? send(ctx, { status: 404, body: '' }, 'not-found')
          : handleDataPlane(ctx, key);
      }
      m = /^\/v1\.0\/([^/]+)\/clusters\/([^/]+)(\/password\/reset)?$/.exec(path);
      if (m) {
        const [projectId, clusterId] = [decode(m[1]!), decode(m[2]!)];
        if (projectId === undefined || clusterId === undefined)
          return send(ctx, css.noApi(requestId), 'no such api');
        return await handleCss(ctx, projectId, clusterId, m[3] !== undefined);
      }
      m = /^\/api\/([^/]+)\/cluster\/(resetMGMTPassword|resetCMAKPassword|getClusterInfoList)\/(\d+)$/.exec(
        path,
      );
      if (m && !retiredNcpApis.has(m[2] as NcpApi)) return await handleNcp(ctx, m[1]!, m[2]!, m[3]!);
      // NCP's gateway answers every route it does not know (wrong region prefix, retired or misspelt
      // path) with its own 404 / errorCode 300, before it looks at the signature.
      if (path.startsWith('/api/')) return send(ctx, ncp.noApi(), 'no such api (gateway 300)');
      return send(
        ctx,
        { status: 404, body: JSON.stringify({ error: 'no such API in the sandbox' }) },
        'no such api',
      );
    } finally {
      record(entry);
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
  baseUrl = `http://${host}:${address.port}`;
  for (const spec of options.clusters ?? []) addCluster(spec);

  const clusters: SandboxClusters = {
    add: addCluster,
    get(key) {
      const c = byKey.get(key);
      if (!c) throw new Error(`unknown sandbox cluster '${key}'`);
      return c;
    },
    has: (key) => byKey.has(key),
    list: () => [...byKey.values()],
    get size() {
      return byKey.size;
    },
  };

  return {
    url: baseUrl,
    port: address.port,
    clusters,
    requests: () => log,
    clearRequests() {
      log = [];
    },
    setBusyMs(ms) {
      defaultBusyMs = ms;
    },
    setLatency(ms) {
      defaultLatencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
