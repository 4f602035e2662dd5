import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { type Clock, systemClock } from '../core/clock.js';
import type { RotationControl } from '../queue/control.js';
import { type AuthScheme, authChallenges, checkAuthorization } from './auth.js';

/** The logger calls the server makes (a pino Logger fits). */
export interface HttpLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** One readiness check, or named checks run together (`{ redis, store }`) so a 503 names the part. */
export type ReadyCheck = (() => Promise<void>) | Record<string, () => Promise<void>>;

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Bearer token (and the dashboard's Basic password). */
  token: string;
  control: RotationControl;
  ready: ReadyCheck;
  /** Prometheus registry served at /metrics (createRotatorMetrics().registry). */
  registry: Registry;
  /** BullMQ queues shown by Bull Board. */
  queues: readonly Queue[];
  logger: HttpLogger;
  /**
   * Job counts for the metrics are read by the registry's own gauge (see createRotatorMetrics);
   * accepted here so one options object can feed both.
   */
  queueCounts?: () => Promise<unknown>;
  /**
   * Bull Board without retry/clean/add/remove buttons (default true): its writes bypass the
   * rotations' deduplication (config http.dashboard.readOnly).
   */
  dashboardReadOnly?: boolean;
  /** How long /readyz waits for a check (default 3s). */
  readyTimeoutMs?: number;
  /**
   * How long one answer of the checks serves /readyz (default 5s; 0: every request runs them).
   * Requests meanwhile, and those that arrive while the checks run, share it.
   */
  readyCacheMs?: number;
  /** Time source of that cache (default: the system clock). */
  clock?: Pick<Clock, 'now'>;
  /** Applied to error messages before they are logged or returned (e.g. redact live secrets). */
  scrub?: (text: string) => string;
}

export interface HttpServerHandle {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DASHBOARD_PATH = '/admin/queues';

const targetsBodySchema = z.strictObject({
  targets: z
    .array(z.string().min(1, 'must be a non-empty target id'), { error: 'must be an array of target ids' })
    .min(1, 'must name at least one target'),
});
const allBodySchema = z.strictObject({ all: z.literal(true, { error: 'must be true' }) });

type RotationBody = { targets: string[] } | { all: true };
interface FieldProblem {
  path: string;
  message: string;
}

/** Validates a POST /api/rotations body; every problem names its field. */
export function parseRotationBody(
  body: unknown,
): { ok: true; value: RotationBody } | { ok: false; problems: FieldProblem[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return {
      ok: false,
      problems: [
        { path: 'body', message: 'must be a JSON object: { "targets": ["id", ...] } or { "all": true }' },
      ],
    };
  }
  const hasTargets = 'targets' in body;
  const hasAll = 'all' in body;
  if (hasTargets && hasAll) {
    return { ok: false, problems: [{ path: 'body', message: 'give either "targets" or "all", not both' }] };
  }
  if (!hasTargets && !hasAll) {
    return { ok: false, problems: [{ path: 'targets', message: 'required (or "all": true)' }] };
  }
  const parsed = hasTargets ? targetsBodySchema.safeParse(body) : allBodySchema.safeParse(body);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems: FieldProblem[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: key, message: 'unknown field' });
    } else {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      problems.push({ path: path.replace(/^\./, '') || 'body', message: issue.message });
    }
  }
  return { ok: false, problems };
}

