import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkStageOutputs, createStageContext, parseStageParams, type StageChannel } from './context.js';
import { UserError, errorMessage, fsErrorAsUserError, isUserError } from './errors.js';
import { resolveStageInputs } from './inputs.js';
import { ProgressThrottle } from './progress.js';
import type { ProgressEvent, RunnerMessage, StageDefinition, StageJob, StageMessage } from './stage.js';

/** `node <stageHostEntry> <job.json>` runs one stage job in a fresh process. */
export const stageHostEntry: string = fileURLToPath(new URL('./host-entry.js', import.meta.url));

/** Import a stage package (a package name, or a path of a JS module file) and check that it exports `stage`. */
export async function loadStage(packageName: string): Promise<StageDefinition> {
  const module = await importStageModule(packageName);
  return checkStageDefinition((module as { stage?: unknown }).stage, packageName);
}

async function importStageModule(packageName: string): Promise<unknown> {
  if (isAbsolute(packageName) || packageName.startsWith('.')) {
    const path = resolve(packageName);
    if (!existsSync(path)) throw new UserError(`stage module ${path} does not exist; give a stage package name or the path of its built JS file`);
    return import(pathToFileURL(path).href);
  }
  try {
    return await import(packageName);
  } catch (error) {
    if (!isModuleNotFound(error, packageName)) throw error;
  }
  // Not reachable from @lenna/core's own node_modules chain: try the workspace the command runs in.
  const entry = await findPackageEntry(packageName, process.cwd());
  if (!entry) throw new UserError(`stage package "${packageName}" cannot be found from ${process.cwd()}; is it a workspace package, and is it built?`);
  return import(pathToFileURL(entry).href);
}

function isModuleNotFound(error: unknown, packageName: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') && errorMessage(error).includes(packageName);
}

