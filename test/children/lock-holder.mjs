// Takes the lock on a file, prints "locked", then waits to be killed (SIGKILL leaves a stale lock).
import { acquireFileLock } from '../../dist/src/util/file-lock.js';

await acquireFileLock(process.argv[2]);
process.stdout.write('locked\n');
setInterval(() => {}, 1000);
