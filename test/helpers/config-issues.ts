import { ConfigError, parseConfig, type ConfigIssue } from '../../src/config';

/** Parses text expected to be invalid and returns the issues. */
export function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected parseConfig to reject the text');
}
