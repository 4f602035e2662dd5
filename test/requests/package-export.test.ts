import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
});
