import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_LOCK_TIMEOUT_S, UserError } from '@lenna/core';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with its errors turned into one-sentence user errors naming the command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(command: string, argv: string[], options: Options): ParsedArgs {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(`lenna ${command}: ${message}; see lenna ${command} --help.`);
  }
}

export function intOption(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`lenna ${command}: --${name} ${value} is not a positive integer; give e.g. --${name} 2.`);
  return n;
}

export function requirePositional(command: string, positionals: string[], what: string): string {
  const value = positionals[0];
  if (!value) throw new UserError(`lenna ${command}: missing ${what}; see lenna ${command} --help.`);
  if (positionals.length > 1) throw new UserError(`lenna ${command}: unexpected argument "${positionals[1]}"; see lenna ${command} --help.`);
  return value;
}

/** `name=value` pairs of repeated options such as --in and --param. */
export function keyValues(command: string, flag: string, items: string[] | undefined): [string, string][] {
  return (items ?? []).map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`lenna ${command}: --${flag} ${item} is not <name>=<value>; write e.g. --${flag} lambda=0.1.`);
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}

/** `--lock-timeout S`: seconds to wait on a lock another process holds (default DEFAULT_LOCK_TIMEOUT_S). */
export function lockTimeoutOption(command: string, value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOCK_TIMEOUT_S;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UserError(`lenna ${command}: --lock-timeout ${value} is not a number of seconds; give e.g. --lock-timeout 600.`);
  }
  return seconds;
}
