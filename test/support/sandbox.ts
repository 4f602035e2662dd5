import { randomBytes } from 'node:crypto';
import type { ProviderId } from '../../src/config/provider-ids.js';
import type { SandboxClusterSpec } from '../../src/sandbox/index.js';

/** A fresh password every cloud accepts, unique so tests can search for it by value. */
export function testPassword(): string {
  return `Qz7-${randomBytes(5).toString('hex')}`;
}

/** A cluster spec for `provider`, numbered `n` (distinct ids and keys per n), with its own key pair. */
export function sandboxSpec(
  provider: ProviderId,
  n = 1,
  over: Partial<SandboxClusterSpec> = {},
): SandboxClusterSpec {
  const suffix = String(n).padStart(6, '0');
  const creds = {
    accessKey: `AK-${provider}-${suffix}`,
    secretKey: `sk-${provider}-${randomBytes(6).toString('hex')}`,
    password: testPassword(),
  };
  if (provider === 'ncp-cdss') {
    return {
      provider,
      key: `${provider}-${suffix}`,
      serviceGroupInstanceNo: `10${suffix}`,
      ...creds,
      ...over,
    };
  }
  return {
    provider,
    key: `${provider}-${suffix}`,
    projectId: `proj${provider === 'otc-css' ? 'otc' : 'hw'}${suffix}`,
    clusterId: `4f3deec3-efa8-4598-bf91-${suffix.padStart(12, '0')}`,
    ...creds,
    ...over,
  };
}

/** HTTP basic login against a sandbox data-plane URL: the status code. */
export async function dataPlaneLogin(url: string, username: string, password: string): Promise<number> {
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  await res.arrayBuffer();
  return res.status;
}
