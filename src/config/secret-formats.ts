/** The shapes a secret's text may have (`secret.format`); src/secrets/format.ts reads and writes them. */
export const SECRET_FORMATS = ['json', 'text'] as const;
export type SecretFormat = (typeof SECRET_FORMATS)[number];

export const DEFAULT_SECRET_FORMAT: SecretFormat = 'json';
