import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/fixtures/eslint breaks the rules on purpose: test/lint/eslint.test.ts lints it.
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'test/fixtures/eslint/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Type-aware rules on the TypeScript files (all of them are in tsconfig.json): a promise nobody
    // awaits or catches loses its rejection, and a promise where a plain value is expected (an async
    // callback to an event emitter, a promise in an if) is always truthy. Both can drop a failure of a
    // rotation step on the floor.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Tracing is off by default and must cost nothing then: its packages load only through import()
    // in src/telemetry/tracing.ts, when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    files: ['src/**/*.ts', 'jobs/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@opentelemetry/*', 'bullmq-otel'],
              allowTypeImports: true,
              message: 'load OpenTelemetry with import() in src/telemetry/tracing.ts only',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
