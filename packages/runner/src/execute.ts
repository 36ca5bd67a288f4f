import { canonicalJson, errorMessage, fsErrorAsUserError, InterruptedError, isUserError, registerLockFile, type ArtifactStore, type RunLog } from '@lenna/core';
import { evaluateInstance, type EvaluateContext, type InstanceStatus } from './evaluate.js';
import { LocalExecutor, type ExecutionContext, type Executor, type InstanceOutcome } from './executor.js';
import { readLockFile, updateLockFile, type LockEntry, type LockPolicy } from './lockfile.js';
import type { Pipeline } from './pipeline/load.js';
import type { Instance } from './pipeline/instances.js';
import { lockEntryOf } from './run-instance.js';
import { forcedStages, selectInstances } from './selection.js';
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
  /** Where instances run: here (default, up to `jobs` at once) or on a cluster. */
  executor?: Executor;
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
  return { pipeline, selected, statuses, ctx };
}

/** What `status`, `--dry-run` and `--cached-only` show: each instance cached or to run, and why. Runs nothing. */
export async function planPipeline(pipeline: Pipeline, options: PlanOptions): Promise<InstanceStatus[]> {
  const session = await openSession(pipeline, options);
  for (const inst of session.selected) session.statuses.set(inst, await evaluateInstance(inst, session.ctx));
  return session.selected.map((i) => session.statuses.get(i) as InstanceStatus);
}

/**
 * Runs the pipeline: instances in topological order, each handed to the executor once what it needs
 * has ended (local) or has been handed over (slurm: its job waits on theirs). Each instance's key is
 * computed once its inputs are known, so a re-run upstream that produced the same bytes leaves
 * downstream cached. A stage that times something holds the machine through ctx.exclusive() (see
 * exclusive.ts); nothing else about scheduling depends on `measures`.
 */
export async function runPipeline(pipeline: Pipeline, options: RunOptions): Promise<RunResult> {
  const session = await openSession(pipeline, options);
  const { statuses, ctx } = session;
  const executor = options.executor ?? new LocalExecutor({ jobs: options.jobs, lockPolicy: options.lockPolicy, signal: options.signal });
  const exec: ExecutionContext = {
    pipeline,
    store: options.store,
    reporter: options.reporter,
    signal: options.signal,
    lockPolicy: options.lockPolicy,
    runLog: options.runLog,
    outputsOf: ctx.outputsOf,
    forced: (inst) => ctx.forced(inst) !== undefined,
  };
  await registerLockFile(options.store.root, pipeline.lockFile);
  const pending = [...session.selected];
  const running = new Map<Instance, Promise<void>>();
  const cachedEntries: [string, LockEntry][] = [];
  pending.forEach((i) => options.reporter.waiting(i.id));

  const settledOk = (i: Instance): boolean => ctx.outputsOf(i) !== undefined;
  const blocked = (i: Instance): Instance | undefined => i.upstream.find((u) => statuses.has(u) && !settledOk(u) && !pending.includes(u) && !running.has(u));
  const ready = (i: Instance): boolean => i.upstream.every((u) => settledOk(u) || (executor.startsAhead && running.has(u)));

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
        if (!ready(inst)) continue;
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
        // (An executor that starts ahead leaves this to its jobs, which hold the key while they run it.)
        const key = status.keyParts?.key;
        if (!executor.startsAhead && key && [...running.keys()].some((r) => statuses.get(r)?.keyParts?.key === key)) {
          statuses.delete(inst);
          continue;
        }
        if (running.size >= executor.slots) continue;
        pending.splice(pending.indexOf(inst), 1);
        const started = status;
        // A rebuild of something found corrupt says so.
        for (const reason of status.reasons.filter((r) => /corrupt|quarantined/.test(r))) options.reporter.log(inst.id, `rebuilding: ${reason}`);
        const task = executor
          .start(started, exec)
          .then(
            (outcome) => applyOutcome(started, outcome, options),
            (error: unknown) => applyError(started, error, options),
          )
          .finally(() => running.delete(inst));
        running.set(inst, task);
      }
      await executor.flush(exec);
      if (executor.detached && pending.length === 0) break;
      if (running.size === 0) {
        if (pending.length === 0 || options.signal.aborted) break;
        // Every pending instance waits on something that will never settle: should not happen, but never spin.
        if (!pending.some(ready)) break;
        continue;
      }
      await Promise.race(running.values());
    }
  } finally {
    // However the run ends, no stage process is left paused and no poller runs.
    executor.close();
  }
  const interrupted = options.signal.aborted;
  const result = session.selected.map(
    (i) => statuses.get(i) ?? { instance: i, state: 'to-run' as const, reasons: [interrupted ? 'interrupted before it started' : 'not reached'], outputs: {} },
  );
  // Handed to a cluster and not waited for (--detach): submitted.
  for (const inst of running.keys()) {
    const status = statuses.get(inst);
    if (status && status.state === 'to-run') status.state = 'submitted';
  }
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

/** What the executor says about an instance it started becomes its status, and the person watching is told. */
function applyOutcome(status: InstanceStatus, outcome: InstanceOutcome, options: RunOptions): void {
  const id = status.instance.id;
  if (outcome.state === 'not-run') {
    status.state = 'to-run';
    status.reasons = [outcome.reason];
    options.reporter.skipped(id, outcome.reason);
    return;
  }
  status.logPath = outcome.logPath;
  status.seconds = outcome.seconds;
  if (outcome.state === 'failed') {
    status.state = 'failed';
    status.userError = Boolean(outcome.userError);
    status.reasons = [outcome.logPath ? `${outcome.error}; log: ${outcome.logPath}` : outcome.error];
    options.reporter.failed(id, outcome.error, outcome.logPath);
    return;
  }
  if (outcome.note) options.reporter.log(id, outcome.note);
  status.state = outcome.state;
  status.outputs = outcome.outputs;
  status.inputs = outcome.inputs;
  status.keyParts = outcome.keyParts;
  status.reasons = [];
  if (outcome.state === 'cached') options.reporter.cached(id);
  else options.reporter.finished(id, outcome.seconds ?? 0);
}

/** An error out of the executor (a full disk while committing, an interrupt while waiting for a lock). */
function applyError(status: InstanceStatus, error: unknown, options: RunOptions): void {
  const interrupted = error instanceof InterruptedError || options.signal.aborted;
  const problem = fsErrorAsUserError(error, options.store.root) ?? error;
  status.state = interrupted ? 'to-run' : 'failed';
  status.userError = isUserError(problem);
  status.reasons = [interrupted ? 'interrupted' : errorMessage(problem)];
  if (interrupted) options.reporter.skipped(status.instance.id, 'interrupted');
  else options.reporter.failed(status.instance.id, errorMessage(problem), status.logPath);
}

export function lockEntry(status: InstanceStatus): LockEntry {
  return lockEntryOf(status.instance.stage.ref.definition, status.keyParts, status.instance.params, status.inputs ?? {}, status.outputs);
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
