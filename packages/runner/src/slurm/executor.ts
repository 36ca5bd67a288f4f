import { rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError, type ProgressEvent } from '@lenna/core';
import type { InstanceStatus } from '../evaluate.js';
import type { ExecutionContext, Executor, InstanceOutcome } from '../executor.js';
import type { Instance } from '../pipeline/instances.js';
import { commandLineClient, isTerminal, type SchedulerState, type SlurmClient } from './client.js';
import { batchScript, collapseDependencies, groupIntoArrays, sbatchArgs, type JobRequest } from './sbatch.js';
import { outFile, progressFile, readJobResult, readJson, resultFile, Submission, type JobInputRef, type JobResult, type SlurmJobSpec } from './submission.js';
import { tailOf } from './tail.js';

export interface SlurmExecutorOptions {
  partition?: string;
  account?: string;
  /** Return once every job is submitted. */
  detach: boolean;
  /** The `lenna run` command line (submission and run records name it). */
  command: string;
  /** How long a job waits for a lock another process holds (lock file, machine timing lock), in seconds. */
  lockTimeoutS: number;
  client?: SlurmClient;
  /** How often the jobs' states are asked for (default $LENNA_SLURM_POLL_S seconds, else 5 s). */
  pollMs?: number;
  /** What a job runs: `<node> <lenna> job <job file>` (default: this process's Node and lenna). */
  node?: string;
  lenna?: string;
  /** The jobs' working folder (default: this one). */
  cwd?: string;
}

/** An instance handed to the executor: queued for submission, then followed until its job ends. */
interface Tracked {
  status: InstanceStatus;
  resolve(outcome: InstanceOutcome): void;
  job?: string;
  /** Its name in the submission's folders. */
  files?: string;
  ended: boolean;
  running: boolean;
  lastNote?: string;
  lastProgress?: string;
  /** Polls in which the scheduler did not know the job and no result was there. */
  unknownPolls: number;
  /** Polls since the scheduler said COMPLETED without the result file being visible (a shared file system's delay). */
  resultlessPolls: number;
}

const DEFAULT_POLL_S = 5;
/** Polls to wait for a result file a completed job wrote but this host does not see yet, or for a job the scheduler forgot. */
const PATIENCE_POLLS = 12;

/**
 * Every instance that is not cached becomes one sbatch job (sibling sweep instances with the same
 * dependencies one job array), submitted in topological order with `--dependency=afterok:` on the
 * jobs of its upstream instances. The job runs `lenna job <job file>` on a node: it computes the
 * instance's key there, runs the stage as the local executor does, and commits and records the
 * outputs itself. This side only submits and, unless detached, follows the jobs (squeue) and reads
 * what each job wrote (results/, progress/).
 */
