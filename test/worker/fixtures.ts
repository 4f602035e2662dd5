import { validateConfig } from '../../src/worker/config.js';
import type { RotatorConfig, RotatorConfigInput, TargetConfig } from '../../src/config/schema.js';

type TargetInput = RotatorConfigInput['targets'][number];

/** An OTC target on the sandbox's conventions; credentials are env references. */
export function otcTarget(id: string, extra: Partial<TargetInput> = {}): TargetInput {
  return {
    id,
    provider: 'otc-css',
    region: 'eu-de',
    projectId: 'p0000000000000000000000000000001',
    clusterId: `c-${id}`.replace(/[^A-Za-z0-9-]/g, '-'),
    credentials: { accessKey: { env: 'TEST_OTC_AK' }, secretKey: { env: 'TEST_OTC_SK' } },
    secret: { id: `test/${id}` },
    ...extra,
  };
}

/** A validated config (through the real schema) with the given targets and overrides. */
export function makeConfig(
  prefix: string,
  redisUrl: string,
  targets: TargetInput[],
  extra: Partial<RotatorConfigInput> = {},
): RotatorConfig {
  const result = validateConfig({
    redis: { url: redisUrl, prefix },
    store: { type: 'file', path: '/nonexistent/unused.json' },
    targets,
    ...extra,
  });
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return result.config;
}

/** Test-only schedules below the config's 1-minute minimum. */
export function withEvery(target: TargetConfig, every: number): TargetConfig {
  return { ...target, schedule: { every } };
}
