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
  return { stage, param, values: raw.split(',').map(parseScalar), text };
}

/** `0.1` -> 0.1, `true` -> true, `abc` -> 'abc': the same typing YAML gives a value in the file. */
export function parseScalar(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed === '') return '';
  try {
    const value: unknown = parseYamlValue(trimmed);
    return value === null || typeof value === 'object' ? trimmed : value;
  } catch {
    return trimmed;
  }
}
