import { appendFile, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsErrorAsUserError, UserError, type ArtifactStore, type Manifest, type RunFacts, type StageJob, type StageMessage } from '@lenna/core';
import type { ExclusiveLock } from './exclusive.js';
import { localLauncher, type StageEnd, type StageLauncher, type StageProcess } from './launch.js';

export interface ChildRunRequest {
  store: ArtifactStore;
  /** Import specifier of the stage (package name or file URL). */
  specifier: string;
  stageName: string;
  instance: string;
  params: unknown;
  cacheKey: string;
  inputs: StageJob['inputs'];
  /** Input ids as they go into manifests (a path input has the hash of its folder). */
  inputIds: Record<string, string | string[]>;
  outputs: Record<string, { kind: Manifest['kind'] }>;
  environment?: Record<string, unknown>;
  /** Facts about the run for provenance (ctx.run); not part of the cache key. */
  run?: RunFacts;
  exclusive: ExclusiveLock;
  signal: AbortSignal;
  /** The pipeline's `timeout:` for this stage, in seconds (time paused for another stage's timing not counted). */
  timeoutS?: number;
  launcher?: StageLauncher;
  onMessage(message: StageMessage): void;
}

export interface ChildRunResult {
  ok: boolean;
  /** Set when the child exited with the user-error status (bad params caught by the stage). */
  userError?: string;
  error?: string;
  logPath: string;
  seconds: number;
  outputs: Record<string, string>;
  /** The child was stopped by SIGTERM/SIGINT forwarded from the runner. */
  interrupted: boolean;
  /** The outputs were committed from pending/, where an earlier run whose commit failed left them. */
  fromPending?: boolean;
}

/**
 * Runs one stage instance (by default as `node <stageHostEntry> <job.json>`), logging to
 * artifacts/logs, and commits each output folder into the store on success. Nothing reaches
 * objects/ unless the stage succeeded. If committing fails (disk full...), the finished outputs are
 * kept in pending/<key>/ and the next run commits them instead of running the stage again.
 */
export async function runStageChild(req: ChildRunRequest): Promise<ChildRunResult> {
  const started = performance.now();
  const logPath = join(req.store.logsDir(), `${req.instance.replace(/[/\\]/g, '_')}-${req.cacheKey.slice(0, 12)}.log`);
  const pending = await commitPending(req, logPath);
  if (pending) return { ok: true, interrupted: false, logPath, seconds: (performance.now() - started) / 1000, outputs: pending, fromPending: true };
  const staging = await req.store.createStaging(`${req.instance}-${req.cacheKey.slice(0, 12)}`);
  const stagingDir = join(staging, 'outputs');
  const jobFile = join(staging, 'job.json');
  const job: StageJob = {
    package: req.specifier,
    instance: req.instance,
    params: req.params,
    cacheKey: req.cacheKey,
    inputs: req.inputs,
    storeRoot: req.store.root,
    stagingDir,
    scratchDir: await req.store.scratchDir(req.cacheKey),
    environment: req.environment,
    run: req.run,
  };
  try {
    await writeFile(jobFile, JSON.stringify(job, null, 2));
    await appendFile(logPath, `# ${new Date().toISOString()} ${req.instance} (${req.stageName}) key ${req.cacheKey}\n`);
    const outcome = await superviseStage(req, jobFile, logPath);
    const seconds = (performance.now() - started) / 1000;
    if (!outcome.ok) return { ...outcome, logPath, seconds, outputs: {} };
    const outputs = await commitOrKeep(req, stagingDir);
    await req.store.removeScratch(req.cacheKey);
    return { ok: true, interrupted: false, logPath, seconds: (performance.now() - started) / 1000, outputs };
  } finally {
    await req.store.discardStaging(staging);
  }
}

type Outcome = { ok: true } | { ok: false; interrupted: boolean; error: string; userError?: string };

/** Starts the stage, serves its exclusive requests, enforces the timeout, and says how it ended. */
async function superviseStage(req: ChildRunRequest, jobFile: string, logPath: string): Promise<Outcome> {
  const proc = await (req.launcher ?? localLauncher).start(jobFile, logPath);
  const clock = new RunningClock();
  const untrack = req.exclusive.track(req.instance, {
    pause: () => {
      proc.pause();
      clock.pause();
    },
    resume: () => {
      proc.resume();
      clock.resume();
    },
  });
  let timedOut = false;
  const timer = req.timeoutS
    ? setInterval(() => {
        if (timedOut || clock.elapsedMs() < (req.timeoutS as number) * 1000) return;
        timedOut = true;
        proc.stop();
      }, 200)
    : undefined;
  const stop = (): void => proc.stop();
  req.signal.addEventListener('abort', stop, { once: true });
  if (req.signal.aborted) stop();
  const grants = new GrantBook(req, proc, logPath);
  let lastError: StageMessage | undefined;
  const listening = (async () => {
    for await (const message of proc.messages()) {
      if (message.type === 'exclusive-request') grants.request(message.token);
      else if (message.type === 'exclusive-release') grants.release(message.token);
      else {
        if (message.type === 'error') lastError = message;
        req.onMessage(message);
      }
    }
  })().catch(() => undefined);
  let end: StageEnd;
  try {
    end = await proc.ended;
  } finally {
    if (timer) clearInterval(timer);
    req.signal.removeEventListener('abort', stop);
    untrack();
    await listening;
    grants.end();
  }
  if (timedOut) {
    await appendFile(logPath, `# timed out after ${req.timeoutS} s; its scratch folder is kept\n`).catch(() => undefined);
    return { ok: false, interrupted: false, error: `timed out after ${req.timeoutS} s (the pipeline's timeout for this stage); its scratch folder is kept, so a resumable stage continues on the next run` };
  }
  const interrupted = req.signal.aborted;
  if (end.exitCode === 0 && !interrupted) return { ok: true };
  const detail = lastError?.type === 'error' ? lastError.message : interrupted ? 'interrupted' : end.signal ? `killed by ${end.signal}` : `exited with status ${end.exitCode}`;
  return { ok: false, interrupted, error: detail, userError: end.exitCode === 2 ? detail : undefined };
}

