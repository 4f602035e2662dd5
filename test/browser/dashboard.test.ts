import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpServerHandle, startHttpServer } from '../../src/http/server.js';
import { createRotatorMetrics } from '../../src/metrics/registry.js';
import { memoryLogger, recordingControl } from '../http/support.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-token-0a9f6e1b7c';

let connection: Redis;
let queue: Queue;
let worker: Worker;
let server: HttpServerHandle;
let profiles = 0;
let dir: string;
let completed: Job;

beforeAll(async () => {
  // scripts/ensure-chromium.sh installs it; fail loudly rather than skip.
  await stat(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  });
  dir = await mkdtemp(join(tmpdir(), 'dashboard-'));
  connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('bull');
  queue = new Queue(uniquePrefix('rotations'), { connection, prefix });
  // A tiny processor writing job log lines the way the real rotation job does.
  worker = new Worker(
    queue.name,
    async (job) => {
      await job.log('step=stage outcome=ok versionId=v-0042 durationMs=31');
      await job.log('step=apply outcome=ok httpStatus=200 requestId=req-7781 durationMs=812');
      await job.log('step=promote outcome=ok versionId=v-0042 durationMs=12');
      return { outcome: 'succeeded', versionId: 'v-0042' };
    },
    { connection: connection.duplicate(), prefix },
  );
  const done = new Promise<void>((resolve, reject) => {
    worker.once('completed', () => resolve());
    worker.once('failed', (_job, err) => reject(err));
  });
  completed = await queue.add(
    'rotate',
    { targetId: 'css-logs', trigger: 'api', actor: 'api' },
    { jobId: 'rot-css-logs-1' },
  );
  await done;
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    control: recordingControl(),
    ready: async () => {},
    registry: createRotatorMetrics().registry,
    queues: [queue],
    logger: memoryLogger(),
  });
}, 90_000);

afterAll(async () => {
  await server?.close();
  await worker?.close();
  await queue?.obliterate({ force: true });
  await queue?.close();
  await connection?.quit();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Debian's chromium with a fresh profile (playwright passes it as --user-data-dir). */
function openBrowser(httpCredentials?: { username: string; password: string }): Promise<BrowserContext> {
  profiles += 1;
  return chromium.launchPersistentContext(join(dir, `profile-${profiles}`), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
    ...(httpCredentials ? { httpCredentials } : {}),
  });
}

describe('Bull Board dashboard in a real browser', () => {
  it('is refused without credentials', async () => {
    const context = await openBrowser();
    try {
      const page = await context.newPage();
      const refused = page.waitForResponse(`${server.url}/admin/queues`);
      // Headless chromium has nobody to type a password: it gives up on the challenge.
      const navigation = await page.goto(`${server.url}/admin/queues`).catch((err: Error) => err);
      const res = await refused;
      expect(res.status()).toBe(401);
      expect(res.headers()['www-authenticate']).toMatch(/^Basic realm="secret-rotator"/);
      if (navigation instanceof Error) expect(navigation.message).toContain('ERR_INVALID_AUTH_CREDENTIALS');
      else expect(navigation?.status()).toBe(401);
      expect(await page.locator('#root').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('is refused with a wrong password', async () => {
    const context = await openBrowser({ username: 'operator', password: 'nope' });
    try {
      const page = await context.newPage();
      const res = await page.goto(`${server.url}/admin/queues`);
      expect(res?.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('after login shows the queue and a completed rotation with its job log', async () => {
    const context = await openBrowser({ username: 'operator', password: TOKEN });
    try {
      const page = await context.newPage();
      const res = await page.goto(`${server.url}/admin/queues`);
      expect(res?.status()).toBe(200);
      await expect.poll(() => page.getByText(queue.name).count(), { timeout: 15_000 }).toBeGreaterThan(0);

      // The queue's completed list holds the job...
      const queuePath = `${server.url}/admin/queues/queue/${encodeURIComponent(queue.name)}`;
      await page.goto(`${queuePath}?status=completed`);
      await expect.poll(() => page.getByText(completed.id!).count(), { timeout: 15_000 }).toBeGreaterThan(0);
      expect(await page.locator('body').innerText()).toMatch(/completed\s+1\b/i);
      // ...and its page shows the result and the job log.
      await page.goto(`${queuePath}/${completed.id}`);
      await expect
        .poll(() => page.getByText('rot-css-logs-1').count(), { timeout: 15_000 })
        .toBeGreaterThan(0);
      const jobPage = await page.locator('body').innerText();
      expect(jobPage).toContain('Finished at');
      expect(jobPage).toMatch(/outcome:\s*"succeeded"/);
      await page
        .getByRole('button', { name: 'Logs' })
        .or(page.getByText('Logs', { exact: true }))
        .first()
        .click();
      await expect
        .poll(() => page.getByText('step=apply outcome=ok httpStatus=200 requestId=req-7781').count(), {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);
      const body = await page.locator('body').innerText();
      expect(body).toContain('step=stage outcome=ok versionId=v-0042');
      expect(body).toContain('step=promote outcome=ok versionId=v-0042');

      const shot = join(dir, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await stat(shot)).size).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
