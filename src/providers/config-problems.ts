import { formatPath, type ConfigProblem } from '../config/problems.js';
import type { RotatorConfig } from '../config/schema.js';
import { systemClock } from '../core/clock.js';
import { createProvider } from './registry.js';
import type { Provider } from './types.js';

/**
 * What each target's provider sees wrong with it (unknown site, region...): the provider owns its
 * tables. Runs on a config that passed the schema (a ConfigChecks['config']); paths from the root.
 */
export function providerProblems(config: RotatorConfig): ConfigProblem[] {
  const providers = new Map<string, Provider>();
  return config.targets.flatMap((t, i) => {
    let provider = providers.get(t.provider);
    if (!provider) {
      provider = createProvider(t.provider, { fetch: globalThis.fetch, clock: systemClock, timeoutMs: 0 });
      providers.set(t.provider, provider);
    }
    return provider
      .validateTarget(t)
      .map((p) => ({ path: formatPath(['targets', i, ...p.path]), message: p.message }));
  });
}
