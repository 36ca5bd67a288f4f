import { join } from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import { stageHostEntry, type ArtifactStore, type Manifest, type RunFacts, type StageJob, type StageMessage } from '@lenna/core';
import type { ExclusiveLock } from './exclusive.js';

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
}

/**
 * Runs one stage instance as `node <stageHostEntry> <job.json>`, logging to artifacts/logs, and
 * commits each output folder into the store on success. Nothing reaches objects/ unless the
 * child succeeded; the staging folder is removed either way.
 */
export async function runStageChild(req: ChildRunRequest): Promise<ChildRunResult> {
  const started = performance.now();
  const logPath = join(req.store.logsDir(), `${req.instance.replace(/[/\\]/g, '_')}-${req.cacheKey.slice(0, 12)}.log`);
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
  await writeFile(jobFile, JSON.stringify(job, null, 2));
  await writeFile(logPath, `# ${new Date().toISOString()} ${req.instance} (${req.stageName}) key ${req.cacheKey}\n`, { flag: 'a' });
  try {
    // Loaded on first use: a run where everything is cached never pays for execa.
    const { execa } = await import('execa');
    const child = execa(process.execPath, [stageHostEntry, jobFile], {
      ipc: true,
      stdin: 'ignore',
      stdout: { file: logPath, append: true },
      stderr: { file: logPath, append: true },
      cancelSignal: req.signal,
      forceKillAfterDelay: 10_000,
      reject: false,
    });
    // Paused while another stage holds the machine; signals are POSIX only (elsewhere nothing pauses).
    const untrack =
      process.platform === 'win32'
        ? () => undefined
        : req.exclusive.track(req.instance, { pause: () => child.kill('SIGSTOP'), resume: () => child.kill('SIGCONT') });
    const holder = { tokens: new Set<number>(), ended: false };
    let lastError: StageMessage | undefined;
    const listening = (async () => {
      for await (const raw of child.getEachMessage()) {
        const message = raw as StageMessage;
        if (message.type === 'exclusive-request') {
          void req.exclusive.acquire(req.instance).then(() => {
            if (holder.ended) return req.exclusive.release(req.instance);
            holder.tokens.add(message.token);
            return child.sendMessage({ type: 'exclusive-grant', token: message.token }).catch(() => undefined);
          });
        } else if (message.type === 'exclusive-release') {
          if (holder.tokens.delete(message.token)) req.exclusive.release(req.instance);
        } else {
          if (message.type === 'error') lastError = message;
          req.onMessage(message);
        }
      }
    })().catch(() => undefined);
    const result = await child;
    untrack();
    holder.ended = true;
    await listening;
    // A child that dies while holding the machine must not keep it.
    for (const _ of holder.tokens) req.exclusive.release(req.instance);
    req.exclusive.forget(req.instance);
    const seconds = (performance.now() - started) / 1000;
    const interrupted = req.signal.aborted || result.isCanceled;
    if (result.exitCode !== 0 || interrupted) {
      const detail = lastError?.type === 'error' ? lastError.message : describeExit(result);
      return {
        ok: false,
        interrupted,
        userError: result.exitCode === 2 ? detail : undefined,
        error: detail,
        logPath,
        seconds,
        outputs: {},
      };
    }
    const outputs = await commitOutputs(req, stagingDir);
    await req.store.removeScratch(req.cacheKey);
    return { ok: true, interrupted: false, logPath, seconds: (performance.now() - started) / 1000, outputs };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function commitOutputs(req: ChildRunRequest, stagingDir: string): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(req.outputs)) {
    const manifest = await req.store.commit(join(stagingDir, name), {
      kind: spec.kind,
      stage: req.stageName,
      output: name,
      instance: req.instance,
      cacheKey: req.cacheKey,
      params: req.params,
      inputs: req.inputIds,
      environment: req.environment,
    });
    outputs[name] = manifest.id;
  }
  return outputs;
}

function describeExit(result: { exitCode?: number; signal?: string; isCanceled?: boolean }): string {
  if (result.isCanceled) return 'interrupted';
  if (result.signal) return `killed by ${result.signal}`;
  return `exited with status ${result.exitCode}`;
}
