import { canonicalJson, sha256Hex, type StageDefinition } from '@lenna/core';
import type { Instance } from './pipeline/instances.js';

export type InputIds = Record<string, string | string[]>;

export interface KeyParts {
  key: string;
  code: string;
  environment?: Record<string, unknown>;
}

const environments = new Map<string, Promise<Record<string, unknown> | undefined>>();

/**
 * The cache key of a pipeline instance (docs/architecture.md): stage name and version, code fingerprint, resolved params
 * (as the stage's keyParams gives them), input artifact ids, external fingerprint and, for measuring
 * stages only, the environment. Nothing else: not the time, not paths, not the pipeline's name.
 */
export async function computeCacheKey(instance: Instance, inputs: InputIds): Promise<KeyParts> {
  const def = instance.stage.ref.definition;
  const code = await instance.stage.ref.fingerprint();
  const environment = def.measures ? await environmentOf(instance) : undefined;
  return { key: await stageCacheKey(def, instance.params, inputs, code, environment), code, environment };
}

/** The key of one run of a stage, for a pipeline instance or `lenna stage` alike. */
export async function stageCacheKey(def: StageDefinition, params: unknown, inputs: InputIds, code: string, env?: Record<string, unknown>): Promise<string> {
  const external = def.externalFingerprint ? await def.externalFingerprint(params) : undefined;
  const keyParams = def.keyParams ? def.keyParams(params) : params;
  return cacheKeyOf({ stage: def.name, version: def.version, code, params: keyParams, inputs, external, env });
}

export function cacheKeyOf(parts: {
  stage: string;
  version: number;
  code: string;
  params: unknown;
  inputs: InputIds;
  external?: string;
  env?: Record<string, unknown>;
}): string {
  return sha256Hex(canonicalJson(parts));
}

function environmentOf(instance: Instance): Promise<Record<string, unknown> | undefined> {
  const def = instance.stage.ref.definition;
  const memoKey = `${instance.stage.ref.specifier}:${canonicalJson(instance.params)}`;
  let env = environments.get(memoKey);
  if (!env) {
    env = def.environment ? def.environment(instance.params) : Promise.resolve(undefined);
    environments.set(memoKey, env);
  }
  return env;
}
