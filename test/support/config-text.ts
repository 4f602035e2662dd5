/** A `targets:` block with one valid OTC CSS target, for config tests that vary another block. */
export const ONE_TARGET = `targets:
  - id: search-eu-de
    provider: otc-css
    region: eu-de
    projectId: 6204a5bd270343b5885144cf9c8c158d
    clusterId: 4f3deec3-efa8-4598-bf91-560aad1377a3
    credentials: { accessKey: { env: OTC_AK }, secretKey: { env: OTC_SK } }
    secret: { id: prod/css/search-eu-de/admin }
`;

/** The smallest valid config: the file store and {@link ONE_TARGET}. */
export const MINIMAL_CONFIG = `
store: { type: file, path: ./data/secrets.json }
${ONE_TARGET}`;
