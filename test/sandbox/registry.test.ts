import { describe, expect, it } from 'vitest';
import { ClusterRegistry, RequestLog, type SandboxLogEntry } from '../../src/sandbox/registry.js';
import { sandboxSpec } from '../support/sandbox.js';

const entry = (time: number): SandboxLogEntry => ({ time, operation: 'status', status: 200, outcome: 'ok' });

describe('sandbox request log', () => {
  it('keeps the newer half once it holds more than its maximum, and reports every entry', () => {
    const seen: number[] = [];
    const log = new RequestLog(10, (e) => seen.push(e.time));
    for (let t = 1; t <= 10; t++) log.record(entry(t));
    expect(log.entries().map((e) => e.time)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    log.record(entry(11));
    expect(log.entries().map((e) => e.time)).toEqual([7, 8, 9, 10, 11]);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    log.clear();
    expect(log.entries()).toEqual([]);
  });
});

describe('sandbox cluster registry', () => {
  it('finds each cluster by its route and its signing key by the cloud that checks it', () => {
    const clusters = new ClusterRegistry();
    clusters.baseUrl = 'http://127.0.0.1:1';
    const hw = sandboxSpec('huaweicloud-css', 1, { tokens: ['tok-1'] });
    const nc = sandboxSpec('ncp-cdss', 2);
    const a = clusters.add(hw);
    const b = clusters.add(nc);
    expect(a.dataPlaneUrl).toBe(`http://127.0.0.1:1/_dataplane/${hw.key!}`);
    expect(clusters.css(hw.projectId!, hw.clusterId!)).toBe(a);
    expect(clusters.css(hw.projectId!, 'other')).toBeUndefined();
    expect(clusters.ncp(nc.serviceGroupInstanceNo!)).toBe(b);
    expect(clusters.byKey(nc.key!)).toBe(b);
    expect(clusters.list()).toEqual([a, b]);
    expect(clusters.size).toBe(2);
    // A CSS key does not sign NCP calls, nor the other way round.
    expect(clusters.cssSecretKey(hw.accessKey)).toBe(hw.secretKey);
    expect(clusters.ncpSecretKey(hw.accessKey)).toBeUndefined();
    expect(clusters.ncpSecretKey(nc.accessKey)).toBe(nc.secretKey);
    expect(clusters.cssSecretKey(nc.accessKey)).toBeUndefined();
    expect(clusters.isKnownToken('tok-1')).toBe(true);
    expect(clusters.isKnownToken('tok-2')).toBe(false);
  });

  it('adds nothing when a spec is refused', () => {
    const clusters = new ClusterRegistry();
    const spec = sandboxSpec('otc-css', 1);
    expect(() => clusters.add({ ...spec, password: '' })).toThrow(
      `sandbox cluster '${spec.key!}': password is required`,
    );
    expect(clusters.size).toBe(0);
    expect(clusters.cssSecretKey(spec.accessKey)).toBeUndefined();
    expect(() => clusters.add({ ...spec, applyDelayMs: -1 })).toThrow(
      /applyDelayMs must be a number of ms >= 0, got -1/,
    );
    clusters.add(spec);
    expect(() => clusters.add({ ...sandboxSpec('ncp-cdss', 3), key: spec.key! })).toThrow(
      `sandbox cluster '${spec.key!}' already exists`,
    );
    expect(clusters.size).toBe(1);
    expect(clusters.ncp(sandboxSpec('ncp-cdss', 3).serviceGroupInstanceNo!)).toBeUndefined();
  });
});
