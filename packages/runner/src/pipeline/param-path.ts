import type { z } from 'zod';
import { UserError } from '@lenna/core';

/*
 * Params addressed by a dotted path (`dataset.limit`), checked against the stage's zod schema as far
 * as the schema can be followed: objects by their shape, through default/optional/nullable wrappers.
 * Where the schema cannot say (a record, a union, a custom schema), the stage's own validation decides.
 */

type Schema = z.ZodType;
type Def = { type: string; innerType?: Schema; in?: Schema; shape?: Record<string, Schema> };

function defOf(schema: Schema): Def {
  return (schema as unknown as { def: Def }).def;
}

/** The schema under default, optional, nullable, readonly and catch wrappers, and a transform's input. */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (let depth = 0; depth < 16; depth++) {
    const def = defOf(current);
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) break;
    current = inner;
  }
  return current;
}

/** The keys an object schema allows; undefined where the schema is not an object. */
export function objectKeys(schema: Schema): string[] | undefined {
  const shape = defOf(unwrap(schema)).shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : undefined;
}

function childSchema(schema: Schema | undefined, key: string): Schema | undefined {
  return schema ? defOf(unwrap(schema)).shape?.[key] : undefined;
}

/** The schema of the param at `path`, where the schema can be followed that far. */
export function schemaAtPath(schema: Schema, path: readonly string[]): Schema | undefined {
  return path.reduce<Schema | undefined>((s, key) => childSchema(s, key), schema);
}

/** Types that hold no keys: a path cannot go on through them. */
const LEAF_TYPES = new Set(['string', 'number', 'int', 'boolean', 'bigint', 'enum', 'literal', 'array', 'tuple', 'null', 'date', 'template_literal']);

/**
 * Checks that every key of `path` is a param (or a key of an object param) of the stage. Throws a
 * UserError starting with `where` that names the first unknown key and the keys allowed there.
 */
export function checkParamPath(schema: Schema, path: string[], stageName: string, where: string): void {
  let current: Schema = schema;
  for (let i = 0; i < path.length; i++) {
    const parent = path.slice(0, i).join('.');
    const keys = objectKeys(current);
    if (!keys) {
      const type = defOf(unwrap(current)).type;
      if (i > 0 && LEAF_TYPES.has(type)) {
        throw new UserError(`${where}: param "${parent}" of ${stageName} is a ${type}, not a map, so it has no key "${path[i]}"; set ${parent} itself.`);
      }
      return;
    }
    if (!keys.includes(path[i])) {
      const allowed = i === 0 ? `known params: ${keys.join(', ')}` : `known keys of ${parent}: ${keys.join(', ')}`;
      throw new UserError(`${where}: unknown param "${path.slice(0, i + 1).join('.')}" of ${stageName}; ${allowed}.`);
    }
    current = childSchema(current, path[i]) as Schema;
  }
}

/**
 * Sets `path` inside `params` to `value`. The objects on the way are copied, never changed in place;
 * one that is missing starts from the schema's default for it (so `dataset.limit=1024` keeps the
 * default data set's other keys), else empty. `where` starts the error about a value in the way.
 */
export function setParamPath(params: Record<string, unknown>, path: string[], value: unknown, schema: Schema | undefined, where: string): void {
  let container = params;
  let sub = schema;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    sub = childSchema(sub, key);
    const existing = container[key];
    let next: Record<string, unknown>;
    if (isPlainObject(existing)) next = { ...existing };
    else if (existing === undefined || existing === null) next = defaultObject(sub);
    else {
      const prefix = path.slice(0, i + 1).join('.');
      throw new UserError(`${where}: ${prefix} is ${JSON.stringify(existing)}, not a map, so it has no key "${path[i + 1]}"; set ${prefix} itself.`);
    }
    container[key] = next;
    container = next;
  }
  container[path[path.length - 1]] = value;
}

/** The value at `path`, or undefined. */
export function valueAtPath(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function defaultObject(schema: Schema | undefined): Record<string, unknown> {
  const parsed = schema?.safeParse(undefined);
  return parsed?.success && isPlainObject(parsed.data) ? structuredClone(parsed.data) : {};
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
