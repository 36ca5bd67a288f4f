import { availableParallelism } from 'node:os';
import { canonicalJson, errorMessage, fsErrorAsUserError, InterruptedError, isUserError, registerLockFile, type ArtifactStore, type RunLog, type StageJob } from '@lenna/core';
import { evaluateInstance, type EvaluateContext, type InstanceStatus } from './evaluate.js';
import { readLockFile, updateLockFile, type LockEntry, type LockPolicy } from './lockfile.js';
import type { Pipeline } from './pipeline/load.js';
import type { Instance } from './pipeline/instances.js';
import { forcedStages, selectInstances } from './selection.js';
import { runStageChild } from './child.js';
import { collectRunFacts, stageRunFacts, type RunFactsBase } from './run-facts.js';
import { ExclusiveLock } from './exclusive.js';
import type { Reporter } from './progress.js';

export interface PlanOptions {
  store: ArtifactStore;
  only?: string[];
  from?: string[];
  force?: string[];
}

export interface RunOptions extends PlanOptions {
  jobs?: number;
  reporter: Reporter;
  signal: AbortSignal;
  /** How to wait on the lock file's lock and the machine-wide timing lock (timeout, who holds them). */
  lockPolicy?: LockPolicy;
  /** Where each instance that ran is recorded, so gc keeps what it made. */
  runLog?: RunLog;
  /** A one-off run (`--set`): it adds its instances to the lock file and removes none. */
  keepLockEntries?: boolean;
}

export interface RunResult {
  statuses: InstanceStatus[];
  interrupted: boolean;
}

interface Session {
  pipeline: Pipeline;
  selected: Instance[];
  statuses: Map<Instance, InstanceStatus>;
  ctx: EvaluateContext;
  /** Read on the first stage that runs: a run where everything is cached never calls git. */
  runFacts(): Promise<RunFactsBase>;
}

async function openSession(pipeline: Pipeline, options: PlanOptions): Promise<Session> {
  const selected = selectInstances(pipeline, options.only ?? []);
  const forced = forcedStages(pipeline, options.force ?? [], options.from ?? []);
  const lock = (await readLockFile(pipeline.lockFile))?.stages ?? {};
  const statuses = new Map<Instance, InstanceStatus>();
  const ctx: EvaluateContext = {
    store: options.store,
    lock,
    outputsOf: (inst) => {
      const s = statuses.get(inst);
      return s && (s.state === 'cached' || s.state === 'ran') ? s.outputs : undefined;
    },
    forced: (inst) => forced.get(inst.stage.id),
  };
  let facts: Promise<RunFactsBase> | undefined;
  const runFacts = () => (facts ??= collectRunFacts(pipeline));
  return { pipeline, selected, statuses, ctx, runFacts };
}

/** What `status`, `--dry-run` and `--cached-only` show: each instance cached or to run, and why. Runs nothing. */
export async function planPipeline(pipeline: Pipeline, options: PlanOptions): Promise<InstanceStatus[]> {
  const session = await openSession(pipeline, options);
  for (const inst of session.selected) session.statuses.set(inst, await evaluateInstance(inst, session.ctx));
  return session.selected.map((i) => session.statuses.get(i) as InstanceStatus);
}

/**
 * Runs the pipeline: instances in topological order, independent ones in parallel up to `jobs`.
 * Each instance's key is computed once its inputs are known, so a re-run upstream that produced the
 * same bytes leaves downstream cached. A stage that times something holds the machine through
 * ctx.exclusive() (see exclusive.ts); nothing else about scheduling depends on `measures`.
 */
