import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { NCP_SITES, PROVIDER_IDS } from './provider-ids.js';
import { SECRET_FORMATS } from './secret-formats.js';
import { parseDuration } from './duration.js';
import { redisSchema } from './redis-schema.js';
import { secretRefSchema } from './secret-ref.js';

/**
 * The config file's shape. Everything here is pure: reading the file and resolving
 * `{ env }` / `{ file }` references live in load.ts and refs.ts.
 */

const oneOf = (values: readonly string[]) => `must be one of: ${values.join(', ')}`;

// Shared with the redis block (redis-schema.ts), hence in a file of its own.
export { secretRefSchema, type SecretRef } from './secret-ref.js';

export const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration '${value}': use e.g. 500ms, 30s, 5m, 1h, 30d`,
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * Remembers a pure check's answer per string: thousands of targets share a handful of time zones and
 * cron expressions, and each check costs tens of microseconds. Bounded: cleared when it fills up.
 */
function memoized<T>(check: (key: string) => T, max = 1024): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (cache.has(key)) return cache.get(key) as T;
    const answer = check(key);
    if (cache.size >= max) cache.clear();
    cache.set(key, answer);
    return answer;
  };
}

const isValidTimeZone = memoized((tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
});

/** Why a cron expression is invalid, or undefined when it is valid. */
const cronProblem = memoized((expr: string): string | undefined => {
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    if (expr.trim().split(/\s+/).length < 5) throw new Error('too few fields');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
});

export const scheduleSchema = z.union(
  [
    z.strictObject({
      cron: z.string().superRefine((expr, ctx) => {
        const problem = cronProblem(expr);
        if (problem !== undefined) {
          ctx.addIssue({ code: 'custom', message: `invalid cron expression '${expr}': ${problem}` });
        }
      }),
      tz: z
        .string()
        .refine(isValidTimeZone, { message: 'must be an IANA time zone such as UTC or Europe/Berlin' })
        .default('UTC'),
    }),
    z.strictObject({
      every: durationSchema.refine((ms) => ms >= 60_000, { message: 'must be at least 1m' }),
    }),
  ],
  { error: () => 'must be { cron: "<expression>", tz?: ZONE } or { every: DURATION }' },
);
export type Schedule = z.infer<typeof scheduleSchema>;

export const retrySchema = z.strictObject({
  attempts: z.number().int().min(1).max(1000).default(12),
  initialDelay: durationSchema.default(30_000),
  maxDelay: durationSchema.default(3_600_000),
});
export type RetryConfig = z.infer<typeof retrySchema>;

export const policyOverrideSchema = z.strictObject({
  length: z
    .union([
      z.number().int().positive(),
      z.strictObject({ min: z.number().int().positive(), max: z.number().int().positive() }),
    ])
    .optional(),
  /** Specials to draw from: must be a subset of what the provider allows. */
  specials: z.string().min(1).optional(),
  /** Minimum number of character classes (upper, lower, digit, special) that must appear. */
  minClasses: z.number().int().min(1).max(4).optional(),
  /** Extra substrings never to produce (case-insensitive), on top of the provider's. */
  forbid: z.array(z.string().min(1)).optional(),
});
export type PolicyOverride = z.infer<typeof policyOverrideSchema>;

/** Timings of one rotation; every value is a duration. */
export const rotationTimingSchema = z.strictObject({
  /** How long to wait for the cluster to accept an operation before applying. */
  readyTimeout: durationSchema.default(600_000),
  /** How long to wait for the cluster to settle after the reset was accepted. */
  settleTimeout: durationSchema.default(1_800_000),
  /** Interval between two status polls. */
  pollInterval: durationSchema.default(15_000),
  /** Timeout of one HTTP call to a cloud. */
  requestTimeout: durationSchema.default(30_000),
  /** Total time a target may keep answering 409 (busy) before an alert. */
  busyBudget: durationSchema.default(7_200_000),
  /** How many freshly generated passwords the cloud may reject before an alert. */
  maxPasswordRejections: z.number().int().min(1).max(20).default(3),
});
export type RotationTiming = z.infer<typeof rotationTimingSchema>;

const credentialsSchema = z.strictObject({
  accessKey: secretRefSchema.optional(),
  secretKey: secretRefSchema.optional(),
  /** IAM token (Huawei/OTC only), instead of AK/SK. */
  token: secretRefSchema.optional(),
});

const targetSecretSchema = z.strictObject({
  /** Name of the secret in the store. */
  id: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[A-Za-z0-9/_+=.@-]+$/, 'may contain only letters, digits and / _ + = . @ -'),
  /**
   * Username written into a json secret that has none (an existing `username` field is kept).
   * Default: the cluster's own manager user where the cloud reports it (NCP), else the provider's
   * default (admin for CSS, the CMAK user for NCP).
   */
  username: z.string().min(1).optional(),
  /**
   * What the secret's text holds: `json` (default), any JSON object whose `password` the rotator
   * sets, every other field kept as it is; or `text`, the bare password.
   */
  format: z.enum(SECRET_FORMATS, { error: () => oneOf(SECRET_FORMATS) }).optional(),
});

const dataPlaneSchema = z.strictObject({
  /** URL that answers 200 to HTTP basic auth with the current password (e.g. the cluster's https endpoint). */
  url: z.url(),
  username: z.string().min(1).optional(),
});

export const TARGET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const NCP_RESET_APIS = ['resetMGMTPassword', 'resetCMAKPassword'] as const;

export const targetSchema = z.strictObject({
  id: z
    .string()
    .regex(
      TARGET_ID_PATTERN,
      'must be 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit',
    ),
  provider: z.enum(PROVIDER_IDS, { error: () => oneOf(PROVIDER_IDS) }),
  /** NCP only. */
  site: z.enum(NCP_SITES, { error: () => oneOf(NCP_SITES) }).optional(),
  region: z.string().min(1),
  /** NCP only: the CDSS cluster number. */
  serviceGroupInstanceNo: z.string().regex(/^\d+$/, 'must be a string of digits').optional(),
  /** NCP only: which reset API to call; the seed's resetCMAKPassword has been retired by NCP. */
  resetApi: z.enum(NCP_RESET_APIS, { error: () => oneOf(NCP_RESET_APIS) }).optional(),
  /** Huawei/OTC only. */
  projectId: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a project id (letters, digits, dashes)')
    .optional(),
  /** Huawei/OTC only. */
  clusterId: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a cluster id (letters, digits, dashes)')
    .optional(),
  credentials: credentialsSchema,
  secret: targetSecretSchema,
  endpoint: z.url().optional(),
  schedule: scheduleSchema.optional(),
  retry: retrySchema.partial().optional(),
  timing: rotationTimingSchema.partial().optional(),
  policy: policyOverrideSchema.optional(),
  dataPlane: dataPlaneSchema.optional(),
  /** Allows http:// (not only https://) for `endpoint` and `dataPlane.url` on a non-loopback host. */
  allowInsecureHttp: z.boolean().optional(),
  enabled: z.boolean().default(true),
});
export type TargetConfig = z.infer<typeof targetSchema>;

const rateLimitSchema = z.strictObject({
  /** Requests allowed per window, per cloud account (access key). */
  max: z.number().int().positive(),
  per: durationSchema.default(1_000).refine((ms) => ms >= 1, 'must be at least 1ms'),
});
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;

/**
 * AWS Secrets Manager allows 50 PutSecretValue + UpdateSecretVersionStage calls per second per
 * account and region, combined and not adjustable; 40 leaves headroom for other writers.
 */
export const AWS_STORE_RATE_LIMIT_DEFAULT = { max: 40, per: 1_000 } as const;

const awsStoreSchema = z.strictObject({
  type: z.literal('aws-secrets-manager'),
  region: z.string().min(1),
  endpoint: z.url().optional(),
  /** Create the secret when it does not exist yet. */
  create: z.boolean().default(true),
  kmsKeyId: z.string().min(1).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  /**
   * Store writes per window for this account and region, shared by every worker (reads are not
   * limited). Default AWS_STORE_RATE_LIMIT_DEFAULT, applied by storeRateLimit().
   */
  rateLimit: rateLimitSchema.optional(),
});

const fileStoreSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1),
  /** Encryption key (32 bytes, base64 or hex). Without it the store creates `<path>.key` with mode 0600. */
  key: secretRefSchema.optional(),
  /** Store writes per window, shared by every worker on this file; none unless set. */
  rateLimit: rateLimitSchema.optional(),
});

const STORE_TYPES = ['aws-secrets-manager', 'file'] as const;
export const storeSchema = z.discriminatedUnion('type', [awsStoreSchema, fileStoreSchema], {
  error: () => `type ${oneOf(STORE_TYPES)}`,
});
export type StoreConfig = z.infer<typeof storeSchema>;

/** The write limit of a store: its own `rateLimit`, else the type's default (none for file). */
export function storeRateLimit(store: StoreConfig): RateLimitConfig | undefined {
  if (store.rateLimit) return store.rateLimit;
  return store.type === 'aws-secrets-manager' ? { ...AWS_STORE_RATE_LIMIT_DEFAULT } : undefined;
}

const ALERT_TYPES = ['log', 'webhook', 'slack'] as const;
export const alertSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('log') }),
    z.strictObject({
      type: z.literal('webhook'),
      url: z.union([z.url(), secretRefSchema], {
        error: () => 'must be a URL or { env } / { file } reference',
      }),
      /** Signing secret for the Standard Webhooks `webhook-signature` header: `whsec_<base64>` or raw. */
      hmacKey: secretRefSchema.optional(),
    }),
    z.strictObject({
      type: z.literal('slack'),
      /** A Slack incoming-webhook URL carries its own credential: a reference only. */
      url: secretRefSchema,
    }),
  ],
  { error: () => `type ${oneOf(ALERT_TYPES)}` },
);
export type AlertConfig = z.infer<typeof alertSchema>;

export const configSchema = z
  .strictObject({
    redis: redisSchema.prefault({}),
    store: storeSchema,
    alerts: z.array(alertSchema).default([]),
    defaults: z
      .strictObject({
        schedule: scheduleSchema.default({ cron: '0 3 1 * *', tz: 'UTC' }),
        retry: retrySchema.prefault({}),
        timing: rotationTimingSchema.prefault({}),
      })
      .prefault({}),
    /** Per provider: a rate limit of calls to that cloud, per account, shared by all workers. */
    providers: z
      .partialRecord(
        z.enum(PROVIDER_IDS, { error: () => oneOf(PROVIDER_IDS) }),
        z.strictObject({ rateLimit: rateLimitSchema.optional() }),
      )
      .default({}),
    worker: z
      .strictObject({
        concurrency: z.number().int().min(1).max(1000).default(10),
        shutdownTimeout: durationSchema.default(30_000),
        /** BullMQ job lock: renewed every half of it; a worker silent this long loses its jobs. */
        lockDuration: durationSchema
          .default(30_000)
          .refine((ms) => ms >= 5_000, 'must be at least 5s (the lock is renewed every half of it)'),
        /** How often each worker looks for jobs whose worker died (stalled jobs). */
        stalledInterval: durationSchema.default(30_000).refine((ms) => ms >= 1_000, 'must be at least 1s'),
        /** Stalls of one job before it fails for good (a rotation resumes safely after each). */
        maxStalledCount: z.number().int().min(0).max(1000).default(10),
        /** Repeats of one alert (same target and reason) within this window are folded. */
        alertFoldWindow: durationSchema.default(3_600_000),
        /**
         * Per-target lease of a running rotation, renewed every third of it: a dead holder's lease
         * ends after at most this long, and another writer's pending version older than this counts
         * as orphaned (adopted by the next rotation, finished by the pending sweep).
         */
        leaseDuration: durationSchema
          .default(30_000)
          .refine((ms) => ms >= 3_000 && ms <= 600_000, 'must be from 3s to 10m'),
      })
      .prefault({}),
    http: z
      .strictObject({
        port: z.number().int().min(0).max(65535),
        host: z.string().default('127.0.0.1'),
        /** Bearer token for the API, the dashboard and /metrics. */
        token: secretRefSchema,
        dashboard: z
          .strictObject({
            /**
             * Bull Board without retry/duplicate/add/clean/pause (default true): each of those can
             * start a rotation outside the queue's deduplication. Writes, when enabled, still pass
             * the per-target lease.
             */
            readOnly: z.boolean().default(true),
          })
          .prefault({}),
      })
      .optional(),
    audit: z
      .strictObject({
        path: z.string().min(1).default('./data/audit.jsonl'),
        /** HMAC key of the chain: then a trail rewritten without it fails `audit verify`. */
        key: secretRefSchema.optional(),
      })
      .prefault({}),
    jobs: z
      .strictObject({
        keepCompleted: durationSchema.default(30 * 86_400_000),
        keepFailed: durationSchema.default(90 * 86_400_000),
      })
      .prefault({}),
    watchdog: z
      .strictObject({
        every: durationSchema.default(3_600_000),
        /** Slack on top of the schedule's interval before a target counts as overdue. */
        grace: durationSchema.default(86_400_000),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
        pretty: z.boolean().default(false),
      })
      .prefault({}),
    targets: z.array(targetSchema).min(1, 'at least one target is required'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    // Two rotations of one cluster password, or of one secret, would fight over it: one owner each.
    const clusters = new Map<string, string>();
    const secrets = new Map<string, string>();
    cfg.targets.forEach((t, i) => {
      const first = seen.get(t.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'id'],
          message: `duplicate target id '${t.id}' (first at targets[${first}])`,
        });
      } else {
        seen.set(t.id, i);
        const cluster = clusterIdentity(t);
        const owner = cluster && clusters.get(cluster.key);
        if (cluster && owner !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', i, cluster.field],
            message: `target '${t.id}' rotates the same cluster as target '${owner}' (${cluster.text}): one target per cluster`,
          });
        } else if (cluster) clusters.set(cluster.key, t.id);
        const secretOwner = secrets.get(t.secret.id);
        if (secretOwner !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', i, 'secret', 'id'],
            message: `target '${t.id}' uses the same secret.id '${t.secret.id}' as target '${secretOwner}': one target per secret`,
          });
        } else secrets.set(t.secret.id, t.id);
      }
      for (const issue of targetCrossFieldIssues(t)) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, ...issue.path], message: issue.message });
      }
    });
  });

export type RotatorConfigInput = z.input<typeof configSchema>;
export type RotatorConfig = z.infer<typeof configSchema>;

/** The cluster a target rotates: provider plus serviceGroupInstanceNo (NCP) or projectId + clusterId. */
function clusterIdentity(
  t: TargetConfig,
): { key: string; field: 'serviceGroupInstanceNo' | 'clusterId'; text: string } | undefined {
  if (t.serviceGroupInstanceNo !== undefined) {
    return {
      key: JSON.stringify([t.provider, t.serviceGroupInstanceNo]),
      field: 'serviceGroupInstanceNo',
      text: `${t.provider} serviceGroupInstanceNo ${t.serviceGroupInstanceNo}`,
    };
  }
  if (t.projectId !== undefined && t.clusterId !== undefined) {
    return {
      key: JSON.stringify([t.provider, t.projectId, t.clusterId]),
      field: 'clusterId',
      text: `${t.provider} projectId ${t.projectId} clusterId ${t.clusterId}`,
    };
  }
  return undefined;
}

export interface CrossFieldIssue {
  path: (string | number)[];
  message: string;
}

/** The fields the cross-field rules read: a parsed target, or a raw one whose provider is known. */
export interface CrossFieldTarget {
  provider: TargetConfig['provider'];
  site?: unknown;
  serviceGroupInstanceNo?: unknown;
  resetApi?: unknown;
  projectId?: unknown;
  clusterId?: unknown;
  endpoint?: unknown;
  dataPlane?: unknown;
  allowInsecureHttp?: unknown;
  credentials: { accessKey?: unknown; secretKey?: unknown; token?: unknown };
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the host. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The host of an http:// URL that is not loopback; undefined for https, loopback or a non-URL. */
export function insecureHttpHost(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname) ? parsed.host : undefined;
}

/** The URLs of a target over which a credential or a password travels, with their paths. */
function credentialUrls(
  t: Pick<CrossFieldTarget, 'endpoint' | 'dataPlane'>,
): { path: (string | number)[]; url: unknown }[] {
  const dataPlane = t.dataPlane !== null && typeof t.dataPlane === 'object' ? t.dataPlane : {};
  return [
    { path: ['endpoint'], url: t.endpoint },
    { path: ['dataPlane', 'url'], url: (dataPlane as { url?: unknown }).url },
  ];
}

/**
 * Where a target allowed to use http:// (`allowInsecureHttp: true`) does send credentials in clear
 * text: a warning for check-config and the worker's start, path from the config's root.
 */
export function insecureHttpWarnings(config: Pick<RotatorConfig, 'targets'>): CrossFieldIssue[] {
  const warnings: CrossFieldIssue[] = [];
  config.targets.forEach((t, i) => {
    if (t.allowInsecureHttp !== true) return;
    for (const { path, url } of credentialUrls(t)) {
      const host = insecureHttpHost(url);
      if (host === undefined) continue;
      warnings.push({
        path: ['targets', i, ...path],
        message: `http:// to ${host} sends credentials and passwords in clear text (allowed by allowInsecureHttp: true)`,
      });
    }
  });
  return warnings;
}

