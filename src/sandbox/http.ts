import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxCluster } from './cluster.js';
import type { ClusterRegistry, SandboxLogEntry } from './registry.js';
import type { CannedAnswer } from './responses.js';

/** HTTP plumbing shared by the sandbox's handlers: one request and its answer. */

export const MAX_BODY_BYTES = 64 * 1024;

/** One request being answered; `entry` is its log entry, filled in by the handler. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The request target as sent (path and query), for signature checks. */
  target: string;
  path: string;
  body: Buffer;
  requestId: string;
  entry: SandboxLogEntry;
}

/** What a handler reads besides the request. */
export interface SandboxState {
  readonly clusters: ClusterRegistry;
  /** The sandbox's own time (signature skew, busy windows). */
  readonly clock: { now(): number };
  /** Busy time after a reset and extra delay before each answer, ms; changed at run time. */
  readonly defaults: { busyMs: number; latencyMs: number };
}

/** The request body as JSON, or undefined when it is not JSON. */
export function jsonBody(x: Exchange): unknown {
  try {
    return JSON.parse(x.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The whole body, or undefined when it is larger than {@link MAX_BODY_BYTES} (read to the end anyway). */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
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

/** A percent-decoded path segment, or undefined when it is not valid percent-encoding. */
export function decodePart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Answers with `a` and notes status and outcome in the log entry. */
export function send(
  x: Exchange,
  a: CannedAnswer,
  outcome: string,
  headers: Record<string, string> = {},
): void {
  x.entry.status = a.status;
  x.entry.outcome = outcome;
  const h: Record<string, string> = { ...headers, ...a.headers };
  if (a.body !== '') h['content-type'] = 'application/json';
  x.res.writeHead(a.status, h);
  x.res.end(a.body);
}

/** Counts concurrent resets and overlaps; undone when the answer is finished or the socket is gone. */
export function trackReset(x: Exchange, cluster: SandboxCluster, nowMs: number): void {
  if (cluster.inFlightResets > 0 || cluster.isBusy(nowMs)) cluster.overlaps += 1;
  cluster.inFlightResets += 1;
  cluster.maxConcurrentResets = Math.max(cluster.maxConcurrentResets, cluster.inFlightResets);
  x.res.once('close', () => {
    cluster.inFlightResets -= 1;
  });
}
