/** Command line of `npm run bench`. */
export interface BenchArgs {
  quick: boolean;
  runs: number;
  /** Scenario names to run (default all). */
  only: string[] | undefined;
  /** node --cpu-prof on the measured child processes, summarized into the report. */
  profile: boolean;
  /** Write docs/benchmarks.md (default true). */
  write: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--only a,b] [--no-profile] [--no-write]
  --quick       1,000 targets instead of 10,000 (a smoke run; the table says so)
  --runs N      runs per figure (default 3, the issue's "median of at least 3 runs"; each figure is
                the median with min and max)
  --only a,b    scenarios: fleet, overhead, schedules, store, aws (default all five), provider
  --no-profile  skip node --cpu-prof on the children
  --no-write    print the table only, leave docs/benchmarks.md alone
Uses REDIS_URL when set (keys under a bench-* prefix, removed afterwards), else a private redis-server.`;

export function parseArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = { quick: false, runs: 3, only: undefined, profile: true, write: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') a.quick = true;
    else if (arg === '--no-profile') a.profile = false;
    else if (arg === '--no-write') a.write = false;
    else if (arg === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error('--runs must be an integer from 1 to 50');
      a.runs = n;
    } else if (arg === '--only') {
      const v = argv[++i];
      if (!v) throw new Error('--only needs a comma-separated list of scenarios');
      a.only = v.split(',').map((s) => s.trim());
    } else if (arg === '--help' || arg === '-h') {
      throw new Error(USAGE);
    } else throw new Error(`unknown option '${arg}'\n${USAGE}`);
  }
  return a;
}