/** node_modules lookup upward from `from`, then the package's `exports["."]` (import/default) or `main`. */
async function findPackageEntry(packageName: string, from: string): Promise<string | undefined> {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', ...packageName.split('/'));
    const manifestPath = join(root, 'package.json');
    if (existsSync(manifestPath)) {
      const pkg = JSON.parse(await readFile(manifestPath, 'utf8')) as { main?: string; exports?: unknown };
      return join(root, packageEntry(pkg) ?? 'index.js');
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function packageEntry(pkg: { main?: string; exports?: unknown }): string | undefined {
  let target = pkg.exports;
  if (target && typeof target === 'object' && '.' in target) target = (target as Record<string, unknown>)['.'];
  if (target && typeof target === 'object') {
    const conditions = target as Record<string, unknown>;
    target = conditions.import ?? conditions.default ?? conditions.node;
  }
  return typeof target === 'string' ? target : pkg.main;
}

function checkStageDefinition(value: unknown, packageName: string): StageDefinition {
  const stage = value as Partial<StageDefinition> | undefined;
  const problems: string[] = [];
  if (!stage || typeof stage !== 'object') problems.push('no `stage` export');
  else {
    if (typeof stage.name !== 'string') problems.push('name');
    if (typeof stage.version !== 'number') problems.push('version');
    if (typeof (stage.params as { safeParse?: unknown } | undefined)?.safeParse !== 'function') problems.push('params (a zod schema)');
    if (!stage.inputs || typeof stage.inputs !== 'object') problems.push('inputs');
    if (!stage.outputs || typeof stage.outputs !== 'object') problems.push('outputs');
    if (typeof stage.run !== 'function') problems.push('run()');
  }
  if (problems.length > 0) throw new UserError(`"${packageName}" does not export a valid stage definition (missing or wrong: ${problems.join(', ')})`);
  return stage as StageDefinition;
}

/** Run the job in this process; returns the exit status: 0 done, 1 failed, 2 a user's mistake. */
export async function runStageJob(jobFile: string): Promise<number> {
  const interrupt = listenForInterrupts();
  const link = process.send ? new IpcLink(interrupt.signal) : undefined;
  if (link) endWithRunner(interrupt);
  const label = `[${jobFile}]`;
  const throttle = new ProgressThrottle((event) => (link ? link.send({ type: 'progress', event }) : writeProgressLine(label, event)));
  try {
    const job = await readJob(jobFile);
    const stage = await loadStage(job.package);
    const params = parseStageParams(stage, job.params, `stage instance "${job.instance}"`);
    const { inputs, gathered } = await resolveStageInputs(stage, job.inputs);
    const channel: StageChannel = {
      progress: (event) => throttle.push(event),
      // Logs go to stderr (the runner's log file) and, for the live display, over IPC too.
      log: (message) => {
        process.stderr.write(`${message}\n`);
        link?.send({ type: 'log', message });
      },
      exclusive: (fn) => (link ? link.exclusive(fn) : fn()),
      signal: interrupt.signal,
    };
    const ctx = createStageContext({ stage, params, inputs, gathered, stagingDir: job.stagingDir, scratchDir: job.scratchDir, instance: job.instance, channel, run: job.run });
    await stage.run(ctx);
    throttle.flush();
    await checkStageOutputs(stage, job.stagingDir);
    await link?.sendAndWait({ type: 'done' });
    return 0;
  } catch (caught) {
    throttle.flush();
    // A full disk or a permission problem is the user's to fix: one sentence, like any UserError.
    const error = fsErrorAsUserError(caught) ?? caught;
    const userError = isUserError(error);
    const message = interrupt.signal.aborted ? `interrupted (${errorMessage(error)})` : errorMessage(error);
    process.stderr.write(`${userError || !(error instanceof Error) ? message : (error.stack ?? message)}\n`);
    await link?.sendAndWait({ type: 'error', message, userError });
    return userError ? 2 : 1;
  } finally {
    interrupt.dispose();
  }
}

async function readJob(jobFile: string): Promise<StageJob> {
  let job: StageJob;
  try {
    job = JSON.parse(await readFile(jobFile, 'utf8')) as StageJob;
  } catch (error) {
    throw new UserError(`cannot read the stage job file ${jobFile}: ${errorMessage(error)}`);
  }
  for (const key of ['package', 'instance', 'stagingDir', 'scratchDir'] as const) {
    if (typeof job?.[key] !== 'string') throw new UserError(`stage job file ${jobFile} lacks "${key}"`);
  }
  job.inputs ??= {};
  return job;
}

function writeProgressLine(label: string, event: ProgressEvent): void {
  const amount = event.total === undefined ? `${event.done}` : `${event.done}/${event.total}`;
  process.stderr.write(`${label} ${event.label ?? 'progress'} ${amount}\n`);
}

/** How long a stage whose runner died gets to stop cleanly (save a checkpoint) before its process exits. */
const ORPHAN_GRACE_MS = 3000;

/**
 * The runner's end closes the IPC channel: the stage is interrupted, and its process exits soon
 * after even if the stage does not return, so no stage outlives its runner.
 */
function endWithRunner(interrupt: Interrupt): void {
  process.once('disconnect', () => {
    interrupt.abort('its runner ended');
    setTimeout(() => process.exit(130), ORPHAN_GRACE_MS).unref();
  });
}

interface Interrupt {
  signal: AbortSignal;
  abort(reason: string): void;
  dispose(): void;
}

/** First SIGTERM/SIGINT aborts ctx.signal so the stage can stop cleanly; a second one exits at once. */
function listenForInterrupts(): Interrupt {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error(`received ${name}`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    abort(reason) {
      if (!controller.signal.aborted) controller.abort(new Error(reason));
    },
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

/** The child's half of the IPC protocol (StageMessage out, RunnerMessage in). */
class IpcLink {
  private nextToken = 1;

  constructor(private readonly signal: AbortSignal) {}

  send(message: StageMessage): void {
    if (process.connected) process.send?.(message);
  }

  sendAndWait(message: StageMessage): Promise<void> {
    return new Promise((resolve) => {
      if (!process.connected || !process.send) return resolve();
      process.send(message, undefined, {}, () => resolve());
    });
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const token = this.nextToken++;
    await this.waitForGrant(token);
    try {
      return await fn();
    } finally {
      this.send({ type: 'exclusive-release', token });
    }
  }

  private waitForGrant(token: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        process.off('message', onMessage);
        process.off('disconnect', onDisconnect);
        this.signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (message: unknown): void => {
        const answer = message as RunnerMessage | undefined;
        if (answer?.token !== token) return;
        if (answer.type === 'exclusive-grant') {
          cleanup();
          resolve();
        } else if (answer.type === 'exclusive-refused') {
          cleanup();
          reject(new UserError(answer.message));
        }
      };
      const onDisconnect = (): void => {
        cleanup();
        reject(new Error('the runner closed the IPC channel while the stage waited for exclusive access'));
      };
      const onAbort = (): void => {
        cleanup();
        reject(new Error('interrupted while waiting for exclusive access'));
      };
      process.on('message', onMessage);
      process.on('disconnect', onDisconnect);
      this.signal.addEventListener('abort', onAbort);
      this.send({ type: 'exclusive-request', token });
    });
  }
}
