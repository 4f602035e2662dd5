import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEMO_CLUSTERS, runDemo } from '../../src/demo/run.js';
import { redisUrl } from '../support/redis.js';

function capture(): { out: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    out: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

describe('npm run demo -- --once', () => {
  it('rotates every demo cluster once and exits 0 when each outcome is the expected one', async () => {
    const c = capture();
    const code = await runDemo({ once: true, out: c.out, env: { REDIS_URL: redisUrl() } });
    const text = c.text();
    expect(code, text).toBe(0);
    for (const cluster of DEMO_CLUSTERS) {
      expect(text).toMatch(
        new RegExp(`${cluster.key}\\s+${cluster.provider}\\s+${cluster.expect}\\s+${cluster.expect}`),
      );
    }
    expect(text).toContain('ALERT [critical] hw-frozen');
    expect(text).toContain('Every outcome is the expected one');
  }, 60_000);

  it('keeps running until told to stop', async () => {
    const c = capture();
    let stop!: () => void;
    const stopSignal = new Promise<void>((r) => (stop = r));
    const done = runDemo({ once: false, out: c.out, env: { REDIS_URL: redisUrl() }, stopSignal });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (c.text().includes('Ctrl-C to stop')) {
          clearInterval(t);
          resolve();
        }
      }, 50);
    });
    stop();
    expect(await done).toBe(0);
    expect(c.text()).toContain('Stopping...');
  }, 60_000);
});
