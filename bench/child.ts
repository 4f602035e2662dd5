import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU and memory of a running process, read from /proc (Linux). */
export interface ProcSample {
  /** Peak resident set size so far (VmHWM), bytes. */
  peakRss: number;
  /** User + system CPU so far, ms. */
  cpuMs: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function procSample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return { peakRss: Number(hwm?.[1] ?? NaN) * 1024, cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

export interface ChildHandle<M> {
  readonly process: ChildProcess;
  /** Resolves with the first message that satisfies `pick`, rejects if the child exits first or on timeout. */
  waitFor<T extends M>(pick: (m: M) => m is T, timeoutMs: number): Promise<T>;
  /** Highest VmHWM seen (sampled every 100 ms and on demand), bytes. */
  peakRss(): number;
  sample(): ProcSample | undefined;
  /** Resolves with performance.now() of the first stdout line matching `watch` that contains `text`. */
  waitForLine(text: string, timeoutMs: number): Promise<number>;
  /** stderr and stdout tail, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface ForkOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  execArgv?: string[];
  /** stdout lines matching this are kept with their arrival time (see waitForLine). */
  watch?: RegExp;
}

export function forkChild<M>(script: string, options: ForkOptions = {}): ChildHandle<M> {
  const child = fork(script, options.args ?? [], {
    env: options.env ?? process.env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-8000);
  };
  const seen: { line: string; at: number }[] = [];
  let partial = '';
  child.stdout?.on('data', (c: Buffer) => {
    keep(c);
    if (!options.watch) return;
    const text = partial + c.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    const at = performance.now();
    for (const line of lines) if (options.watch.test(line)) seen.push({ line, at });
    for (const w of waiters) w();
  });
  child.stderr?.on('data', keep);
  let peak = 0;
  const sample = () => {
    const s = child.pid === undefined ? undefined : procSample(child.pid);
    if (s && Number.isFinite(s.peakRss)) peak = Math.max(peak, s.peakRss);
    return s;
  };
  const timer = setInterval(sample, 100);
  const messages: M[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (m) => {
    messages.push(m as M);
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      clearInterval(timer);
      for (const w of waiters) w();
      resolve(code);
    });
  });
  return {
    process: child,
    exited,
    peakRss: () => (sample(), peak),
    sample,
    output: () => out,
    waitForLine(text, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = seen.find((s) => s.line.includes(text));
          if (found) {
            done();
            resolve(found.at);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`child ${script} exited before '${text}':\n${out}`));
          }
        };
        const t = setTimeout(() => {
          done();
          reject(new Error(`child ${script}: no '${text}' within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(t);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    waitFor(pick, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(pick);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`child ${script} exited (${child.exitCode ?? child.signalCode}):\n${out}`));
          }
        };
        const t = setTimeout(() => {
          done();
          reject(new Error(`child ${script}: no answer within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(t);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      sample();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
