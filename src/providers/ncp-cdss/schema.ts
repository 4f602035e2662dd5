import { z } from 'zod';

const code = z.union([z.number(), z.string()]);

/** Answer of resetMGMTPassword / resetCMAKPassword: success is `code: 0, result: true`. */
export const ncpResetResponseSchema = z.looseObject({
  code,
  message: z.string().nullish(),
  result: z.unknown().optional(),
  requestId: z.string().nullish(),
});

/**
 * Answer of `getClusterInfoList/{serviceGroupInstanceNo}`: the lifecycle status, and the manager user
 * chosen at the cluster's creation (`kafkaManagerUserName`; not `admin`).
 */
export const ncpClusterInfoSchema = z.looseObject({
  code,
  message: z.string().nullish(),
  requestId: z.string().nullish(),
  result: z.looseObject({ status: z.string(), kafkaManagerUserName: z.unknown().optional() }).nullish(),
});
