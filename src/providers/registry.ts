import { createHuaweiCloudCss } from './huaweicloud-css/index.js';
import { PROVIDER_IDS, type ProviderId } from '../config/provider-ids.js';
import { createNcpCdss } from './ncp-cdss/index.js';
import { createOtcCss } from './otc-css/index.js';
import type { Provider, ProviderDeps, ProviderFactory } from './types.js';

/** Every provider, by id. A folder under src/providers/ that is not here fails a test. */
const FACTORIES = new Map<ProviderId, ProviderFactory>([
  ['ncp-cdss', createNcpCdss],
  ['huaweicloud-css', createHuaweiCloudCss],
  ['otc-css', createOtcCss],
]);

export function providerIds(): ProviderId[] {
  return [...FACTORIES.keys()];
}

export function isProviderId(id: string): id is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(id) && FACTORIES.has(id as ProviderId);
}

export function createProvider(id: string, deps: ProviderDeps): Provider {
  const factory = isProviderId(id) ? FACTORIES.get(id) : undefined;
  if (!factory) throw new Error(`unknown provider '${id}': must be one of: ${providerIds().join(', ')}`);
  return factory(deps);
}
