import { isCollection, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors';
import { readConfigFile } from './limits';
import { checkConfigRules, checkServiceRules } from './rules';
import { configSchema, serviceSchema, showValue, type ServiceConfig, type VadcConfig } from './schema';

/**
 * Parses and validates a YAML configuration. Throws ConfigError listing every problem:
 * YAML syntax errors with line:col, schema errors and cross-field rules with the path to fix.
 */
export function parseConfig(text: string, sourceName = '<config>'): VadcConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      sourceName,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { path: '', message: `line ${line}, col ${col}: YAML ${e.code}: ${firstLine(e.message)}` };
      }),
    );
  }
  const keyIssues = collectionKeys(doc, lines);
  if (keyIssues.length > 0) throw new ConfigError(sourceName, keyIssues);
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // The yaml library resolves aliases only here: an alias before its anchor, or more aliases than its bound
    // (maxAliasCount, against billion-laughs documents), is a ReferenceError, not a parse error.
    throw new ConfigError(sourceName, [{ path: '', message: `YAML alias: ${firstLine((err as Error).message)}` }]);
  }
  return validateConfig(raw, sourceName);
}

/**
 * Validates a configuration already read from YAML (or JSON): the schema, then the cross-field rules. Throws
 * ConfigError with every problem. parseConfig's second half, on its own so that it can be fuzzed at the rate
 * of millions of inputs (the YAML layer is the yaml library's and costs milliseconds per document).
 */
export function validateConfig(raw: unknown, sourceName = '<config>'): VadcConfig {
  const result = configSchema.safeParse(raw, {
    // Fallback for issues without a message of their own.
    error: (issue) => (issue.input === undefined ? 'missing' : `invalid value ${showValue(issue.input)}`),
  });
  if (!result.success) {
    throw new ConfigError(sourceName, result.error.issues.flatMap(toConfigIssues));
  }
  const ruleIssues = checkConfigRules(result.data);
  if (ruleIssues.length > 0) throw new ConfigError(sourceName, ruleIssues);
  return result.data;
}

/**
 * Validates one service as the config file's `services:` entries are (the same schema and per-service rules):
 * what the cluster store's policy rows become. Throws ConfigError with every problem.
 */
export function parseServiceConfig(raw: unknown, sourceName: string): ServiceConfig {
  const result = serviceSchema.safeParse(raw, {
    error: (issue) => (issue.input === undefined ? 'missing' : `invalid value ${showValue(issue.input)}`),
  });
  if (!result.success) throw new ConfigError(sourceName, result.error.issues.flatMap(toConfigIssues));
  const ruleIssues = checkServiceRules(result.data);
  if (ruleIssues.length > 0) throw new ConfigError(sourceName, ruleIssues);
  return result.data;
}

/** Reads (at most VADC_MAX_CONFIG_BYTES, default 1 MiB) and parses a configuration file. */
export async function loadConfig(file: string): Promise<VadcConfig> {
  return parseConfig(await readConfigFile(file), file);
}

function toConfigIssues(issue: { code: string; path: PropertyKey[]; message: string; keys?: string[] }): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: issue.message }));
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

/**
 * Mapping keys that are themselves mappings or lists (`? [a, b]: x`, or `{a: 1}: x`): no vadc setting has
 * such a key, and toJS() would stringify them (the yaml library warns on stderr and the key becomes
 * "[object Object]" or "a,b"), so they are refused here with where they are.
 */
function collectionKeys(doc: Document, lines: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return;
      const at = pair.key.range ? lines.linePos(pair.key.range[0]) : undefined;
      const where = at ? `line ${at.line}, col ${at.col}: ` : '';
      issues.push({ path: '', message: `${where}a mapping key must be a plain value, not a ${isSeq(pair.key) ? 'list' : 'mapping'}` });
    },
  });
  return issues;
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
