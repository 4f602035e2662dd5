import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('../fixtures/eslint/promises.ts', import.meta.url));

describe('the type-aware ESLint rules (eslint.config.js)', () => {
  it('report a floating promise, an async callback where a void one is expected, an await of a non-promise', async () => {
    // ignore: false lints the fixture although the config ignores its folder for `npm run lint`.
    const [result] = await new ESLint({ ignore: false }).lintFiles([fixture]);
    const found = result!.messages.map((m) => `${m.line}: ${m.ruleId ?? m.message}`);
    expect(found).toEqual([
      '6: @typescript-eslint/no-floating-promises',
      '7: @typescript-eslint/no-misused-promises',
      '13: @typescript-eslint/await-thenable',
    ]);
  }, 60_000);
});
