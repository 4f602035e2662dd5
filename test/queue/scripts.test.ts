import { describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../src/queue/connection.js';
import { TargetLeases } from '../../src/queue/lease.js';
import { rotatorKey } from '../../src/queue/queues.js';
import { TargetStateStore } from '../../src/queue/target-state.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

describe('the lease and target-state scripts (EVALSHA)', () => {
  it('still run after the server forgot every script (SCRIPT FLUSH, as after a restart)', async () => {
    const redis = createRedisConnection(redisUrl());
    const prefix = uniquePrefix('scripts');
    const leases = new TargetLeases(redis, prefix, 5_000);
    const state = new TargetStateStore(redis, prefix);
    // A second instance on the same connection shares the commands.
    const again = new TargetLeases(redis, prefix, 5_000);
    try {
      const flush = () => redis.call('SCRIPT', 'FLUSH');
      await flush();
      const first = await leases.acquire('t1', 'run-a');
      if (!first.acquired) throw new Error('expected the lease');
      await flush();
      expect(await first.lease.renew()).toBe(true);
      expect(await again.acquire('t1', 'run-b')).toMatchObject({ acquired: false });
      await flush();
      await state.recordSuccess('t1', 'run-a', 'v1', 1_000);
      await flush();
      await first.lease.release();
      expect(await leases.isHeld('t1')).toBe(false);
      const second = await again.acquire('t1', 'run-b');
      if (!second.acquired) throw new Error('expected the lease');
      expect(second.lease.token).toBe(first.lease.token + 1);
      expect((await state.getMany(['t1'])).get('t1')).toMatchObject({
        lastOutcome: 'succeeded',
        lastSuccessAt: 1_000,
        lastRotationId: 'run-a',
        lastVersionId: 'v1',
      });
      await second.lease.release();
    } finally {
      await redis.del(leases.key('t1'), rotatorKey(prefix, 'lease-fence', 't1'), state.key('t1'));
      await redis.quit();
    }
  });
});
