import { UserError } from '@lenna/core';

const wholeRef = /^\$\{params\.([A-Za-z0-9_-]+)\}$/;
const anyRef = /\$\{params\.([A-Za-z0-9_-]+)\}/g;

/**
 * Replaces `${params.x}` with the pipeline's shared param. A value that is only the reference keeps
 * the shared value's type (a number stays a number); a reference inside text is interpolated.
 */
export function substituteParams(value: unknown, shared: Record<string, unknown>, where: string): unknown {
  if (typeof value === 'string') return substituteString(value, shared, where);
  if (Array.isArray(value)) return value.map((v) => substituteParams(v, shared, where));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteParams(v, shared, `${where}.${k}`)]));
  }
  return value;
}

function substituteString(text: string, shared: Record<string, unknown>, where: string): unknown {
  const lookup = (name: string): unknown => {
    if (!(name in shared)) {
      const known = Object.keys(shared).join(', ') || 'none';
      throw new UserError(`${where}: \${params.${name}} names no shared param; define it under params: (known: ${known}).`);
    }
    return shared[name];
  };
  const whole = wholeRef.exec(text);
  if (whole) return lookup(whole[1]);
  return text.replace(anyRef, (_m, name: string) => String(lookup(name)));
}
