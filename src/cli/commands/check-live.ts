import type { RotatorConfig, TargetConfig } from '../../config/schema.js';
import type { Clock } from '../../core/clock.js';
import type { SecretRegistry } from '../../log/secret-registry.js';
import { type ErrorKind, isProviderError } from '../../providers/errors.js';
import { UNKNOWN_ROUTE_DETAIL } from '../../providers/ncp-cdss/classify.js';
import { createProvider } from '../../providers/registry.js';
import type { ClusterStatus, ProviderTarget } from '../../providers/types.js';
import { readSecret, SecretFormatError, secretFormatOf } from '../../secrets/format.js';
import type { SecretStore } from '../../secrets/types.js';
import type { HttpClient } from '../../util/http-client.js';
import { resolveCredentials, targetSettings } from '../../worker/components.js';

/**
 * `rotator check-config --live`: every enabled target against the real world, changing nothing. It
 * resolves the credentials, calls the cloud's read-only status API and reads the secret from the
 * store. It never calls a reset API and never writes to the store: only provider.status(),
 * store.getCurrent() and store.describe() are called.
 */

export type CheckName = 'credentials' | 'cluster' | 'security mode' | 'manager user' | 'secret';

export interface CheckRow {
  check: CheckName;
  ok: boolean;
  /** What was found, or why the target would fail. Never a secret value. */
  detail: string;
}

export interface TargetCheck {
  id: string;
  provider: TargetConfig['provider'];
  /** False for a disabled target: not checked, never a failure. */
  checked: boolean;
  ok: boolean;
  rows: CheckRow[];
}

export interface LiveCheckDeps {
  env: NodeJS.ProcessEnv;
  /** Resolved credentials are registered here, and every printed text is scrubbed with it. */
  registry: SecretRegistry;
  fetch: HttpClient;
  clock: Clock;
  store: SecretStore;
  /** Targets checked at once (default 4). */
  concurrency?: number;
}

/** What a failed status call means for the operator. */
const STATUS_FAILURE: Partial<Record<ErrorKind, string>> = {
  auth: 'the cloud refused the credentials',
  'not-found': 'the cluster does not exist (or belongs to another account)',
  throttled: 'the cloud throttled the status call',
  'unknown-outcome': 'no answer from the cloud',
  'bad-response': 'the cloud gave an answer that cannot be read',
};

function clusterRows(target: TargetConfig, status: ClusterStatus, defaultUsername: string): CheckRow[] {
  const rows: CheckRow[] = [];
  if (status.state === 'failed') {
    rows.push({ check: 'cluster', ok: false, detail: `exists but cannot take operations: ${status.detail}` });
  } else if (status.state === 'busy') {
    rows.push({ check: 'cluster', ok: true, detail: `exists, busy (${status.detail}): a rotation waits` });
  } else {
    rows.push({ check: 'cluster', ok: true, detail: 'exists, ready' });
  }
  if (status.securityMode === false) {
    rows.push({
      check: 'security mode',
      ok: false,
      detail: 'off (authorityEnable false): the cluster has no password that can be reset',
    });
  } else {
    rows.push({
      check: 'security mode',
      ok: true,
      detail: status.securityMode === true ? 'on' : `not reported by ${target.provider}`,
    });
  }
  // The user stored beside the password: an explicit secret.username wins over what the cloud reports.
  const explicit = target.secret.username;
  const reported = status.managerUser;
  let detail: string;
  if (explicit !== undefined) {
    detail =
      reported !== undefined && reported !== explicit
        ? `${explicit} (secret.username; the cloud reports ${reported})`
        : `${explicit} (secret.username)`;
  } else if (reported !== undefined) {
    detail = `${reported} (reported by the cloud)`;
  } else {
    detail = `${defaultUsername} (the provider's default)`;
  }
  rows.push({ check: 'manager user', ok: true, detail });
  return rows;
}

/**
 * The secret as the rotation would find it. The seam for the secret's format: today the store's
 * getCurrent() decides what is readable (a value it cannot read throws `corrupt`); a store that
 * reads `secret.format` (json | text) makes the same call answer for that format, unchanged here.
 */
