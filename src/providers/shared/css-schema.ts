import { z } from 'zod';

/** `GET /v1.0/{project_id}/clusters/{cluster_id}`: a flat object; only the fields we gate on. */
export const cssClusterSchema = z.looseObject({
  id: z.string().optional(),
  status: z.union([z.string(), z.number()]).transform(String),
  actions: z.array(z.string()).nullish(),
  instances: z
    .array(z.looseObject({ status: z.union([z.string(), z.number()]).transform(String) }))
    .nullish(),
  failedReason: z.unknown().optional(),
  failed_reasons: z.unknown().optional(),
  /** Security mode (a boolean; anything else is ignored): only then can the `admin` password be reset. */
  authorityEnable: z.unknown().optional(),
});
export type CssCluster = z.infer<typeof cssClusterSchema>;
