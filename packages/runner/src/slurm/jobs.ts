import { stat } from 'node:fs/promises';
import type { InstanceStatus, JobInfo } from '../evaluate.js';
import { commandLineClient, isTerminal, type SchedulerState, type SlurmClient } from './client.js';
import { latestJobs, outFile, readJobResult, resultFile, submissionsOf } from './submission.js';
import { tailOf } from './tail.js';

/** An instance's latest SLURM job, as `status` and `cancel` see it. */
export interface KnownJob {
  instance: string;
  info: JobInfo;
}

/**
 * The latest job of each instance of the pipeline with this lock file, with its state: the
 * scheduler's while it knows the job, else what the job's result file says (COMPLETED or FAILED),
 * else UNKNOWN (also where the controller does not answer, unless `requireScheduler`). A failed job carries its log (the stage's, or the job's output before the stage ran)
 * and the log's last lines.
 */
export async function knownJobs(storeRoot: string, lockFile: string, client: SlurmClient = commandLineClient, options: { requireScheduler?: boolean } = {}): Promise<KnownJob[]> {
  const latest = latestJobs(await submissionsOf(storeRoot, lockFile));
  if (latest.size === 0) return [];
  const asked = client.states([...latest.values()].map((j) => j.entry.job));
  // `status` shows what the result files say when the controller does not answer; `cancel` must not.
  const states = options.requireScheduler ? await asked : await asked.catch(() => new Map<string, SchedulerState>());
  const jobs: KnownJob[] = [];
  for (const [instance, { dir, entry }] of latest) {
    const result = await readJobResult(resultFile(dir, entry.files));
    const seen = states.get(entry.job);
    const state = seen?.state ?? (result ? (result.state === 'failed' ? 'FAILED' : 'COMPLETED') : 'UNKNOWN');
    const info: JobInfo = { id: entry.job, state, reason: seen?.reason };
    const dependencyCancelled = state === 'CANCELLED' && seen?.reason === 'DependencyNeverSatisfied';
    const log = result?.logPath ?? outFile(dir, entry.files);
    // A job cancelled before it started has no log.
    if (isTerminal(state) && state !== 'COMPLETED' && !dependencyCancelled && (await exists(log))) {
      info.log = log;
      info.tail = await tailOf(log);
    }
    jobs.push({ instance, info });
  }
  return jobs;
}

/** Puts each instance's job into its status (status shows it). Returns whether any instance has one. */
export async function attachJobs(statuses: InstanceStatus[], storeRoot: string, lockFile: string, client?: SlurmClient): Promise<boolean> {
  const jobs = new Map((await knownJobs(storeRoot, lockFile, client)).map((j) => [j.instance, j.info]));
  let any = false;
  for (const status of statuses) {
    const info = jobs.get(status.instance.id);
    if (!info) continue;
    // A job that failed once says nothing about an instance that is cached now.
    if (status.state === 'cached') {
      delete info.log;
      delete info.tail;
    }
    status.job = info;
    any = true;
  }
  return any;
}

export function isActive(state: string | undefined): boolean {
  return state !== undefined && state !== 'UNKNOWN' && !isTerminal(state);
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
