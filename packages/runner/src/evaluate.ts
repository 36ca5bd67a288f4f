import { canonicalJson, CorruptArtifactError, type ArtifactStore, type StageDefinition } from '@lenna/core';
import { computeCacheKey, type InputIds, type KeyParts } from './cache-key.js';
import type { Instance } from './pipeline/instances.js';
import type { LockEntry } from './lockfile.js';

/** `submitted`: handed to a cluster whose job has not ended yet (`run --detach`). */
export type State = 'cached' | 'to-run' | 'ran' | 'failed' | 'submitted';

/** The cluster job of an instance: its id, and where known its scheduler state and output. */
export interface JobInfo {
  id: string;
  /** SLURM's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
  state?: string;
  /** Why it waits or why it ended, as the scheduler says (Dependency, DependencyNeverSatisfied, ...). */
  reason?: string;
  /** The stage's log (or, before the stage started, the job's output file). */
  log?: string;
  /** The last lines of that log, for a failed job. */
  tail?: string[];
}

/** What the runner knows about one instance: its state, why, and (once known) its key and outputs. */
export interface InstanceStatus {
  instance: Instance;
  state: State;
  reasons: string[];
  outputs: Record<string, string>;
  /** Known once every input is known. */
  inputs?: InputIds;
  keyParts?: KeyParts;
  logPath?: string;
  seconds?: number;
  /** The stage failed on a user's mistake it detected (its process exited with status 2). */
  userError?: boolean;
  /** Set when a cluster executor submitted it. */
  job?: JobInfo;
}

export interface EvaluateContext {
  store: ArtifactStore;
  lock: Record<string, LockEntry>;
  /** Outputs of instances already cached or run; absent: not known yet. */
  outputsOf(instance: Instance): Record<string, string> | undefined;
  /** Why an instance must run regardless of the cache (`--force`, `--from`), if it must. */
  forced(instance: Instance): string | undefined;
}

/** Decides whether an instance is cached, and if not, why it must run. */
export async function evaluateInstance(instance: Instance, ctx: EvaluateContext): Promise<InstanceStatus> {
  const inputs = collectInputs(instance, ctx);
  if (!inputs) {
    const waiting = instance.upstream.filter((u) => !ctx.outputsOf(u)).map((u) => u.id);
    return { instance, state: 'to-run', reasons: [`upstream ${[...new Set(waiting)].join(', ')} will run`], outputs: {} };
  }
  const keyParts = await computeCacheKey(instance, inputs);
  const base = { instance, inputs, keyParts, outputs: {} };
  const record = await ctx.store.readCacheRecord(keyParts.key);
  const outputProblems = record ? await checkOutputs(instance, record.outputs, ctx.store) : [];
  const forced = ctx.forced(instance);
  if (record && outputProblems.length === 0 && !forced) {
    return { ...base, state: 'cached', reasons: [], outputs: record.outputs };
  }
  const reasons = forced ? [forced] : record ? outputProblems : changeReasons(instance, inputs, keyParts, ctx.lock[instance.id]);
  return { ...base, state: 'to-run', reasons };
}

function collectInputs(instance: Instance, ctx: EvaluateContext): InputIds | undefined {
  const ids: InputIds = {};
  for (const [name, input] of Object.entries(instance.inputs)) {
    const list = Array.isArray(input) ? input : [input];
    const found: string[] = [];
    for (const item of list) {
      const id = ctx.outputsOf(item.from)?.[item.output];
      if (id === undefined) return undefined;
      found.push(id);
    }
    ids[name] = Array.isArray(input) ? found : found[0];
  }
  return ids;
}

async function checkOutputs(instance: Instance, outputs: Record<string, string>, store: ArtifactStore): Promise<string[]> {
  return outputProblems(instance.stage.ref.definition, outputs, store);
}

/** The outputs a finished run with this key left, if its cache record is there and every output opens. */
export async function cachedOutputs(store: ArtifactStore, def: StageDefinition, key: string): Promise<Record<string, string> | undefined> {
  const record = await store.readCacheRecord(key);
  if (!record || (await outputProblems(def, record.outputs, store)).length > 0) return undefined;
  return record.outputs;
}

async function outputProblems(def: StageDefinition, outputs: Record<string, string>, store: ArtifactStore): Promise<string[]> {
  const problems: string[] = [];
  for (const name of Object.keys(def.outputs)) {
    const id = outputs[name];
    if (!id) {
      problems.push(`output ${name} missing`);
      continue;
    }
    try {
      if (await store.open(id)) continue;
      const note = await store.quarantineNote(id);
      problems.push(note ? `output ${name} (${id.slice(0, 12)}) was quarantined as corrupt (${note.problem})` : `output ${name} missing`);
    } catch (error) {
      if (!(error instanceof CorruptArtifactError)) throw error;
      problems.push(`output ${name} (${id.slice(0, 12)}) is corrupt`);
    }
  }
  return problems;
}

/** One sentence per difference from the lock file's last finished run of this instance. */
export function changeReasons(instance: Instance, inputs: InputIds, parts: KeyParts, entry: LockEntry | undefined): string[] {
  if (!entry) return ['never run'];
  const def = instance.stage.ref.definition;
  const reasons = [...paramChanges(entry.params, instance.params), ...inputChanges(entry.inputs, inputs)];
  if (entry.code !== parts.code) reasons.push(`code of ${def.name} changed`);
  if (entry.version !== def.version) reasons.push(`version of ${def.name} changed from ${entry.version} to ${def.version}`);
  if (reasons.length > 0) return reasons;
  if (entry.key === parts.key) return [`cache record ${parts.key.slice(0, 12)} missing from the store`];
  return [`cache key changed (environment or external files of ${def.name})`];
}

function paramChanges(before: unknown, after: unknown): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null))
    .map((k) => `param ${k} changed from ${show(a[k])} to ${show(b[k])}`);
}

function inputChanges(before: InputIds, after: InputIds): string[] {
  const names = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort();
  return names
    .filter((n) => canonicalJson(before?.[n] ?? null) !== canonicalJson(after[n] ?? null))
    .map((n) => `input ${n} changed (${short(before?.[n])} -> ${short(after[n])})`);
}

function show(value: unknown): string {
  return value === undefined ? 'unset' : typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
}

function short(id: string | string[] | undefined): string {
  if (id === undefined) return 'none';
  return Array.isArray(id) ? `[${id.map((x) => x.slice(0, 12)).join(', ')}]` : id.slice(0, 12);
}
