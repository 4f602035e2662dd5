import type { NcpSite } from '../../config/provider-ids.js';

export interface NcpSiteInfo {
  baseUrl: string;
  /** Region code → API path prefix. */
  regions: Readonly<Record<string, string>>;
}

/** CDSS API gateways per site and region (cloud-apis.md; `fin` only from NCP's SDK). */
export const NCP_SITE_TABLE: Readonly<Record<NcpSite, NcpSiteInfo>> = {
  public: {
    baseUrl: 'https://clouddatastreamingservice.apigw.ntruss.com',
    regions: { KR: '/api/v1', SGN: '/api/sgn-v1', JPN: '/api/jpn-v1' },
  },
  gov: {
    baseUrl: 'https://clouddatastreamingservice.apigw.gov-ntruss.com',
    regions: { KR: '/api/v1', KRS: '/api/krs-v1' },
  },
  fin: {
    baseUrl: 'https://fin-clouddatastreamingservice.apigw.fin-ntruss.com',
    regions: { FKR: '/api/v1' },
  },
};

/** The region's path prefix, matching the region code case-insensitively. */
export function ncpPrefix(site: NcpSite, region: string): string | undefined {
  return NCP_SITE_TABLE[site]?.regions[region.toUpperCase()];
}
