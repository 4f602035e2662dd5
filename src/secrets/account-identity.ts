import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { StoreConfig } from '../config/schema.js';

/** The parts of CreateStoreOptions the identity is read from. */
export interface AccountIdentityOptions {
  env?: NodeJS.ProcessEnv;
  awsClientConfig?: SecretsManagerClientConfig;
}

/**
 * Who the store's write quota belongs to, for the limiter key (hashed there, never stored as is):
 * AWS counts per account and region, so region, endpoint and the access key id or profile when
 * known (a different key of the same account counts apart: an approximation). File: its path.
 */
export function storeAccountIdentity(config: StoreConfig, options: AccountIdentityOptions = {}): string {
  if (config.type === 'file') return `file:${config.path}`;
  const env = options.env ?? process.env;
  const creds = options.awsClientConfig?.credentials;
  const staticKey =
    creds && typeof creds === 'object' && 'accessKeyId' in creds ? creds.accessKeyId : undefined;
  const who = staticKey
    ? `ak:${staticKey}`
    : env.AWS_ACCESS_KEY_ID
      ? `ak:${env.AWS_ACCESS_KEY_ID}`
      : env.AWS_PROFILE
        ? `profile:${env.AWS_PROFILE}`
        : 'default-chain';
  return JSON.stringify([config.region, config.endpoint ?? '', who]);
}
