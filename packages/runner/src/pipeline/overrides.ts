import { parse as parseYamlValue } from 'yaml';
import { UserError } from '@lenna/core';

/** One `--set <stage>.<param>=<value>[,<value>...]`; `params.<name>=` sets a shared param. */
export interface Override {
  stage: string;
  param: string;
  values: unknown[];
  text: string;
}

export function parseOverride(text: string): Override {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]*)\.([A-Za-z0-9_.-]+)=(.*)$/s.exec(text);
  if (!match) {
    throw new UserError(`--set ${text}: write it as <stage>.<param>=<value> (several values a,b,c make a sweep), e.g. --set darts-search.lambda=0.1.`);
  }
  const [, stage, param, raw] = match;
  return { stage, param, values: splitOutsideBrackets(raw).map(parseScalar), text };
}

/** `a,b,[1,2]` -> `a`, `b`, `[1,2]`: commas inside a YAML flow list or map belong to the value. */
function splitOutsideBrackets(raw: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '[' || ch === '{') depth++;
    else if ((ch === ']' || ch === '}') && depth > 0) depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}

/**
 * `0.1` -> 0.1, `true` -> true, `abc` -> 'abc', `[64,64]` -> [64, 64]: the same typing YAML gives a
 * value in the file (a flow list or map only when the value is written as one).
 */
export function parseScalar(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed === '') return '';
  try {
    const value: unknown = parseYamlValue(trimmed);
    if (value === null) return trimmed;
    if (typeof value === 'object') return /^[[{]/.test(trimmed) ? value : trimmed;
    return value;
  } catch {
    return trimmed;
  }
}
