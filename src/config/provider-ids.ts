/** Every provider id the registry knows; the config accepts only these. Config vocabulary, so it
 * lives in src/config, below the providers that implement the ids. */
export const PROVIDER_IDS = ['ncp-cdss', 'huaweicloud-css', 'otc-css'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export const NCP_SITES = ['public', 'gov', 'fin'] as const;
export type NcpSite = (typeof NCP_SITES)[number];