async function secretRow(target: TargetConfig, config: RotatorConfig, store: SecretStore): Promise<CheckRow> {
  const id = target.secret.id;
  try {
    const current = await store.getCurrent(id);
    if (current) {
      const format = secretFormatOf(target);
      // Read it as a rotation would: the error names the shape found, never the content.
      readSecret(current.text, format);
      return { check: 'secret', ok: true, detail: `${id}: readable as ${format}, has a current version` };
    }
    if (await store.describe(id)) {
      return { check: 'secret', ok: true, detail: `${id}: exists, no current version yet` };
    }
    if (config.store.type === 'aws-secrets-manager' && !config.store.create) {
      return {
        check: 'secret',
        ok: false,
        detail: `${id}: does not exist and store.create is false: create it first`,
      };
    }
    return { check: 'secret', ok: true, detail: `${id}: does not exist yet; the first rotation creates it` };
  } catch (err) {
    if (err instanceof SecretFormatError) {
      return { check: 'secret', ok: false, detail: `${id}: ${err.message}` };
    }
    const e = err as { name?: string; kind?: string; message?: string };
    const why =
      e.name === 'SecretStoreError' && e.kind === 'corrupt'
        ? 'not readable'
        : e.name === 'SecretStoreError'
          ? `store ${e.kind ?? 'error'}`
          : 'store error';
    return { check: 'secret', ok: false, detail: `${why}: ${e.message ?? String(err)}` };
  }
}

async function checkTarget(
  target: TargetConfig,
  config: RotatorConfig,
  deps: LiveCheckDeps,
): Promise<TargetCheck> {
  const result: TargetCheck = { id: target.id, provider: target.provider, checked: true, ok: true, rows: [] };
  const rows = result.rows;
  let providerTarget: ProviderTarget | undefined;
  try {
    providerTarget = { config: target, credentials: resolveCredentials(target, deps.env, deps.registry) };
    rows.push({ check: 'credentials', ok: true, detail: 'resolved' });
  } catch (err) {
    rows.push({ check: 'credentials', ok: false, detail: (err as Error).message });
  }
  if (providerTarget) {
    const { timing } = targetSettings(target, config);
    const provider = createProvider(target.provider, {
      fetch: deps.fetch,
      clock: deps.clock,
      timeoutMs: timing.requestTimeout,
    });
    try {
      const status = await provider.status(providerTarget);
      rows.push(...clusterRows(target, status, provider.defaultUsername));
    } catch (err) {
      let detail: string;
      if (!isProviderError(err)) detail = `the status call failed: ${(err as Error).message}`;
      else if (err.detail === UNKNOWN_ROUTE_DETAIL)
        detail = `${UNKNOWN_ROUTE_DETAIL} (${target.provider} status: HTTP ${err.status}, code ${err.vendorCode})`;
      else detail = `${STATUS_FAILURE[err.kind] ?? 'the status call was refused'}: ${err.message}`;
      rows.push({ check: 'cluster', ok: false, detail });
    }
  } else {
    rows.push({ check: 'cluster', ok: false, detail: 'not checked: no credentials' });
  }
  rows.push(await secretRow(target, config, deps.store));
  for (const row of rows) row.detail = deps.registry.scrub(row.detail);
  result.ok = rows.every((r) => r.ok);
  return result;
}

/** Checks every target of the config (disabled ones are listed, not checked), in config order. */
export async function liveCheck(config: RotatorConfig, deps: LiveCheckDeps): Promise<TargetCheck[]> {
  const results: TargetCheck[] = new Array(config.targets.length);
  let next = 0;
  const worker = async () => {
    while (next < config.targets.length) {
      const i = next++;
      const t = config.targets[i]!;
      results[i] = t.enabled
        ? await checkTarget(t, config, deps)
        : { id: t.id, provider: t.provider, checked: false, ok: true, rows: [] };
    }
  };
  const lanes = Math.max(1, Math.min(deps.concurrency ?? 4, config.targets.length));
  await Promise.all(Array.from({ length: lanes }, worker));
  return results;
}

/** One block per target: a header line, then `check  result` rows. */
export function formatLiveCheck(results: readonly TargetCheck[]): string {
  const width = Math.max(...results.flatMap((r) => r.rows.map((row) => row.check.length)), 'CHECK'.length);
  const blocks = results.map((r) => {
    if (!r.checked) return `${r.id} (${r.provider}): disabled, not checked\n`;
    const lines = [`${r.id} (${r.provider}): ${r.ok ? 'ok' : 'WOULD FAIL'}`];
    lines.push(`  ${'CHECK'.padEnd(width)}  RESULT`);
    for (const row of r.rows)
      lines.push(`  ${row.check.padEnd(width)}  ${row.ok ? 'ok' : 'FAIL'}: ${row.detail}`);
    return `${lines.join('\n')}\n`;
  });
  return blocks.join('\n');
}
