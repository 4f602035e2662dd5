import { z } from 'zod';

/** A secret is never written into the config: it is a reference to an environment variable or a file. */
export const secretRefSchema = z.union(
  [
    z.strictObject({
      env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
    }),
    z.strictObject({ file: z.string().min(1, 'must be a file path') }),
  ],
  {
    error: (issue) =>
      typeof issue.input === 'string'
        ? 'literal secret values are not allowed: use { env: NAME } or { file: PATH }'
        : 'must be { env: NAME } or { file: PATH }',
  },
);
export type SecretRef = z.infer<typeof secretRefSchema>;