/** The exclusive grants one stage holds; each grant and release is written to its log with the time. */
class GrantBook {
  private readonly tokens = new Set<number>();
  private ended = false;

  constructor(
    private readonly req: ChildRunRequest,
    private readonly proc: StageProcess,
    private readonly logPath: string,
  ) {}

  request(token: number): void {
    this.req.exclusive.acquire(this.req.instance).then(
      async () => {
        if (this.ended) return this.req.exclusive.release(this.req.instance);
        this.tokens.add(token);
        await this.note(`holds the machine from ${Date.now()}`);
        await this.proc.send({ type: 'exclusive-grant', token });
      },
      (error: unknown) => this.proc.send({ type: 'exclusive-refused', token, message: error instanceof Error ? error.message : String(error) }),
    );
  }

  release(token: number): void {
    if (!this.tokens.delete(token)) return;
    void this.note(`releases the machine at ${Date.now()}`);
    this.req.exclusive.release(this.req.instance);
  }

  /** A stage that ends while holding the machine must not keep it. */
  end(): void {
    this.ended = true;
    for (const _ of this.tokens) this.req.exclusive.release(this.req.instance);
    this.tokens.clear();
    this.req.exclusive.forget(this.req.instance);
  }

  private note(text: string): Promise<void> {
    return appendFile(this.logPath, `# exclusive: ${this.req.instance} ${text}\n`).catch(() => undefined);
  }
}

/** Wall-clock milliseconds a stage has run, not counting the time it was paused. */
class RunningClock {
  private readonly start = performance.now();
  private pausedAt: number | undefined;
  private pausedMs = 0;

  pause(): void {
    this.pausedAt ??= performance.now();
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.pausedMs += performance.now() - this.pausedAt;
    this.pausedAt = undefined;
  }

  elapsedMs(): number {
    const pausedNow = this.pausedAt === undefined ? 0 : performance.now() - this.pausedAt;
    return performance.now() - this.start - this.pausedMs - pausedNow;
  }
}

function commitInfo(req: ChildRunRequest, name: string, kind: Manifest['kind']) {
  return {
    kind,
    stage: req.stageName,
    output: name,
    instance: req.instance,
    cacheKey: req.cacheKey,
    params: req.params,
    inputs: req.inputIds,
    environment: req.environment,
  };
}

async function commitOutputs(req: ChildRunRequest, stagingDir: string): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(req.outputs)) {
    outputs[name] = (await req.store.commit(join(stagingDir, name), commitInfo(req, name, spec.kind))).id;
  }
  return outputs;
}

/** Commit the outputs; if that fails, move what is not committed yet to pending/<key>/ for the next run. */
async function commitOrKeep(req: ChildRunRequest, stagingDir: string): Promise<Record<string, string>> {
  try {
    return await commitOutputs(req, stagingDir);
  } catch (error) {
    const pending = req.store.pendingDir(req.cacheKey);
    const kept = await mkdir(join(pending, '..'), { recursive: true })
      .then(() => rename(stagingDir, pending))
      .then(
        () => true,
        () => false,
      );
    const io = fsErrorAsUserError(error, req.store.root);
    if (!io) throw error;
    const note = kept ? `; the finished outputs of ${req.instance} are kept in ${pending}, and the next run commits them without running the stage again` : '';
    throw new UserError(`${io.message.replace(/\.$/, '')}${note}.`);
  }
}

/**
 * Outputs an earlier run finished but could not commit: each still in pending/<key>/<output>/ is
 * committed now; one already committed then is found by its manifest. Undefined (and pending/ cleared)
 * when nothing is pending or something is missing, so the stage runs again.
 */
async function commitPending(req: ChildRunRequest, logPath: string): Promise<Record<string, string> | undefined> {
  const pending = req.store.pendingDir(req.cacheKey);
  if (!(await stat(pending).then(() => true, () => false))) return undefined;
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(req.outputs)) {
    const folder = join(pending, name);
    if (await stat(folder).then(() => true, () => false)) outputs[name] = (await req.store.commit(folder, commitInfo(req, name, spec.kind))).id;
    else {
      const id = await req.store.findCommitted(req.cacheKey, name);
      if (!id) {
        await req.store.discardStaging(pending);
        return undefined;
      }
      outputs[name] = id;
    }
  }
  await req.store.discardStaging(pending);
  await req.store.removeScratch(req.cacheKey);
  await appendFile(logPath, `# ${new Date().toISOString()} committed the outputs an earlier run finished (its commit had failed)\n`).catch(() => undefined);
  return outputs;
}
