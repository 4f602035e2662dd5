import { expect, it, describe } from 'vitest';
import { manualClock } from '../../../src/core/clock.js';
import type { ProviderId } from '../../../src/config/provider-ids.js';
import { createProvider } from '../../../src/providers/registry.js';
import type { signRequest } from '../../../src/providers/otc-css/sign.js';
import type { clusterSchema } from '../../../src/providers/otc-css/schema.js';
import { verifySdkHmacSha256 } from '../../../src/sandbox/verify-sdk-hmac.js';

const NOW = Date.UTC(2026, 4, 6, 7, 8, 9);

/** What differs between the two CSS clouds; each provider folder's test passes its own modules. */
export interface CssProviderCase {
  id: ProviderId;
  /** A region of the cloud's table and the host it maps to. */
  region: string;
  host: string;
  signRequest: typeof signRequest;
  clusterSchema: typeof clusterSchema;
}

/** The same checks for Huawei Cloud CSS and OTC CSS: one API, one signing scheme, two clouds. */
export function cssProviderSuite(c: CssProviderCase): void {
  describe(c.id, () => {
    it('signs content-type, host, x-project-id and x-sdk-date with AK/SK; sends X-Auth-Token with a token', () => {
      const url = `https://${c.host}/v1.0/p1/clusters/c1/password/reset`;
      const body = Buffer.from('{"newpassword":"Abcdef-123"}');
      const headers = c.signRequest(
        { method: 'POST', url, projectId: 'p1', body },
        { accessKey: 'AK', secretKey: 'SK' },
        NOW,
      );
      expect(headers?.Authorization).toMatch(
        /^SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=[0-9a-f]{64}$/,
      );
      const verified = verifySdkHmacSha256(
        {
          method: 'POST',
          target: '/v1.0/p1/clusters/c1/password/reset',
          headers: { ...headers, host: c.host },
          body,
        },
        { secretFor: () => 'SK', nowMs: NOW, maxSkewMs: 1000, mustSign: ['x-project-id'] },
      );
      expect(verified).toMatchObject({ ok: true });
      expect(
        c.signRequest({ method: 'GET', url, projectId: 'p1', body: new Uint8Array() }, { token: 'T' }, NOW),
      ).toEqual({
        'Content-Type': 'application/json',
        'X-Project-Id': 'p1',
        'X-Auth-Token': 'T',
      });
      expect(
        c.signRequest(
          { method: 'GET', url, projectId: 'p1', body: new Uint8Array() },
          { accessKey: 'AK' },
          NOW,
        ),
      ).toBeUndefined();
    });

    it("parses the reference's cluster document", () => {
      const doc = c.clusterSchema.parse({
        id: '4f3deec3-1',
        name: 'css-8bc5',
        status: '200',
        actions: [],
        actionProgress: {},
        authorityEnable: true,
        instances: [{ id: 'inst-1', type: 'ess', status: '200', ip: '192.168.0.122' }],
      });
      expect(doc.status).toBe('200');
      expect(c.clusterSchema.safeParse({ name: 'no status' }).success).toBe(false);
    });

    it('uses the region table and the target endpoint', () => {
      const p = createProvider(c.id, { fetch, clock: manualClock(), timeoutMs: 1000 });
      expect(p.id).toBe(c.id);
      expect(p.defaultUsername).toBe('admin');
      expect(p.baseUrl({ region: c.region } as never)).toBe(`https://${c.host}`);
    });
  });
}