export async function runPipeline(pipeline: Pipeline, options: RunOptions): Promise<RunResult> {
  const session = await openSession(pipeline, options);
  const { statuses, ctx } = session;
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const exclusive = new ExclusiveLock({ machine: { ...options.lockPolicy, signal: options.signal } });
  await registerLockFile(options.store.root, pipeline.lockFile);
  // A stopped stage process acts on SIGTERM only once continued, and must never outlive the runner stopped.
  const release = () => exclusive.stop();
  options.signal.addEventListener('abort', release, { once: true });
  process.once('exit', release);
  const pending = [...session.selected];
  const running = new Map<Instance, Promise<void>>();
  const cachedEntries: [string, LockEntry][] = [];
  pending.forEach((i) => options.reporter.waiting(i.id));

  const settledOk = (i: Instance): boolean => ctx.outputsOf(i) !== undefined;
  const blocked = (i: Instance): Instance | undefined => i.upstream.find((u) => statuses.has(u) && !settledOk(u) && !pending.includes(u) && !running.has(u));

  try {
    while ((pending.length > 0 && !options.signal.aborted) || running.size > 0) {
      for (const inst of [...pending]) {
        if (options.signal.aborted) break;
        const bad = blocked(inst);
        if (bad) {
          pending.splice(pending.indexOf(inst), 1);
          const reason = `upstream ${bad.id} ${statuses.get(bad)?.state === 'failed' ? 'failed' : 'did not run'}`;
          statuses.set(inst, { instance: inst, state: 'to-run', reasons: [reason], outputs: {} });
          options.reporter.skipped(inst.id, reason);
          continue;
        }
        if (!inst.upstream.every(settledOk)) continue;
        let status = statuses.get(inst);
        if (!status) {
          status = await evaluateInstance(inst, ctx).catch((error: unknown) => unreadable(inst, error, options));
          statuses.set(inst, status);
          if (status.state === 'failed') {
            pending.splice(pending.indexOf(inst), 1);
            options.reporter.failed(inst.id, status.reasons[0]);
            continue;
          }
          if (status.state === 'cached') {
            pending.splice(pending.indexOf(inst), 1);
            options.reporter.cached(inst.id);
            cachedEntries.push([inst.id, lockEntry(status)]);
            continue;
          }
        }
        // Two instances with one cache key (same stage, params and inputs) run once: the second waits, then finds it cached.
        const key = status.keyParts?.key;
        if (key && [...running.keys()].some((r) => statuses.get(r)?.keyParts?.key === key)) {
          statuses.delete(inst);
          continue;
        }
        if (running.size >= jobs) continue;
        pending.splice(pending.indexOf(inst), 1);
        const task = runInstance(status, session, options, exclusive).finally(() => running.delete(inst));
        running.set(inst, task);
      }
      if (running.size === 0) {
        if (pending.length === 0 || options.signal.aborted) break;
        // Every pending instance waits on something that will never settle: should not happen, but never spin.
        if (!pending.some((i) => i.upstream.every(settledOk))) break;
        continue;
      }
      await Promise.race(running.values());
    }
  } finally {
    // However the run ends, no stage process is left paused.
    options.signal.removeEventListener('abort', release);
    process.removeListener('exit', release);
    exclusive.stop();
  }
  const interrupted = options.signal.aborted;
  const result = session.selected.map(
    (i) => statuses.get(i) ?? { instance: i, state: 'to-run' as const, reasons: [interrupted ? 'interrupted before it started' : 'not reached'], outputs: {} },
  );
  if (interrupted) return { statuses: result, interrupted };
  await writeCachedEntries(pipeline, cachedEntries, options.lockPolicy);
  // A one-off run never drops what the pipeline as written made: gc would then take it.
  if (!options.keepLockEntries && !options.only?.length && result.every((s) => s.state === 'cached' || s.state === 'ran')) {
    await pruneLock(pipeline, options.lockPolicy);
  }
  return { statuses: result, interrupted };
}

/** An instance whose outputs could not even be read (permission, I/O error): it fails, the run goes on. */
function unreadable(inst: Instance, error: unknown, options: RunOptions): InstanceStatus {
  const problem = fsErrorAsUserError(error, options.store.root);
  if (!problem) throw error;
  return { instance: inst, state: 'failed', reasons: [problem.message], outputs: {}, userError: true };
}

async function runInstance(status: InstanceStatus, session: Session, options: RunOptions, exclusive: ExclusiveLock): Promise<void> {
  const inst = status.instance;
  options.reporter.started(inst.id);
  // A rebuild of something found corrupt says so.
  for (const reason of status.reasons.filter((r) => /corrupt|quarantined/.test(r))) options.reporter.log(inst.id, `rebuilding: ${reason}`);
  try {
    await runAndRecord(status, session, options, exclusive);
  } catch (error) {
    const interrupted = error instanceof InterruptedError || options.signal.aborted;
    const problem = fsErrorAsUserError(error, options.store.root) ?? error;
    status.state = interrupted ? 'to-run' : 'failed';
    status.userError = isUserError(problem);
    status.reasons = [interrupted ? 'interrupted' : errorMessage(problem)];
    if (interrupted) options.reporter.skipped(inst.id, 'interrupted');
    else options.reporter.failed(inst.id, errorMessage(problem), status.logPath);
  }
}

