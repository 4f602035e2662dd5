import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import {
  AwsError,
  OPERATIONS,
  type Operation,
  SecretsManagerModel,
  WriteQuota,
  type WriteQuotaOptions,
} from './model.js';

/**
 * A Secrets Manager-compatible endpoint on 127.0.0.1 for tests: the JSON 1.1 protocol
 * (`X-Amz-Target: secretsmanager.<Operation>`), the documented semantics of the operations the
 * store uses (see model.ts), SigV4-shaped Authorization required, error bodies as AWS sends them
 * (`{"__type", "message"}`), scripted failures (throttling, 5xx) for tests, and optionally AWS's
 * combined write quota (`writeQuota`), counted as AWS counts it.
 *
 *   const sm = await startSecretsManagerEndpoint();
 *   const store = createStore({ type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true },
 *                             { awsClientConfig: sm.clientConfig() });
 *   ...
 *   await sm.close();
 */
export interface SecretsManagerEndpointOptions {
  region?: string;
  /** The access key the SigV4 credential scope must name (default AKIDROTATORTEST). */
  accessKeyId?: string;
  /** The service's clock (CreatedDate of versions), epoch ms; default Date.now. */
  now?: () => number;
  /**
   * Enforce AWS's combined write quota (see WriteQuota in model.ts), e.g. `{ max: 50, perMs: 1000 }`
   * as AWS does, or scaled down for a benchmark. Time comes from `now` when given, else
   * performance.now(). Default: no quota.
   */
  writeQuota?: WriteQuotaOptions;
}

export interface ScriptedFailure {
  /** Only requests for this operation (default: any). */
  operation?: Operation;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** How many matching requests succeed before the failures start (default 0). */
  after?: number;
  status: number;
  type: string;
  message?: string;
}

export interface RecordedRequest {
  operation: string;
  secretId?: string;
  status: number;
}

export interface SecretsManagerEndpoint {
  url: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** SDK client config for this endpoint: region, endpoint, static credentials, no retries unless given. */
  clientConfig(overrides?: SecretsManagerClientConfig): SecretsManagerClientConfig;
  /** The next `count` matching requests get 400 ThrottlingException "Rate exceeded". */
  throttle(count: number, operation?: Operation): void;
  /** The next matching requests fail as scripted. */
  fail(failure: ScriptedFailure): void;
  /** Raw labels of every version of a secret (deprecated included), sorted; undefined if none. */
  labels(secretId: string): Record<string, string[]> | undefined;
  /** Every request answered, oldest first (operation, SecretId, status; never a body). */
  readonly requests: readonly RecordedRequest[];
  readonly model: SecretsManagerModel;
  /** The write quota and its counts (accepted, throttled), when `writeQuota` was given. */
  readonly writeQuota: WriteQuota | undefined;
  close(): Promise<void>;
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/secretsmanager\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=[0-9a-f]{64}$/;

function checkAuth(req: IncomingMessage, region: string, accessKeyId: string): void {
  const auth = req.headers.authorization;
  if (!auth) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400);
  const m = AUTH_PATTERN.exec(auth);
  if (!m) {
    throw new AwsError('IncompleteSignatureException', 'Authorization header is not a SigV4 signature.', 400);
  }
  const [, key, date, scopeRegion, signed] = m;
  const amzDate = req.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !amzDate.startsWith(date ?? '-')) {
    throw new AwsError(
      'IncompleteSignatureException',
      'X-Amz-Date is missing or does not match the credential scope.',
    );
  }
  const signedHeaders = (signed ?? '').split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    throw new AwsError('IncompleteSignatureException', 'SignedHeaders must include host and x-amz-date.');
  }
  if (scopeRegion !== region) {
    throw new AwsError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${scopeRegion}'.`,
    );
  }
  if (key !== accessKeyId) {
    throw new AwsError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSecretsManagerEndpoint(
  options: SecretsManagerEndpointOptions = {},
): Promise<SecretsManagerEndpoint> {
  const region = options.region ?? 'eu-central-1';
  const credentials = {
    accessKeyId: options.accessKeyId ?? 'AKIDROTATORTEST',
    secretAccessKey: 'rotator-test-secret-access-key',
  };
  const model = new SecretsManagerModel(region, options.now);
  const quotaNow = options.now ?? (() => performance.now());
  const quota = options.writeQuota
    ? new WriteQuota(options.writeQuota.max, options.writeQuota.perMs, options.writeQuota.operations)
    : undefined;
  const failures: (ScriptedFailure & { count: number; after: number })[] = [];
  const requests: RecordedRequest[] = [];

  const send = (res: ServerResponse, status: number, body: unknown, requestId: string) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': requestId,
    });
    res.end(text);
  };

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.')
        ? target.slice('secretsmanager.'.length)
        : target;
      let secretId: string | undefined;
      let status = 200;
      try {
        const text = await readBody(req);
        if (req.method !== 'POST') throw new AwsError('UnknownOperationException', 'Only POST is supported.');
        if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
          throw new AwsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
        }
        checkAuth(req, region, credentials.accessKeyId);
        let body: Record<string, unknown>;
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          throw new AwsError('SerializationException', 'Request body is not JSON.');
        }
        secretId =
          typeof body.SecretId === 'string'
            ? body.SecretId
            : typeof body.Name === 'string'
              ? body.Name
              : undefined;
        if (!(OPERATIONS as readonly string[]).includes(operation)) {
          throw new AwsError(
            'UnknownOperationException',
            `Operation ${operation || '(none)'} is not supported.`,
          );
        }
        // The quota counts a request when it arrives, before the service looks at its parameters.
        quota?.admit(operation, quotaNow());
        const scripted = failures.findIndex((f) => f.operation === undefined || f.operation === operation);
        const f = scripted >= 0 ? failures[scripted]! : undefined;
        if (f && f.after > 0) {
          f.after -= 1;
        } else if (f) {
          f.count -= 1;
          if (f.count <= 0) failures.splice(scripted, 1);
          throw new AwsError(f.type, f.message ?? f.type, f.status);
        }
        const result = model[operation as Operation](body);
        send(res, 200, result, requestId);
      } catch (err) {
        if (err instanceof AwsError) {
          status = err.status;
          send(res, err.status, { __type: err.type, message: err.message }, requestId);
        } else {
          status = 500;
          send(res, 500, { __type: 'InternalServiceError', message: 'internal error' }, requestId);
        }
      }
      requests.push({ operation, ...(secretId !== undefined ? { secretId } : {}), status });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    region,
    credentials,
    model,
    writeQuota: quota,
    requests,
    clientConfig: (overrides = {}) => ({
      region,
      endpoint: url,
      credentials,
      maxAttempts: 1,
      ...overrides,
    }),
    throttle: (count, operation) => {
      failures.push({
        count,
        after: 0,
        status: 400,
        type: 'ThrottlingException',
        message: 'Rate exceeded',
        ...(operation ? { operation } : {}),
      });
    },
    fail: (f) => {
      failures.push({ ...f, count: f.count ?? 1, after: f.after ?? 0 });
    },
    labels: (secretId) => model.labels(secretId),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