/** Rules that depend on the provider: which fields it needs and which it does not understand. */
export function targetCrossFieldIssues(t: CrossFieldTarget): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = [];
  const need = (field: keyof CrossFieldTarget) => {
    if (t[field] === undefined) issues.push({ path: [field], message: `required for ${t.provider}` });
  };
  const forbid = (field: keyof CrossFieldTarget, onlyFor: string) => {
    if (t[field] !== undefined)
      issues.push({ path: [field], message: `only applies to ${onlyFor}, not ${t.provider}` });
  };
  if (t.allowInsecureHttp !== true) {
    for (const { path, url } of credentialUrls(t)) {
      const host = insecureHttpHost(url);
      if (host === undefined) continue;
      issues.push({
        path,
        message:
          `http:// to ${host} would send credentials and passwords in clear text: use https://, ` +
          'or set allowInsecureHttp: true on this target to allow it (loopback hosts need no flag)',
      });
    }
  }
  const { accessKey, secretKey, token } = t.credentials;
  if (t.provider === 'ncp-cdss') {
    need('site');
    need('serviceGroupInstanceNo');
    forbid('projectId', 'huaweicloud-css and otc-css');
    forbid('clusterId', 'huaweicloud-css and otc-css');
    if (!accessKey) issues.push({ path: ['credentials', 'accessKey'], message: 'required for ncp-cdss' });
    if (!secretKey) issues.push({ path: ['credentials', 'secretKey'], message: 'required for ncp-cdss' });
    if (token)
      issues.push({
        path: ['credentials', 'token'],
        message: 'ncp-cdss signs with access key and secret key only',
      });
  } else {
    need('projectId');
    need('clusterId');
    forbid('site', 'ncp-cdss');
    forbid('serviceGroupInstanceNo', 'ncp-cdss');
    forbid('resetApi', 'ncp-cdss');
    if (token && (accessKey || secretKey)) {
      issues.push({ path: ['credentials'], message: 'give either accessKey + secretKey or token, not both' });
    } else if (!token) {
      if (!accessKey)
        issues.push({
          path: ['credentials', 'accessKey'],
          message: `required for ${t.provider} (or give token)`,
        });
      if (!secretKey)
        issues.push({
          path: ['credentials', 'secretKey'],
          message: `required for ${t.provider} (or give token)`,
        });
    }
  }
  return issues;
}