async function runAndRecord(status: InstanceStatus, session: Session, options: RunOptions, exclusive: ExclusiveLock): Promise<void> {
  const inst = status.instance;
  const def = inst.stage.ref.definition;
  const key = status.keyParts?.key as string;
  const result = await runStageChild({
    store: options.store,
    specifier: inst.stage.ref.specifier,
    stageName: def.name,
    instance: inst.id,
    params: inst.params,
    cacheKey: key,
    inputs: jobInputs(options.store, inst, status.inputs ?? {}),
    inputIds: status.inputs ?? {},
    outputs: Object.fromEntries(Object.entries(def.outputs).map(([n, o]) => [n, { kind: o.kind }])),
    environment: status.keyParts?.environment,
    run: await stageRunFacts(await session.runFacts()),
    exclusive,
    signal: options.signal,
    timeoutS: inst.stage.timeoutS,
    onMessage: (m) => {
      if (m.type === 'progress') options.reporter.progress(inst.id, m.event);
      else if (m.type === 'log') options.reporter.log(inst.id, m.message);
    },
  });
  status.logPath = result.logPath;
  status.seconds = result.seconds;
  if (!result.ok) {
    status.state = result.interrupted ? 'to-run' : 'failed';
    status.userError = result.userError !== undefined;
    status.reasons = result.interrupted ? ['interrupted'] : [`${result.error}; log: ${result.logPath}`];
    if (result.interrupted) options.reporter.skipped(inst.id, 'interrupted');
    else options.reporter.failed(inst.id, result.error ?? 'failed', result.logPath);
    return;
  }
  if (result.fromPending) options.reporter.log(inst.id, 'committed the outputs an earlier run finished but could not commit');
  status.state = 'ran';
  status.outputs = result.outputs;
  await options.runLog?.add(inst.id, { stage: def.name, key, inputs: status.inputs ?? {}, outputs: result.outputs });
  await options.store.writeCacheRecord({
    cacheKey: key,
    stage: def.name,
    outputs: result.outputs,
    params: inst.params,
    inputs: status.inputs ?? {},
    finishedAt: new Date().toISOString(),
    seconds: result.seconds,
  });
  await updateLockFile(
    session.pipeline.lockFile,
    session.pipeline.name,
    (lock) => {
      lock.stages[inst.id] = lockEntry(status);
    },
    { ...options.lockPolicy, signal: options.signal },
  ).catch((error: unknown) => {
    // Interrupted while waiting for the lock file: the cache record already holds the result.
    if (!(error instanceof InterruptedError)) throw error;
  });
  options.reporter.finished(inst.id, result.seconds);
}

/**
 * Each input's artifact and the upstream instance that produced it in this pipeline: two sweep
 * instances can produce identical bytes (one artifact, one manifest), so only the pipeline knows
 * which instance a gathered artifact stands for.
 */
function jobInputs(store: ArtifactStore, inst: Instance, ids: Record<string, string | string[]>): StageJob['inputs'] {
  const one = (id: string, from: string): { id: string; dir: string; instance: string } => ({ id, dir: store.objectDir(id), instance: from });
  return Object.fromEntries(
    Object.entries(ids).map(([name, v]) => {
      const producers = [inst.inputs[name]].flat().map((input) => input.from.id);
      return [name, Array.isArray(v) ? v.map((id, i) => one(id, producers[i])) : one(v, producers[0])];
    }),
  );
}

export function lockEntry(status: InstanceStatus): LockEntry {
  const def = status.instance.stage.ref.definition;
  return {
    stage: def.name,
    version: def.version,
    code: status.keyParts?.code ?? '',
    key: status.keyParts?.key ?? '',
    params: status.instance.params,
    inputs: status.inputs ?? {},
    outputs: status.outputs,
  };
}

/** Cached instances enter the lock file too, but in one write, and only if something differs. */
async function writeCachedEntries(pipeline: Pipeline, entries: [string, LockEntry][], policy?: LockPolicy): Promise<void> {
  const current = (await readLockFile(pipeline.lockFile))?.stages ?? {};
  const changed = entries.filter(([id, e]) => !current[id] || canonicalJson(current[id]) !== canonicalJson(e));
  if (changed.length === 0 && (await readLockFile(pipeline.lockFile))) return;
  await updateLockFile(
    pipeline.lockFile,
    pipeline.name,
    (lock) => {
      for (const [id, e] of entries) lock.stages[id] = e;
    },
    policy,
  );
}

/**
 * After a complete run of the pipeline as written, instances no longer in it leave the lock file
 * (what they made stays protected from gc by the run records of the runs that made it).
 */
async function pruneLock(pipeline: Pipeline, policy?: LockPolicy): Promise<void> {
  const ids = new Set(pipeline.instances.map((i) => i.id));
  const current = (await readLockFile(pipeline.lockFile))?.stages ?? {};
  if (Object.keys(current).every((id) => ids.has(id))) return;
  await updateLockFile(
    pipeline.lockFile,
    pipeline.name,
    (lock) => {
      for (const id of Object.keys(lock.stages)) if (!ids.has(id)) delete lock.stages[id];
    },
    policy,
  );
}
