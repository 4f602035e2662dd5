import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the package export secret-rotator/client', () => {
  it('resolves to the built client, with its type declarations', () => {
    // the vitest global setup has just built dist/; a package may import itself by name through `exports`
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const c = await import('secret-rotator/client'); console.log(JSON.stringify([Object.keys(c).sort(), c.REQUEST_QUEUE, c.REQUEST_JOB_NAME, c.DEFAULT_PREFIX]))",
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([
      [
        'DEFAULT_PREFIX',
        'InvalidRotationRequestError',
        'REQUEST_CONTRACT_VERSION',
        'REQUEST_JOB_NAME',
        'REQUEST_PRIORITIES',
        'REQUEST_QUEUE',
        'parseRotationRequest',
        'requestRotation',
        'waitForRotation',
      ],
      'requests',
      'rotate',
      'rotator',
    ]);
    expect(existsSync(join(ROOT, 'dist', 'src', 'client', 'index.d.ts'))).toBe(true);
  });

  it('type-checks a consumer through the exported declarations, and catches a wrong priority', () => {
    // inside the package, so `secret-rotator/client` resolves through `exports` to dist/*.d.ts
    const dir = mkdtempSync(join(ROOT, 'test', 'requests', '.consumer-'));
    try {
      writeFileSync(
        join(dir, 'consumer.ts'),
        [
          "import { requestRotation, type RotationRequest, waitForRotation } from 'secret-rotator/client';",
          "const request: RotationRequest = { all: true, actor: 'incident-bot', priority: 'urgent' };",
          "const { requestId } = await requestRotation({ host: '127.0.0.1', port: 6379 }, request);",
          "const result = await waitForRotation({ host: '127.0.0.1', port: 6379 }, requestId);",
          "if (result.request === 'accepted') console.log(result.rotations.map((r) => r.versionId));",
          '// @ts-expect-error priority is "normal" | "urgent"',
          "const wrong: RotationRequest = { targetId: 'x', actor: 'a', priority: 'high' };",
          'console.log(wrong);',
        ].join('\n'),
      );
      const tsc = (file: string) =>
        execFileSync(
          process.execPath,
          [
            join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
            '--noEmit',
            '--strict',
            '--module',
            'nodenext',
            '--moduleResolution',
            'nodenext',
            '--target',
            'es2023',
            '--skipLibCheck',
            '--types',
            'node',
            file,
          ],
          { cwd: ROOT, encoding: 'utf8' },
        );
      expect(tsc(join(dir, 'consumer.ts'))).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
