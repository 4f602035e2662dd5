import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SANDBOX_CLUSTERS, parseSandboxClusters, SandboxFileError } from '../../src/sandbox/index.js';

describe('sandbox clusters file', () => {
  it('the example file parses and matches the built-in demo clusters', () => {
    const text = readFileSync(new URL('../../config/sandbox-clusters.example.yaml', import.meta.url), 'utf8');
    const parsed = parseSandboxClusters(text);
    expect(parsed.clusters).toEqual(DEFAULT_SANDBOX_CLUSTERS);
    expect(parsed.busyMs).toBe(2000);
    expect(parsed.latencyMs).toBe(0);
  });

  it('accepts a bare JSON list, numbers as instance numbers', () => {
    const parsed = parseSandboxClusters(
      JSON.stringify([
        { provider: 'ncp-cdss', serviceGroupInstanceNo: 42, accessKey: 'a', secretKey: 's', password: 'p' },
      ]),
    );
    expect(parsed.clusters[0]?.serviceGroupInstanceNo).toBe('42');
  });

  it('takes authorityEnable (security mode) per cluster, as a boolean', () => {
    const base = {
      provider: 'otc-css',
      projectId: 'p',
      clusterId: 'c',
      accessKey: 'a',
      secretKey: 's',
      password: 'p',
    };
    expect(
      parseSandboxClusters(JSON.stringify([{ ...base, authorityEnable: false }])).clusters[0],
    ).toMatchObject({
      authorityEnable: false,
    });
    expect(() => parseSandboxClusters(JSON.stringify([{ ...base, authorityEnable: 'no' }]), 'f')).toThrow(
      '[0].authorityEnable: must be true or false',
    );
  });

  it('names every bad field, never the values', () => {
    const text =
      'clusters:\n  - provider: aws\n    password: Secret-Value-1\n    extra: 1\n    apiPrefix: v9\n';
    let err: unknown;
    try {
      parseSandboxClusters(text, 'c.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SandboxFileError);
    const msg = (err as Error).message;
    expect(msg).toContain('clusters[0].provider: must be one of: ncp-cdss, huaweicloud-css, otc-css');
    expect(msg).toContain('clusters[0].apiPrefix: must be one of: v1, sgn-v1, jpn-v1, krs-v1');
    expect(msg).toContain('clusters[0].accessKey');
    expect(msg).toContain('clusters[0]: unknown key(s) extra');
    expect(msg).not.toContain('Secret-Value-1');
    expect(() => parseSandboxClusters('a: [', 'x.yaml')).toThrow(/x.yaml: invalid YAML/);
  });
});