export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  readonly slots = Number.POSITIVE_INFINITY;
  readonly startsAhead = true;
  readonly detached: boolean;
  private readonly client: SlurmClient;
  private readonly pollMs: number;
  private readonly queue: Tracked[] = [];
  private readonly tracked = new Map<Instance, Tracked>();
  private readonly arraySizes = new Map<string, number>();
  private submission: Submission | undefined;
  private units = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private onAbort: (() => void) | undefined;

  constructor(private readonly options: SlurmExecutorOptions) {
    this.detached = options.detach;
    this.client = options.client ?? commandLineClient;
    this.pollMs = options.pollMs ?? pollSeconds() * 1000;
  }

  /** sbatch calls made so far and the instances they carry. */
  get submitted(): { jobs: number; instances: number } {
    return { jobs: this.units, instances: [...this.tracked.values()].filter((t) => t.job).length };
  }

  get submissionDir(): string | undefined {
    return this.submission?.dir;
  }

  start(status: InstanceStatus): Promise<InstanceOutcome> {
    return new Promise((resolve) => {
      const tracked: Tracked = { status, resolve, ended: false, running: false, unknownPolls: 0, resultlessPolls: 0 };
      this.queue.push(tracked);
      this.tracked.set(status.instance, tracked);
    });
  }

  async flush(ctx: ExecutionContext): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0);
    const submission = (this.submission ??= await Submission.create(ctx.store.root, {
      pipeline: ctx.pipeline.name,
      pipelineFile: ctx.pipeline.file,
      lockFile: resolve(ctx.pipeline.lockFile),
      command: this.options.command,
      partition: this.options.partition,
      account: this.options.account,
    }));
    // Cached artifacts the jobs will read may wait in the queue for days: this run's record keeps them from gc.
    await ctx.runLog?.addIds(batch.flatMap((t) => knownInputIds(t.status.instance, ctx)));
    const submittedNow: string[] = [];
    try {
      // Stage by stage (the batch is in topological order), so each job's upstream jobs have ids already.
      for (const run of stageRuns(batch)) {
        const groups = groupIntoArrays(run.map((t) => ({ item: t, stage: t.status.instance.stage.id, dependencies: this.dependenciesOf(t.status.instance) })));
        for (const group of groups) submittedNow.push(...(await this.submitGroup(submission, group.items, group.dependencies, ctx)));
      }
    } catch (error) {
      // Half a pipeline in the queue helps no one: what this flush submitted is cancelled.
      await this.client.cancel(submittedNow).catch(() => undefined);
      for (const t of batch) if (!t.ended) this.end(t, { state: 'not-run', reason: 'not submitted' });
      // Nothing reached the cluster: no submission to remember.
      if (this.units === 0) {
        await rm(submission.dir, { recursive: true, force: true });
        this.submission = undefined;
      } else await submission.save();
      throw error;
    }
    await submission.save();
    if (this.detached) return;
    if (!this.onAbort) {
      this.onAbort = () => this.stopFollowing();
      ctx.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.schedulePoll(ctx);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Ctrl-C while following: the jobs go on; lenna stops watching them. */
  private stopFollowing(): void {
    for (const t of this.tracked.values()) {
      if (!t.ended) this.end(t, { state: 'not-run', reason: `job ${t.job ?? '?'} keeps running (lenna status follows it, lenna cancel stops it)`, interrupted: true });
    }
    this.close();
  }

  private dependenciesOf(inst: Instance): string[] {
    const ids = inst.upstream.map((u) => this.tracked.get(u)?.job).filter((j): j is string => j !== undefined);
    return collapseDependencies(ids, this.arraySizes);
  }

  private async submitGroup(submission: Submission, items: Tracked[], dependencies: string[], ctx: ExecutionContext): Promise<string[]> {
    const unit = String(this.units);
    const array = items.length > 1;
    items.forEach((t, i) => (t.files = array ? `${unit}_${i}` : unit));
    for (const t of items) await writeFile(submission.specFile(t.files as string), `${JSON.stringify(this.jobSpec(t, submission, ctx), null, 2)}\n`);
    const script = submission.scriptFile(unit);
    const spec: string | [string, string] = array ? [`${submission.dir}/jobs/${unit}_`, '.json'] : submission.specFile(unit);
    await writeFile(script, batchScript(this.options.node ?? process.execPath, this.options.lenna ?? lennaEntry(), spec));
    const stage = items[0].status.instance.stage;
    const request: JobRequest = {
      name: `lenna-${ctx.pipeline.name}-${stage.id}`,
      script,
      output: outFile(submission.dir, array ? `${unit}_%a` : unit),
      chdir: this.options.cwd ?? process.cwd(),
      partition: this.options.partition,
      account: this.options.account,
      dependencies,
      arraySize: items.length,
      resources: stage.resources,
      // A stage that times something has the node to itself, so no other job disturbs its timings.
      exclusive: stage.ref.definition.measures,
    };
    const args = sbatchArgs(request);
    const id = await this.client.submit(args);
    submission.addSbatch(id, args);
    this.units++;
    if (array) this.arraySizes.set(id, items.length);
    items.forEach((t, i) => {
      const job = array ? `${id}_${i}` : id;
      t.job = job;
      t.status.job = { id: job, state: 'PENDING' };
      submission.add(t.status.instance.id, { job, stage: stage.id, files: t.files as string });
      ctx.reporter.queued(t.status.instance.id, `job ${job}`);
    });
    return [id];
  }

  private jobSpec(t: Tracked, submission: Submission, ctx: ExecutionContext): SlurmJobSpec {
    const inst = t.status.instance;
    const inputs: SlurmJobSpec['inputs'] = {};
    for (const [name, input] of Object.entries(inst.inputs)) {
      const ref = (i: { from: Instance; output: string }): JobInputRef => ({ from: i.from.id, output: i.output, id: ctx.outputsOf(i.from)?.[i.output] });
      inputs[name] = Array.isArray(input) ? input.map(ref) : ref(input);
    }
    const upstreamResults: Record<string, string> = {};
    for (const u of inst.upstream) {
      const files = this.tracked.get(u)?.files;
      if (files !== undefined) upstreamResults[u.id] = resultFile(submission.dir, files);
    }
    return {
      formatVersion: 1,
      storeRoot: resolve(ctx.store.root),
      pipeline: { name: ctx.pipeline.name, file: ctx.pipeline.file, lockFile: resolve(ctx.pipeline.lockFile) },
      instance: inst.id,
      stage: { specifier: inst.stage.ref.specifier, name: inst.stage.ref.definition.name },
      params: inst.params,
      timeoutS: inst.stage.timeoutS,
      inputs,
      upstreamResults,
      submitKey: t.status.keyParts?.key,
      force: ctx.forced(inst) || undefined,
      resultFile: resultFile(submission.dir, t.files as string),
      progressFile: progressFile(submission.dir, t.files as string),
      lockTimeoutS: this.options.lockTimeoutS,
      command: this.options.command,
    };
  }

  private schedulePoll(ctx: ExecutionContext): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll(ctx).finally(() => {
        if ([...this.tracked.values()].some((t) => t.job && !t.ended)) this.schedulePoll(ctx);
      });
    }, this.pollMs);
  }

  private async poll(ctx: ExecutionContext): Promise<void> {
    const active = [...this.tracked.values()].filter((t) => t.job && !t.ended);
    if (active.length === 0 || this.closed) return;
    let states: Map<string, SchedulerState>;
    try {
      states = await this.client.states(active.map((t) => t.job as string));
    } catch {
      return; // The controller did not answer this time; ask again at the next poll.
    }
    for (const t of active) await this.observe(t, states, ctx);
  }

  private async observe(t: Tracked, states: Map<string, SchedulerState>, ctx: ExecutionContext): Promise<void> {
    const id = t.status.instance.id;
    const dir = this.submission?.dir as string;
    const seen = states.get(t.job as string);
    const result = await readJobResult(resultFile(dir, t.files as string));
    if (!seen) {
      // Forgotten by the scheduler (and no accounting): what the job wrote says how it ended.
      if (result) return this.end(t, outcomeOf(result, t));
      if (++t.unknownPolls >= PATIENCE_POLLS) this.end(t, { state: 'failed', error: `job ${t.job} is unknown to SLURM and left no result`, logPath: outFile(dir, t.files as string) });
      return;
    }
    t.status.job = { ...t.status.job, id: t.job as string, state: seen.state, reason: seen.reason };
    if (!isTerminal(seen.state)) {
      if (seen.state === 'PENDING') {
        const note = `job ${t.job} PENDING${seen.reason ? ` (${seen.reason})` : ''}`;
        if (note !== t.lastNote) ctx.reporter.queued(id, (t.lastNote = note));
        return;
      }
      if (!t.running) {
        t.running = true;
        ctx.reporter.started(id);
      }
      const progress = await readJson<ProgressEvent>(progressFile(dir, t.files as string));
      const text = progress && JSON.stringify(progress);
      if (progress && text !== t.lastProgress) {
        t.lastProgress = text;
        ctx.reporter.progress(id, progress);
      }
      return;
    }
    if (seen.state === 'COMPLETED') {
      if (result) return this.end(t, outcomeOf(result, t));
      if (++t.resultlessPolls >= PATIENCE_POLLS) {
        this.end(t, { state: 'failed', error: `job ${t.job} completed but its result file is not visible here; is the store (${ctx.store.root}) on a file system every node shares?`, logPath: outFile(dir, t.files as string) });
      }
      return;
    }
    if (seen.state === 'CANCELLED' && seen.reason === 'DependencyNeverSatisfied') {
      const failed = t.status.instance.upstream.filter((u) => {
        const up = this.tracked.get(u);
        return up?.status.state === 'failed' || (up?.status.job?.state !== undefined && isTerminal(up.status.job.state) && up.status.job.state !== 'COMPLETED');
      });
      const names = failed.length ? failed.map((u) => u.id).join(', ') : t.status.instance.upstream.map((u) => u.id).join(', ');
      return this.end(t, { state: 'not-run', reason: `upstream ${names} failed (SLURM cancelled job ${t.job})` });
    }
    const error = result?.error ? `${result.error} (job ${t.job} ${seen.state})` : `job ${t.job} ended ${seen.state}${seen.reason ? ` (${seen.reason})` : ''}`;
    // A job cancelled before it started has no log.
    const tail = await tailOf(result?.logPath ?? outFile(dir, t.files as string));
    const logPath = result?.logPath ?? (tail.length > 0 ? outFile(dir, t.files as string) : undefined);
    t.status.job = { ...t.status.job, id: t.job as string, log: logPath, tail: logPath ? tail : undefined };
    this.end(t, { state: 'failed', error, userError: result?.userError, logPath });
  }

  private end(t: Tracked, outcome: InstanceOutcome): void {
    if (t.ended) return;
    t.ended = true;
    t.resolve(outcome);
  }
}

