import { isMap, parseDocument } from 'yaml';

/**
 * Secrets in a configuration text (today: `api.token`). They are never echoed (GET /v1/config, `vadc config
 * show`) and never written to the runtime state file: those carry REDACTED, and a text coming back with the
 * placeholder (an edited `config show`, the state file at start) gets the secret in force filled in again.
 */
export const REDACTED = '<redacted>';

const TOKEN_PATH = ['api', 'token'];

export interface ConfigSecrets {
  apiToken?: string;
}

/** Cheap pre-check: a text that never says "token" holds no secret, and is not parsed again. */
function mayHoldSecret(text: string): boolean {
  return text.includes('token');
}

function parse(text: string) {
  const doc = parseDocument(text, { prettyErrors: false });
  return doc.errors.length === 0 && isMap(doc.contents) ? doc : undefined;
}

export function secretsOf(text: string): ConfigSecrets {
  if (!mayHoldSecret(text)) return {};
  const token = parse(text)?.getIn(TOKEN_PATH);
  return typeof token === 'string' && token !== REDACTED ? { apiToken: token } : {};
}

let lastRedacted: { text: string; redacted: string } | undefined;

/** The text with each secret replaced by REDACTED; comments and layout kept. */
export function redactSecrets(text: string): string {
  if (!mayHoldSecret(text)) return text;
  if (lastRedacted?.text === text) return lastRedacted.redacted;
  const doc = parse(text);
  let redacted: string;
  if (!doc) {
    // Not YAML we can edit: drop any line that sets a token rather than risk echoing it.
    redacted = text.replace(/^(\s*token\s*:).*$/gm, `$1 ${REDACTED}`);
  } else if (doc.hasIn(TOKEN_PATH)) {
    doc.setIn(TOKEN_PATH, REDACTED);
    redacted = doc.toString();
  } else {
    redacted = text;
  }
  lastRedacted = { text, redacted };
  return redacted;
}

/** The text with REDACTED placeholders filled from `secrets`; a placeholder with nothing to fill is removed. */
export function restoreSecrets(text: string, secrets: ConfigSecrets): string {
  if (!text.includes(REDACTED)) return text;
  const doc = parse(text);
  if (!doc) return text;
  if (doc.getIn(TOKEN_PATH) !== REDACTED) return text;
  if (secrets.apiToken !== undefined) doc.setIn(TOKEN_PATH, secrets.apiToken);
  else doc.deleteIn(TOKEN_PATH);
  return doc.toString();
}
