/** One problem with the config, as `path: message`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file}: ${problems.length} problem(s) in the configuration:\n${formatProblems(problems)}`);
  }
}

/** `targets[1].credentials.accessKey` from ['targets', 1, 'credentials', 'accessKey']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}
