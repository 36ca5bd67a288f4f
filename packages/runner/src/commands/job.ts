import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import {
  ArtifactStore,
  errorMessage,
  fsErrorAsUserError,
  gcLockPath,
  InterruptedError,
  isUserError,
  RunLog,
  UserError,
  withFileLock,
  writeFileAtomic,
  type ProgressEvent,
} from '@lenna/core';
import { parseCommandArgs, requirePositional } from '../args.js';
import { keyPartsHere, type InputIds } from '../cache-key.js';
import { cachedOutputs } from '../evaluate.js';
import { ExclusiveLock } from '../exclusive.js';
import type { LockPolicy } from '../lockfile.js';
import { collectRunFacts } from '../run-facts.js';
import { FROM_PENDING_NOTE, recordInLockFile, runAndRecord, type InstanceRun } from '../run-instance.js';
import { readJobResult, readJobSpec, type JobResult, type SlurmJobSpec } from '../slurm/submission.js';
import { tailOf } from '../slurm/tail.js';
import { resolveStageRef } from '../stage-ref.js';
import { help } from './pipeline.js';

export const jobHelp = `lenna job <job file>

The program of a job that lenna run --executor slurm submitted; SLURM starts it on a node. It computes
the stage instance's cache key there (a measures stage's with this node's environment), runs the stage
unless the store already has that key, commits the outputs and writes the cache record, the run record,
the pipeline's lock file entry (under its lock) and the job's result file. Not typed by hand.

Example (what a job's batch script runs): lenna job artifacts/slurm/<submission>/jobs/0.json`;

interface JobContext {
  spec: SlurmJobSpec;
  file: string;
  store: ArtifactStore;
  signal: AbortSignal;
  lockPolicy: LockPolicy;
  runLog: RunLog;
  job?: string;
  say(text: string): void;
}

