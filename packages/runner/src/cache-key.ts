import { canonicalJson, sha256Hex, type StageDefinition } from '@lenna/core';
import type { Instance } from './pipeline/instances.js';
import type { StageRef } from './stage-ref.js';

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
export function computeCacheKey(instance: Instance, inputs: InputIds): Promise<KeyParts> {
  return keyParts(instance.stage.ref, instance.params, inputs, () => environmentOf(instance));
}

/** The key parts of a stage run here (`lenna stage`, a SLURM job on its node): a measuring stage's environment is this machine's. */
export function keyPartsHere(ref: StageRef, params: unknown, inputs: InputIds): Promise<KeyParts> {
  const def = ref.definition;
  return keyParts(ref, params, inputs, async () => (def.environment ? def.environment(params) : undefined));
}

async function keyParts(ref: StageRef, params: unknown, inputs: InputIds, environmentHere: () => Promise<Record<string, unknown> | undefined>): Promise<KeyParts> {
  const def = ref.definition;
  const code = await ref.fingerprint();
  const environment = def.measures ? await environmentHere() : undefined;
  return { key: await stageCacheKey(def, params, inputs, code, environment), code, environment };
}

/** The key of one run of a stage, for a pipeline instance or `lenna stage` alike. */
async function stageCacheKey(def: StageDefinition, params: unknown, inputs: InputIds, code: string, env?: Record<string, unknown>): Promise<string> {
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
