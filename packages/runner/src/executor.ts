import { availableParallelism } from 'node:os';
import type { ArtifactStore, RunLog } from '@lenna/core';
import type { InputIds, KeyParts } from './cache-key.js';
import type { InstanceStatus } from './evaluate.js';
import { ExclusiveLock } from './exclusive.js';
import type { LockPolicy } from './lockfile.js';
import type { Instance } from './pipeline/instances.js';
import type { Pipeline } from './pipeline/load.js';
import type { Reporter } from './progress.js';
import { collectRunFacts, type RunFactsBase } from './run-facts.js';
import { FROM_PENDING_NOTE, runAndRecord, type InstanceRun } from './run-instance.js';

/**
 * Where the stage instances of a run execute. The planner, the cache and the lock file are the
 * runner's, whatever the executor; an executor only starts an instance that is not cached and says
 * how it ended. `local` runs it here as a child process (launch.ts's StageLauncher) and commits its
 * outputs; `slurm` (slurm/executor.ts) submits a job that does the same on a cluster node.
 */
export interface Executor {
  readonly name: 'local' | 'slurm';
  /** How many instances may be started and not yet ended at once. */
  readonly slots: number;
  /**
   * An instance may be handed over once its upstream instances have been (its job waits on theirs),
   * rather than once they have ended; its cache key is then computed where it runs.
   */
  readonly startsAhead: boolean;
  /** Hand over one instance that is not cached; resolves with how it ended. */
  start(status: InstanceStatus, ctx: ExecutionContext): Promise<InstanceOutcome>;
  /** After each pass over the pending instances: hand over what start() collected. */
  flush(ctx: ExecutionContext): Promise<void>;
  /** Return once everything is handed over, without waiting for it to end (`--detach`). */
  readonly detached: boolean;
  /** The run ends: stop what the executor keeps going (no stage is left paused, no poller runs). */
  close(): void;
}

export interface ExecutionContext {
  pipeline: Pipeline;
  store: ArtifactStore;
  reporter: Reporter;
  signal: AbortSignal;
  lockPolicy?: LockPolicy;
  runLog?: RunLog;
  /** Outputs of an instance found cached or ended in this run; undefined while unknown. */
  outputsOf(instance: Instance): Record<string, string> | undefined;
  /** The instance must run even where the store has its key (`--force`, `--from`). */
  forced(instance: Instance): boolean;
}

/** How a started instance ended. */
export type InstanceOutcome =
  | {
      state: 'ran' | 'cached';
      outputs: Record<string, string>;
      inputs: InputIds;
      keyParts: KeyParts;
      seconds?: number;
      logPath?: string;
      /** Something the person watching should know (committed from pending/, key differs from the submit host's). */
      note?: string;
    }
  | { state: 'failed'; error: string; userError?: boolean; logPath?: string; seconds?: number }
  /** It did not run to an end: interrupted, or never started because an upstream instance failed. */
  | { state: 'not-run'; reason: string; interrupted?: boolean };

export interface LocalExecutorOptions {
  jobs?: number;
  /** How to wait on the machine-wide timing lock (timeout, who holds it). */
  lockPolicy?: LockPolicy;
  signal: AbortSignal;
}

/** Runs each instance here, as `node <stageHostEntry> <job.json>`, and commits its outputs. */
export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly startsAhead = false;
  readonly detached = false;
  readonly slots: number;
  private readonly exclusive: ExclusiveLock;
  private readonly release = (): void => this.exclusive.stop();
  /** Read on the first stage that runs: a run where everything is cached never calls git. */
  private facts: Promise<RunFactsBase> | undefined;

  constructor(private readonly options: LocalExecutorOptions) {
    this.slots = Math.max(1, options.jobs ?? availableParallelism());
    this.exclusive = new ExclusiveLock({ machine: { ...options.lockPolicy, signal: options.signal } });
    // A stopped stage process acts on SIGTERM only once continued, and must never outlive the runner stopped.
    options.signal.addEventListener('abort', this.release, { once: true });
    process.once('exit', this.release);
  }

  async start(status: InstanceStatus, ctx: ExecutionContext): Promise<InstanceOutcome> {
    const inst = status.instance;
    ctx.reporter.started(inst.id);
    const keyParts = status.keyParts as KeyParts;
    const inputs = status.inputs ?? {};
    const result = await runAndRecord(instanceRun(ctx.pipeline, inst, keyParts, inputs), {
      store: ctx.store,
      exclusive: this.exclusive,
      signal: ctx.signal,
      lockPolicy: ctx.lockPolicy,
      runLog: ctx.runLog,
      runFacts: () => (this.facts ??= collectRunFacts(ctx.pipeline)),
      onMessage: (m) => {
        if (m.type === 'progress') ctx.reporter.progress(inst.id, m.event);
        else if (m.type === 'log') ctx.reporter.log(inst.id, m.message);
      },
    });
    if (!result.ok) {
      if (result.interrupted) return { state: 'not-run', reason: 'interrupted', interrupted: true };
      return { state: 'failed', error: result.error ?? 'failed', userError: result.userError !== undefined, logPath: result.logPath, seconds: result.seconds };
    }
    const note = result.fromPending ? FROM_PENDING_NOTE : undefined;
    return { state: 'ran', outputs: result.outputs, inputs, keyParts, seconds: result.seconds, logPath: result.logPath, note };
  }

  async flush(): Promise<void> {}

  close(): void {
    this.options.signal.removeEventListener('abort', this.release);
    process.removeListener('exit', this.release);
    this.exclusive.stop();
  }
}

/** The instance as runAndRecord takes it, from the pipeline and its key. */
export function instanceRun(pipeline: Pipeline, inst: Instance, keyParts: KeyParts, inputs: InputIds): InstanceRun {
  return {
    pipeline: { name: pipeline.name, lockFile: pipeline.lockFile },
    instance: inst.id,
    specifier: inst.stage.ref.specifier,
    definition: inst.stage.ref.definition,
    keyParts,
    params: inst.params,
    inputs,
    producers: producersOf(inst),
    timeoutS: inst.stage.timeoutS,
  };
}

/** The upstream instance behind each input (a list for a gather, in instance order). */
export function producersOf(inst: Instance): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(inst.inputs).map(([name, input]) => [name, Array.isArray(input) ? input.map((i) => i.from.id) : input.from.id]));
}
