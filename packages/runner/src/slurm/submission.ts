import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError, writeFileAtomic } from '@lenna/core';
import type { InputIds } from '../cache-key.js';

/**
 * What `lenna run --executor slurm` leaves in the store, under `slurm/<submission>/`, so that the jobs,
 * a later `lenna status` and `lenna cancel` find each other:
 *
 *   submission.json        the pipeline, the command, and each submitted instance's job id
 *   jobs/<n>.json, <n>.sh  an instance's job file (read by `lenna job`) and its batch script
 *   out/<n>.out            the job's stdout and stderr (SLURM writes it)
 *   results/<n>.json       how the instance ended, written by its job: key, outputs or the error
 *   progress/<n>.json      its latest progress event, while it runs
 *
 * `<n>` is `<unit>` for a job of its own and `<unit>_<task>` for a task of a job array.
 */
export interface SubmissionRecord {
  formatVersion: 1;
  pipeline: string;
  pipelineFile: string;
  lockFile: string;
  command: string;
  host: string;
  submittedAt: string;
  partition?: string;
  account?: string;
  instances: Record<string, SubmittedInstance>;
  /** Each sbatch call: the job (or array) id it returned and its arguments. */
  sbatch: { job: string; args: string[] }[];
}

export interface SubmittedInstance {
  /** `12`, or `12_3` for a task of an array. */
  job: string;
  stage: string;
  /** The name its files have in the submission's folders (`<n>` above). */
  files: string;
}

/** One input of a job: the upstream instance and output it comes from, and its artifact id when known at submission. */
export interface JobInputRef {
  from: string;
  output: string;
  id?: string;
}

/** A job file: what `lenna job` needs to run one instance on a node, compute its key there and record it. */
export interface SlurmJobSpec {
  formatVersion: 1;
  storeRoot: string;
  pipeline: { name: string; file: string; lockFile: string };
  instance: string;
  stage: { specifier: string; name: string };
  params: unknown;
  timeoutS?: number;
  inputs: Record<string, JobInputRef | JobInputRef[]>;
  /** The result file of each upstream instance that runs as a job of this submission. */
  upstreamResults: Record<string, string>;
  /** The key the submitting host computed, where it knew every input. */
  submitKey?: string;
  /** Run even if the store has the key (`--force`, `--from`). */
  force?: boolean;
  resultFile: string;
  progressFile: string;
  lockTimeoutS: number;
  /** The submitting command line, for the run record. */
  command: string;
}

/** How an instance's job ended, written by the job (the submitting host reads it). */
export interface JobResult {
  instance: string;
  state: 'ran' | 'cached' | 'failed';
  key?: string;
  code?: string;
  environment?: Record<string, unknown>;
  inputs?: InputIds;
  outputs?: Record<string, string>;
  seconds?: number;
  /** The stage's log in the store's logs/. */
  logPath?: string;
  error?: string;
  userError?: boolean;
  note?: string;
  host: string;
  job?: string;
  finishedAt: string;
}

export class Submission {
  private constructor(
    readonly dir: string,
    readonly record: SubmissionRecord,
  ) {}

  static async create(storeRoot: string, info: Omit<SubmissionRecord, 'formatVersion' | 'host' | 'submittedAt' | 'instances' | 'sbatch'>): Promise<Submission> {
    const submittedAt = new Date().toISOString();
    const name = `${submittedAt.replace(/[:.]/g, '-')}-${info.pipeline.replace(/[^A-Za-z0-9_-]+/g, '_')}-${randomBytes(3).toString('hex')}`;
    const dir = join(resolve(storeRoot), 'slurm', name);
    for (const sub of ['jobs', 'out', 'results', 'progress']) await mkdir(join(dir, sub), { recursive: true });
    const submission = new Submission(dir, { formatVersion: 1, ...info, host: hostname(), submittedAt, instances: {}, sbatch: [] });
    await submission.save();
    return submission;
  }

  specFile(files: string): string {
    return join(this.dir, 'jobs', `${files}.json`);
  }

  scriptFile(unit: string): string {
    return join(this.dir, 'jobs', `${unit}.sh`);
  }

  add(instance: string, entry: SubmittedInstance): void {
    this.record.instances[instance] = entry;
  }

  addSbatch(job: string, args: string[]): void {
    this.record.sbatch.push({ job, args });
  }

  save(): Promise<void> {
    return writeFileAtomic(join(this.dir, 'submission.json'), `${JSON.stringify(this.record, null, 2)}\n`);
  }
}

export function outFile(dir: string, files: string): string {
  return join(dir, 'out', `${files}.out`);
}

export function resultFile(dir: string, files: string): string {
  return join(dir, 'results', `${files}.json`);
}

export function progressFile(dir: string, files: string): string {
  return join(dir, 'progress', `${files}.json`);
}

export interface StoredSubmission {
  dir: string;
  record: SubmissionRecord;
}

/** The store's submissions of the pipeline with this lock file, oldest first. */
export async function submissionsOf(storeRoot: string, lockFile: string): Promise<StoredSubmission[]> {
  const root = join(resolve(storeRoot), 'slurm');
  const names = (await readdir(root).catch(() => [] as string[])).sort();
  const found: StoredSubmission[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const record = await readJson<SubmissionRecord>(join(dir, 'submission.json'));
    if (record?.formatVersion === 1 && record.lockFile === resolve(lockFile) && typeof record.instances === 'object') found.push({ dir, record });
  }
  return found;
}

/** Each instance's latest job among the submissions: instance -> its job and the folder of its submission. */
export function latestJobs(submissions: StoredSubmission[]): Map<string, { dir: string; entry: SubmittedInstance }> {
  const jobs = new Map<string, { dir: string; entry: SubmittedInstance }>();
  for (const { dir, record } of submissions) for (const [instance, entry] of Object.entries(record.instances)) jobs.set(instance, { dir, entry });
  return jobs;
}

export async function readJobSpec(file: string): Promise<SlurmJobSpec> {
  const spec = await readJson<SlurmJobSpec>(file);
  if (!spec || spec.formatVersion !== 1 || typeof spec.instance !== 'string' || typeof spec.storeRoot !== 'string') {
    throw new UserError(`${file} is not a lenna job file (written by lenna run --executor slurm); submit the pipeline again.`);
  }
  return spec;
}

export function readJobResult(file: string): Promise<JobResult | undefined> {
  return readJson<JobResult>(file);
}

/** Undefined when the file is absent or not JSON (yet). */
export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
