import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
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
