import { describe, expect, it } from 'vitest';
import { formatPath } from '../../src/config/problems.js';
import { parseConfigText } from '../../src/worker/config.js';
import { secretFormatOf } from '../../src/secrets/format.js';
import { MINIMAL_CONFIG as minimal } from '../support/config-text.js';

describe('config loading', () => {
  it('accepts a minimal config and fills defaults', () => {
    const r = parseConfigText(minimal);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(r.config.defaults.schedule).toEqual({ cron: '0 3 1 * *', tz: 'UTC' });
    expect(r.config.defaults.retry).toEqual({ attempts: 12, initialDelay: 30_000, maxDelay: 3_600_000 });
  });

  it('names the field that a provider requires', () => {
    const r = parseConfigText(minimal.replace(/ {4}clusterId:.*\n/, ''));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toContainEqual({ path: 'targets[0].clusterId', message: 'required for otc-css' });
  });

  it('takes secret.format json or text (json when absent) and names the field otherwise', () => {
    const at = (format: string) =>
      parseConfigText(
        minimal.replace(
          'secret: { id: prod/css/search-eu-de/admin }',
          `secret: { id: x/y, format: ${format} }`,
        ),
      );
    const json = parseConfigText(minimal);
    expect(json.ok && secretFormatOf(json.config.targets[0]!)).toBe('json');
    const text = at('text');
    expect(text.ok && secretFormatOf(text.config.targets[0]!)).toBe('text');
    const bad = at('yaml');
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems).toContainEqual({
      path: 'targets[0].secret.format',
      message: 'must be one of: json, text',
    });
  });

  it('formats paths the way check-config prints them', () => {
    expect(formatPath(['targets', 1, 'credentials', 'accessKey'])).toBe('targets[1].credentials.accessKey');
    expect(formatPath([])).toBe('(root)');
  });
});
