// Child process for the file store's crash and concurrency tests. Imports the BUILT store.
//   loop <path> <secretId> [compactBytes]  stage + promote seq n+1, n+2, ... forever; prints "ok <n>" after each promote
//                                       (compactBytes 0: compacts whenever the journal outgrows the snapshot)
//   hold-lock <path>                    takes the store's lock, prints "locked", never lets go
//   worker <path> <workerId> <count>    stages + promotes <count> versions on "shared" and "own-<workerId>"
import { createFileStore } from '../../dist/src/secrets/file/index.js';
import { acquireFileLock } from '../../dist/src/util/file-lock.js';

const [mode, path, ...args] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${line}\n`);

export function seqToken(n) {
  return `seq-${String(n).padStart(36, '0')}`;
}

function seqValue(n) {
  return JSON.stringify({ username: 'admin', password: `pw-${n}-ä漢"\\`, engine: 'file-test', seq: n });
}

if (mode === 'loop') {
  const [secretId, compactBytes] = args;
  const store = createFileStore({
    path,
    lockTimeoutMs: 20_000,
    compactBytes: compactBytes === undefined ? undefined : Number(compactBytes),
  });
  const current = await store.getCurrent(secretId);
  let n = current ? JSON.parse(current.text).seq : 0;
  say('ready');
  for (;;) {
    n += 1;
    await store.stagePending(secretId, seqToken(n), seqValue(n));
    await store.promote(secretId, seqToken(n));
    say(`ok ${n}`);
  }
} else if (mode === 'hold-lock') {
  await acquireFileLock(path);
  say('locked');
  setInterval(() => {}, 1_000);
} else if (mode === 'worker') {
  const [workerId, count] = args;
  const store = createFileStore({ path, lockTimeoutMs: 30_000 });
  for (let k = 0; k < Number(count); k++) {
    const token = `w${workerId}-${String(k).padStart(33, '0')}`;
    const value = JSON.stringify({ username: 'admin', password: `pw-${workerId}-${k}`, engine: 'file-test' });
    await store.stagePending('shared', token, value);
    await store.promote('shared', token);
    await store.stagePending(`own-${workerId}`, token, value);
    await store.promote(`own-${workerId}`, token);
  }
  say('done');
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
