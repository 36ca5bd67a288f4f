import { parse as parseYamlValue } from 'yaml';
import { UserError } from '@lenna/core';

/**
 * One `--set <stage>.<param>=<value>[,<value>...]`; `params.<name>=` sets a shared param. The param
 * may be a path into an object param: `darts-search.dataset.limit=1024`.
 */
export interface Override {
  stage: string;
  /** The param's dotted path as written: `lambda`, `dataset.limit`. */
  param: string;
  /** `param` split at its dots. */
  path: string[];
  values: unknown[];
  text: string;
}

const SEGMENT = '[A-Za-z0-9_-]+';
const overridePattern = new RegExp(`^([A-Za-z0-9][A-Za-z0-9_-]*)\\.(${SEGMENT}(?:\\.${SEGMENT})*)=(.*)$`, 's');

export function parseOverride(text: string): Override {
  const match = overridePattern.exec(text);
  if (!match) {
    throw new UserError(`--set ${text}: write it as <stage>.<param>=<value> (several values a,b,c make a sweep), e.g. --set darts-search.lambda=0.1.`);
  }
  const [, stage, param, raw] = match;
  return { stage, param, path: param.split('.'), values: splitSweep(raw, text).map(parseScalar), text };
}

/**
 * `a,b,[1,2]` -> `a`, `b`, `[1,2]`: a comma separates sweep values except inside a YAML flow list or
 * map, or inside a quoted value (`"a,b"`, `'a,b'`), which is how a value holding a comma is written.
 */
function splitSweep(raw: string, text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (quote !== undefined) {
      if (quote === '"' && ch === '\\') i++;
      else if (ch === quote && quote === "'" && raw[i + 1] === "'") i++; // YAML's '' is one quote
      else if (ch === quote) quote = undefined;
      continue;
    }
    if ((ch === '"' || ch === "'") && opensQuote(raw.slice(start, i))) quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if ((ch === ']' || ch === '}') && depth > 0) depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  if (quote !== undefined) {
    throw new UserError(`--set ${text}: the value opens a ${quote} quote it never closes; close it, e.g. --set 'report.title="a,b"'.`);
  }
  parts.push(raw.slice(start));
  return parts;
}

/** As in YAML, a quote starts a quoted value only where a value starts: the `'` of `it's` is a letter. */
function opensQuote(before: string): boolean {
  const text = before.trimEnd();
  return text === '' || /[[{,:]$/.test(text);
}

const NULLS = new Set(['null', 'Null', 'NULL', '~']);

/**
 * `0.1` -> 0.1, `true` -> true, `null` -> null, `abc` -> 'abc', `"a,b"` -> 'a,b', `[64,64]` -> [64, 64]:
 * the same typing YAML gives a value in the file (a flow list or map only when written as one).
 */
export function parseScalar(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed === '') return '';
  try {
    const value: unknown = parseYamlValue(trimmed, { logLevel: 'error' });
    if (value === null) return NULLS.has(trimmed) ? null : trimmed;
    if (typeof value === 'object') return /^[[{]/.test(trimmed) ? value : trimmed;
    return value;
  } catch {
    return trimmed;
  }
}