export async function jobCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('job', argv, {});
  if (values.help) return help(jobHelp);
  const file = requirePositional('job', positionals, 'the job file');
  const spec = await readJobSpec(file);
  const store = new ArtifactStore(spec.storeRoot);
  const job = slurmJobId();
  const say = (text: string): void => void process.stdout.write(`[${new Date().toISOString()}] ${spec.instance}: ${text}\n`);
  const controller = new AbortController();
  let signalExit = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalExit = signal === 'SIGINT' ? 130 : 143;
    say(`${signal}: stopping (scancel, or the job's time limit)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const lockPolicy: LockPolicy = {
    timeoutMs: spec.lockTimeoutS * 1000,
    signal: controller.signal,
    purpose: `lenna job ${spec.instance}${job ? ` (SLURM job ${job})` : ''}`,
    onWait: (message) => say(message),
  };
  say(`SLURM job ${job ?? '(none)'} on ${hostname()}`);
  const runLog = await RunLog.start(store.root, { kind: 'run', command: `${spec.command} (SLURM job ${job ?? '?'}: ${spec.instance})`, lockFile: spec.pipeline.lockFile });
  let result: JobResult;
  try {
    result = await runJob({ spec, file, store, signal: controller.signal, lockPolicy, runLog, job, say });
  } catch (caught) {
    const interrupted = caught instanceof InterruptedError || controller.signal.aborted;
    const error = fsErrorAsUserError(caught, store.root) ?? caught;
    if (!isUserError(error) && !interrupted) process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    result = failure(spec, job, interrupted ? `interrupted (${errorMessage(error)})` : errorMessage(error), { userError: isUserError(error) });
  } finally {
    await runLog.finish().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await writeFileAtomic(spec.resultFile, `${JSON.stringify(result, null, 2)}\n`);
  if (result.state !== 'failed') return 0;
  say(`FAILED: ${result.error}`);
  if (result.logPath) {
    say(`log: ${result.logPath}; its last lines:`);
    for (const line of await tailOf(result.logPath)) process.stderr.write(`  | ${line}\n`);
  }
  if (signalExit) return signalExit;
  return result.userError ? 2 : 1;
}

/** Computes the key on this node, then (holding the key) records a cached result or runs, commits and records the stage. */
async function runJob(ctx: JobContext): Promise<JobResult> {
  const { spec, store, say } = ctx;
  await withFileLock(gcLockPath(store.root), { ...ctx.lockPolicy, what: 'the store (lenna gc is running)' }, async () => undefined);
  await store.cleanTmp();
  const ref = await resolveStageRef(spec.stage.specifier, process.cwd(), `job file ${ctx.file}`);
  const def = ref.definition;
  const { inputs, producers } = await resolveInputs(spec);
  // A measures stage's key holds the environment of the machine that measures: this node's.
  const keyParts = await keyPartsHere(ref, spec.params, inputs);
  const { key, code, environment } = keyParts;
  const note = spec.submitKey && spec.submitKey !== key ? keyNote(key, spec.submitKey, def.measures) : undefined;
  if (note) say(note);
  say(`cache key ${key}`);
  const run: InstanceRun = {
    pipeline: { name: spec.pipeline.name, lockFile: spec.pipeline.lockFile },
    instance: spec.instance,
    specifier: ref.specifier,
    definition: def,
    keyParts,
    params: spec.params,
    inputs,
    producers,
    timeoutS: spec.timeoutS,
  };
  const base = { instance: spec.instance, key, code, environment, inputs, host: hostname(), job: ctx.job, note };
  const keyLock = join(store.root, 'slurm', 'keys', `${key}.lock`);
  await mkdir(dirname(keyLock), { recursive: true });
  // Two jobs with one key (same stage, params and inputs) would share a scratch folder: the second waits, then finds it cached.
  const keyWait = { ...ctx.lockPolicy, timeoutMs: Number.POSITIVE_INFINITY, what: `cache key ${key.slice(0, 12)} (another job runs the same stage on the same inputs)` };
  return withFileLock(keyLock, keyWait, async (): Promise<JobResult> => {
    const cached = spec.force ? undefined : await cachedOutputs(store, def, key);
    if (cached) {
      await recordInLockFile(run, cached, ctx.lockPolicy);
      say('cached: the store has this key already; nothing to run');
      return { ...base, state: 'cached', outputs: cached, finishedAt: new Date().toISOString() };
    }
    const exclusive = new ExclusiveLock({ machine: ctx.lockPolicy });
    const progress = new ProgressFile(spec.progressFile);
    try {
      const result = await runAndRecord(run, {
        store,
        exclusive,
        signal: ctx.signal,
        lockPolicy: ctx.lockPolicy,
        runLog: ctx.runLog,
        runFacts: () => collectRunFacts(spec.pipeline),
        onMessage: (m) => (m.type === 'progress' ? progress.push(m.event) : undefined),
      });
      if (!result.ok) {
        const error = result.interrupted ? 'interrupted (scancel, or the job\'s time limit)' : (result.error ?? 'failed');
        return { ...base, state: 'failed', error, userError: result.userError !== undefined, logPath: result.logPath, seconds: result.seconds, finishedAt: new Date().toISOString() };
      }
      say(`done in ${result.seconds.toFixed(1)} s; outputs committed; log: ${result.logPath}`);
      const notes = [note, result.fromPending ? FROM_PENDING_NOTE : undefined].filter((n) => n !== undefined);
      return { ...base, state: 'ran', outputs: result.outputs, seconds: result.seconds, logPath: result.logPath, note: notes.length > 0 ? notes.join('; ') : undefined, finishedAt: new Date().toISOString() };
    } finally {
      exclusive.stop();
      await progress.flush();
    }
  });
}

/** Input ids: known at submission (cached upstream), or from the result file an upstream job wrote. */
async function resolveInputs(spec: SlurmJobSpec): Promise<{ inputs: InputIds; producers: Record<string, string | string[]> }> {
  const inputs: InputIds = {};
  const producers: Record<string, string | string[]> = {};
  for (const [name, refs] of Object.entries(spec.inputs)) {
    const list = [refs].flat();
    const ids: string[] = [];
    for (const ref of list) {
      if (ref.id) {
        ids.push(ref.id);
        continue;
      }
      const file = spec.upstreamResults[ref.from];
      const upstream = file ? await readJobResult(file) : undefined;
      const id = upstream?.state !== 'failed' ? upstream?.outputs?.[ref.output] : undefined;
      if (!id) throw new UserError(`input ${name}: upstream ${ref.from} left no output ${ref.output} in ${file ?? 'its result file'}; its job did not succeed, so run the pipeline again.`);
      ids.push(id);
    }
    inputs[name] = Array.isArray(refs) ? ids : ids[0];
    producers[name] = Array.isArray(refs) ? refs.map((r) => r.from) : refs.from;
  }
  return { inputs, producers };
}

function keyNote(key: string, submitKey: string, measures: boolean): string {
  const why = measures
    ? "this node's environment differs from the submitting host's, and the key holds the node's: it is where the stage measures"
    : "the stage's code or its external files changed since submission";
  return `the cache key on this node (${key.slice(0, 12)}) differs from the submitting host's (${submitKey.slice(0, 12)}): ${why}`;
}

function failure(spec: SlurmJobSpec, job: string | undefined, error: string, extra: Partial<JobResult> = {}): JobResult {
  return { instance: spec.instance, state: 'failed', error, host: hostname(), job, finishedAt: new Date().toISOString(), ...extra };
}

/** `12` or, for a task of an array, `12_3`: the id squeue shows. */
function slurmJobId(): string | undefined {
  const { SLURM_ARRAY_JOB_ID: array, SLURM_ARRAY_TASK_ID: task, SLURM_JOB_ID: job } = process.env;
  return array && task ? `${array}_${task}` : job;
}

/** The latest progress event, written at most once a second for the submitting host to show. */
class ProgressFile {
  private last = 0;
  private pending: ProgressEvent | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  push(event: ProgressEvent): void {
    this.pending = event;
    if (Date.now() - this.last >= 1000) void this.flush();
  }

  flush(): Promise<void> {
    const event = this.pending;
    this.pending = undefined;
    if (event) {
      this.last = Date.now();
      this.writing = this.writing.then(() => writeFileAtomic(this.path, JSON.stringify(event)).catch(() => undefined));
    }
    return this.writing;
  }
}