/** What a job's result file says, as the runner's outcome. */
export function outcomeOf(result: JobResult, t: { job?: string }): InstanceOutcome {
  if (result.state === 'failed' || !result.key || !result.outputs) {
    return { state: 'failed', error: result.error ?? `job ${t.job} failed`, userError: result.userError, logPath: result.logPath, seconds: result.seconds };
  }
  return {
    state: result.state,
    outputs: result.outputs,
    inputs: result.inputs ?? {},
    keyParts: { key: result.key, code: result.code ?? '', environment: result.environment },
    seconds: result.seconds,
    logPath: result.logPath,
    note: result.note,
  };
}

/** Runs of consecutive instances of one stage. */
function stageRuns(batch: Tracked[]): Tracked[][] {
  const runs: Tracked[][] = [];
  for (const t of batch) {
    const last = runs.at(-1);
    if (last && last[0].status.instance.stage === t.status.instance.stage) last.push(t);
    else runs.push([t]);
  }
  return runs;
}

function knownInputIds(inst: Instance, ctx: ExecutionContext): string[] {
  return Object.values(inst.inputs)
    .flat()
    .map((i) => ctx.outputsOf(i.from)?.[i.output])
    .filter((id): id is string => id !== undefined);
}

/** The lenna entry jobs run: this package's bin/lenna.js. */
export function lennaEntry(): string {
  return fileURLToPath(new URL('../../bin/lenna.js', import.meta.url));
}

/** `$LENNA_SLURM_POLL_S`, else 5 s. */
export function pollSeconds(): number {
  const text = process.env.LENNA_SLURM_POLL_S;
  if (text === undefined || text === '') return DEFAULT_POLL_S;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UserError(`LENNA_SLURM_POLL_S=${text} is not a positive number of seconds; set e.g. LENNA_SLURM_POLL_S=5.`);
  return seconds;
}
