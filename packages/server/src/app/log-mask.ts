import { TOKEN_PREFIXES } from '../shared/token-prefixes.js';

/**
 * Masks values that look like Latchkey secrets or tokens in a serialized log line (pino's
 * `hooks.streamWrite`, so every field is covered: messages, nested objects, error messages and stacks):
 * - anything with a Latchkey prefix (`lk_`, `lki_`, `lkr_`, `lko_`, shared/token-prefixes.ts) followed by
 *   8 or more base64url characters → `lk_[masked]` (the prefix stays, to tell what leaked);
 * - JWT-shaped strings (`eyJ….….…`) → `[masked-jwt]`;
 * - any other base64url run of 32 characters or more → `[masked]`, except the values of the JSON keys
 *   `kid`, `jti`, `jkt` and `x5t#S256` (key ids and thumbprints, which operators need and which are public).
 * A run preceded by a backslash is left alone, so JSON escapes stay valid.
 */
const B64 = 'A-Za-z0-9_-';
const prefixes = [...TOKEN_PREFIXES].sort((a, b) => b.length - a.length).map((p) => p.replace(/_$/, ''));
/** Start of a run: not inside a longer base64url word, not right after a lone backslash; after a JSON \\n, \\t, … escape is fine. */
const START = `(?:(?<=\\\\[nrtbf])|(?<![\\\\.${B64}]))`;
const PATTERN = new RegExp(
  [
    `${START}((?:${prefixes.join('|')})_)[${B64}]{8,}`,
    `${START}eyJ[${B64}]{4,}\\.[${B64}]{4,}\\.[${B64}]*`,
    `${START}(?<!"(?:kid|jti|jkt|x5t#S256)":")[${B64}]{32,}`,
  ].join('|'),
  'g',
);

export function maskSecrets(line: string): string {
  return line.replace(PATTERN, (m: string, prefix: string | undefined) => {
    if (prefix) return `${prefix}[masked]`;
    if (m.startsWith('eyJ') && m.includes('.')) return '[masked-jwt]';
    return '[masked]';
  });
}
