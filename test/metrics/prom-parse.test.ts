import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../support/prom-parse.js';

describe('the test Prometheus text parser', () => {
  it('reads families, escaped label values, histograms and special values', () => {
    const text = [
      '# HELP a_total Things',
      '# TYPE a_total counter',
      'a_total{x="q\\"uote",y="back\\\\slash",z="new\\nline"} 3',
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3.5',
      'h_count 2',
      'g Nan',
      'i +Inf 1700000000000',
      '',
    ].join('\n');
    const m = parsePrometheusText(text);
    expect(m.get('a_total')).toMatchObject({ type: 'counter', help: 'Things' });
    expect(m.get('a_total')!.samples[0]!.labels).toEqual({ x: 'q"uote', y: 'back\\slash', z: 'new\nline' });
    expect(m.get('h')!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_bucket', 'h_sum', 'h_count']);
    expect(sampleValue(m, 'h_bucket', { le: '+Inf' })).toBe(2);
    expect(sampleValue(m, 'g')).toBeNaN();
    expect(sampleValue(m, 'i')).toBe(Number.POSITIVE_INFINITY);
    expect(() => parsePrometheusText('a_total{x="1} 3')).toThrow(/unterminated|bad/);
    expect(() => parsePrometheusText('a_total one')).toThrow('bad sample value: one');
  });
});
