/** One problem found in a configuration: where (a dotted path such as `services[0].backends[1].weight`) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Thrown by parseConfig/loadConfig; carries every problem found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${source}: invalid configuration\n` + issues.map((i) => `  ${formatIssue(i)}`).join('\n'));
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Renders a zod-style path (['services', 0, 'vip']) the way people write it: `services[0].vip`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
