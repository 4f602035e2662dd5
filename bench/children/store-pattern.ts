import { createHash } from 'node:crypto';
import { createFileStore } from '../../src/secrets/file/index.js';
import { params, runChild, send } from './protocol.js';

/**
 * The store calls one first rotation of a target makes, in rotate()'s order (src/rotation/rotate.ts on
 * the rotation branch): read current, previous and pending, look up each generation's token
 * (maxPasswordRejections = 3), stage, promote. `concurrency` rotations at a time, over `secrets`
 * distinct secrets, until all are done or `deadlineMs` passes (then the rate is what counts).
 */
interface Params {
  path: string;
  secrets: number;
  concurrency: number;
  deadlineMs: number;
}

const GENERATIONS = 3;
const token = (id: string, g: number) => createHash('sha256').update(`${id}\0bench\0${g}`).digest('hex');

runChild(async () => {
  const p = params<Params>();
  const store = createFileStore({ path: p.path, keyBytes: Buffer.alloc(32, 7) });
  await send({ type: 'ready' });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = 0;
  let done = 0;
  let ops = 0;
  const rotate = async (i: number) => {
    const id = `bench/secret-${i}`;
    await store.getCurrent(id);
    await store.getPrevious(id);
    await store.getPending(id);
    for (let g = 0; g < GENERATIONS; g++) await store.getVersion(id, token(id, g));
    const v = token(id, 0);
    await store.stagePending(
      id,
      v,
      JSON.stringify({ username: 'admin', password: `Bench-Pw-${i}-x9`, engine: 'otc-css' }),
    );
    await store.promote(id, v);
    ops += 8;
  };
  const lane = async () => {
    while (next < p.secrets && performance.now() - t0 < p.deadlineMs) {
      await rotate(next++);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, lane));
  const wallMs = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  await store.close();
  return {
    rotations: done,
    storeOps: ops,
    wallMs,
    cpuMs: (c1.user + c1.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
});
