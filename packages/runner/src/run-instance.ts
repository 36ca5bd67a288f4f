import { InterruptedError, type ArtifactStore, type RunLog, type StageDefinition, type StageJob, type StageMessage } from '@lenna/core';
import type { InputIds, KeyParts } from './cache-key.js';
import { runStageChild, type ChildRunResult } from './child.js';
import type { ExclusiveLock } from './exclusive.js';
import { stageRunFacts, type RunFactsBase } from './run-facts.js';
import type { StageLauncher } from './launch.js';
import { updateLockFile, type LockEntry, type LockPolicy } from './lockfile.js';

/**
 * One stage instance whose key is known, ready to run: everything the runner needs to run it and to
 * record what it made. Built by the local executor from the planner's status, and by `lenna job` on a
 * cluster node from its job file; both then call runAndRecord, so there is one way an instance's
 * outputs reach the store, the cache, the run record and the lock file.
 */
export interface InstanceRun {
  pipeline: { name: string; lockFile: string };
  instance: string;
  /** What the stage host imports: a package name or an absolute file path. */
  specifier: string;
  definition: StageDefinition;
  keyParts: KeyParts;
  params: unknown;
  inputs: InputIds;
  /** The upstream instance that produced each input artifact (a list for a gather, in the same order). */
  producers: Record<string, string | string[]>;
  /** The pipeline's `timeout:` for the stage, in seconds. */
  timeoutS?: number;
}

export interface RunServices {
  store: ArtifactStore;
  exclusive: ExclusiveLock;
  signal: AbortSignal;
  lockPolicy?: LockPolicy;
  runLog?: RunLog;
  launcher?: StageLauncher;
  /** The run's facts (commit, versions, pipeline hash) for the stage's ctx.run; read once per run. */
  runFacts(): Promise<RunFactsBase>;
  onMessage(message: StageMessage): void;
}

/** What the person watching is told when a run committed outputs an earlier run had finished (child.ts's pending/). */
export const FROM_PENDING_NOTE = 'committed the outputs an earlier run finished but could not commit';

/**
 * Runs the instance's stage (a child process through the launcher), commits its outputs, then writes
 * the run record, the cache record and the lock file's entry (under the lock file's lock).
 */
export async function runAndRecord(run: InstanceRun, services: RunServices): Promise<ChildRunResult> {
  const def = run.definition;
  const key = run.keyParts.key;
  const result = await runStageChild({
    store: services.store,
    specifier: run.specifier,
    stageName: def.name,
    instance: run.instance,
    params: run.params,
    cacheKey: key,
    inputs: jobInputs(services.store, run.inputs, run.producers),
    inputIds: run.inputs,
    outputs: Object.fromEntries(Object.entries(def.outputs).map(([n, o]) => [n, { kind: o.kind }])),
    environment: run.keyParts.environment,
    run: await stageRunFacts(await services.runFacts()),
    exclusive: services.exclusive,
    signal: services.signal,
    timeoutS: run.timeoutS,
    launcher: services.launcher,
    onMessage: services.onMessage,
  });
  if (!result.ok) return result;
  await services.runLog?.add(run.instance, { stage: def.name, key, inputs: run.inputs, outputs: result.outputs });
  await services.store.writeCacheRecord({
    cacheKey: key,
    stage: def.name,
    outputs: result.outputs,
    params: run.params,
    inputs: run.inputs,
    finishedAt: new Date().toISOString(),
    seconds: result.seconds,
  });
  await recordInLockFile(run, result.outputs, { ...services.lockPolicy, signal: services.signal });
  return result;
}

/** The instance's entry in the pipeline's lock file, under the lock file's lock. */
export async function recordInLockFile(run: InstanceRun, outputs: Record<string, string>, policy: LockPolicy): Promise<void> {
  await updateLockFile(
    run.pipeline.lockFile,
    run.pipeline.name,
    (lock) => {
      lock.stages[run.instance] = lockEntryOf(run.definition, run.keyParts, run.params, run.inputs, outputs);
    },
    policy,
  ).catch((error: unknown) => {
    // Interrupted while waiting for the lock file: the cache record already holds the result.
    if (!(error instanceof InterruptedError)) throw error;
  });
}

export function lockEntryOf(def: StageDefinition, keyParts: KeyParts | undefined, params: unknown, inputs: InputIds, outputs: Record<string, string>): LockEntry {
  return { stage: def.name, version: def.version, code: keyParts?.code ?? '', key: keyParts?.key ?? '', params, inputs, outputs };
}

/**
 * Each input's artifact and the upstream instance that produced it in this pipeline: two sweep
 * instances can produce identical bytes (one artifact, one manifest), so only the pipeline knows
 * which instance a gathered artifact stands for.
 */
function jobInputs(store: ArtifactStore, ids: InputIds, producers: Record<string, string | string[]>): StageJob['inputs'] {
  const one = (id: string, from: string): { id: string; dir: string; instance: string } => ({ id, dir: store.objectDir(id), instance: from });
  return Object.fromEntries(
    Object.entries(ids).map(([name, v]) => {
      const from = [producers[name]].flat();
      return [name, Array.isArray(v) ? v.map((id, i) => one(id, from[i])) : one(v, from[0])];
    }),
  );
}