/** Starts the worker's HTTP server; resolves once it listens. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const { token, control, logger } = options;
  if (token.length === 0) throw new Error('http.token: must not be empty');
  const scrub = options.scrub ?? ((s: string) => s);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // /readyz is unauthenticated and probed often: the checks run at most once per readyCacheMs.
  const clock = options.clock ?? systemClock;
  const readyCacheMs = options.readyCacheMs ?? 5_000;
  let readyAnswer: { at: number; failed: ReadyFailure[] } | undefined;
  let readyRunning: Promise<ReadyFailure[]> | undefined;
  const readiness = (): Promise<ReadyFailure[]> => {
    if (readyAnswer && clock.now() - readyAnswer.at < readyCacheMs) {
      return Promise.resolve(readyAnswer.failed);
    }
    readyRunning ??= runReadyChecks(options.ready, options.readyTimeoutMs ?? 3_000, scrub)
      .then((failed) => {
        readyAnswer = { at: clock.now(), failed };
        // Unauthenticated: the answer names the failing checks only; their errors (paths, hosts) are logged.
        if (failed.length > 0) logger.warn({ failed }, 'not ready');
        return failed;
      })
      .finally(() => {
        readyRunning = undefined;
      });
    return readyRunning;
  };

  app.get('/readyz', async (_req, res) => {
    const failed = await readiness();
    if (failed.length === 0) {
      res.json({ status: 'ready' });
      return;
    }
    res.status(503).json({ status: 'not ready', failing: failed.map((f) => f.check) });
  });

  // Everything below needs a credential. Basic only for the browser dashboard: a browser replays
  // cached Basic credentials on any request, so the API and /metrics take Bearer only.
  app.use('/metrics', requireAuth(['bearer']));
  app.use('/api', requireAuth(['bearer']));
  app.use(DASHBOARD_PATH, requireAuth(['basic', 'bearer']), sameOriginForWrites);

  app.get('/metrics', async (_req, res, next) => {
    try {
      const text = await options.registry.metrics();
      res.setHeader('Content-Type', options.registry.contentType);
      res.send(text);
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/targets', async (_req, res, next) => {
    try {
      res.json(await control.statuses());
    } catch (err) {
      next(err);
    }
  });

  app.post('/api/rotations', express.json({ limit: '64kb' }), async (req, res, next) => {
    try {
      if (!req.is('application/json')) {
        res.status(415).json({ error: 'Content-Type must be application/json' });
        return;
      }
      const parsed = parseRotationBody(req.body);
      if (!parsed.ok) {
        res.status(400).json({ error: 'invalid request', problems: parsed.problems });
        return;
      }
      const body = parsed.value;
      let targets: string[] | 'all' = 'all';
      if ('targets' in body) {
        const known = new Set((await control.statuses()).map((s) => s.id));
        const unknown = [...new Set(body.targets.filter((id) => !known.has(id)))];
        if (unknown.length > 0) {
          res.status(404).json({ error: `unknown target id(s): ${unknown.join(', ')}`, unknown });
          return;
        }
        targets = [...new Set(body.targets)];
      }
      const enqueued = await control.rotate({ targets, trigger: 'api', actor: 'api' });
      logger.info(
        { targets: enqueued.map((e) => e.targetId), jobIds: enqueued.map((e) => e.jobId) },
        'rotation requested over the API',
      );
      res.status(202).json(enqueued);
    } catch (err) {
      next(err);
    }
  });

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map(
      (q) => new BullMQAdapter(q, { readOnlyMode: options.dashboardReadOnly ?? true }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'secret-rotator' } },
  });
  app.use(DASHBOARD_PATH, serverAdapter.getRouter());

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  // Express recognises an error handler by its four parameters.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string; name?: string };
    if (e?.type === 'entity.parse.failed') {
      res
        .status(400)
        .json({ error: 'invalid request', problems: [{ path: 'body', message: 'not valid JSON' }] });
      return;
    }
    if (e?.type === 'entity.too.large') {
      res.status(413).json({ error: 'request body too large' });
      return;
    }
    logger.error(
      { method: req.method, path: req.path, err: { name: e?.name, message: scrub(String(e?.message)) } },
      'http request failed',
    );
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  });

  function requireAuth(allowed: readonly AuthScheme[]) {
    const challenges = authChallenges(allowed);
    return (req: Request, res: Response, next: NextFunction) => {
      const result = checkAuthorization(req.headers.authorization, token, allowed);
      if (result.ok) {
        next();
        return;
      }
      // Never the header itself: it holds the (wrong or right) credential.
      logger.warn(
        {
          method: req.method,
          path: req.originalUrl.split('?')[0],
          remote: req.socket.remoteAddress,
          reason: result.reason,
        },
        'http authentication refused',
      );
      res.setHeader('WWW-Authenticate', challenges);
      res.status(401).json({ error: 'authentication required' });
    };
  }

  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, dashboard: `${url}${DASHBOARD_PATH}` }, 'http server listening');

  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Browsers send cached Basic credentials with cross-site requests too: the dashboard's
 * state-changing calls must come from its own origin.
 */
function sameOriginForWrites(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
    next();
    return;
  }
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const sameOrigin =
    (origin === undefined || hostOf(origin) === req.headers.host) &&
    (site === undefined || site === 'same-origin' || site === 'none');
  if (sameOrigin) {
    next();
    return;
  }
  res.status(403).json({ error: 'cross-origin request refused' });
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

interface ReadyFailure {
  check: string;
  error: string;
}

async function runReadyChecks(
  ready: ReadyCheck,
  timeoutMs: number,
  scrub: (s: string) => string,
): Promise<ReadyFailure[]> {
  const checks = typeof ready === 'function' ? { ready } : ready;
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<ReadyFailure | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
          }),
        ]);
        return undefined;
      } catch (err) {
        return { check: name, error: scrub((err as Error)?.message ?? String(err)) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((r): r is ReadyFailure => r !== undefined);
}
