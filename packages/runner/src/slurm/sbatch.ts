import type { Resources } from '../pipeline/schema.js';

/** One sbatch submission: a job, or a job array of `arraySize` tasks (indices 0..arraySize-1). */
export interface JobRequest {
  name: string;
  /** The batch script sbatch reads (it copies it at submission). */
  script: string;
  /** Where the job's stdout and stderr go; `%a` stands for the array index. */
  output: string;
  chdir: string;
  partition?: string;
  account?: string;
  /** Jobs (`12`) or array tasks (`12_3`) that must have completed successfully first. */
  dependencies: string[];
  arraySize?: number;
  resources?: Resources;
  /** The whole node (a stage that times something). */
  exclusive?: boolean;
}

/**
 * sbatch's arguments for a request. `--kill-on-invalid-dep=yes`: a job whose dependency failed is
 * cancelled at once instead of waiting in the queue for ever. `--export=ALL`: the job sees the
 * submitting shell's environment (LENNA_STORE, LENNA_BACKEND, PATH), whatever SBATCH_EXPORT says.
 */
export function sbatchArgs(req: JobRequest): string[] {
  const args = ['--parsable', `--job-name=${req.name}`, `--output=${req.output}`, `--chdir=${req.chdir}`, '--export=ALL'];
  if (req.partition) args.push(`--partition=${req.partition}`);
  if (req.account) args.push(`--account=${req.account}`);
  if (req.arraySize !== undefined && req.arraySize > 1) args.push(`--array=0-${req.arraySize - 1}`);
  if (req.dependencies.length > 0) args.push(`--dependency=afterok:${req.dependencies.join(':')}`, '--kill-on-invalid-dep=yes');
  if (req.exclusive) args.push('--exclusive');
  args.push(...resourceArgs(req.resources));
  args.push(req.script);
  return args;
}

/** A stage's `resources:` as sbatch options (a number of mem is megabytes, of time minutes, as SLURM reads them). */
export function resourceArgs(resources: Resources | undefined): string[] {
  if (!resources) return [];
  const args: string[] = [];
  if (resources.gpus !== undefined) args.push(`--gres=gpu:${resources.gpus}`);
  if (resources.cpus !== undefined) args.push(`--cpus-per-task=${resources.cpus}`);
  if (resources.mem !== undefined) args.push(`--mem=${String(resources.mem).toUpperCase()}`);
  if (resources.time !== undefined) args.push(`--time=${resources.time}`);
  return args;
}

/** `sbatch --parsable` prints `<id>` or `<id>;<cluster>`. */
export function parseJobId(stdout: string): string | undefined {
  const id = stdout.trim().split(/\r?\n/).pop()?.split(';')[0]?.trim();
  return id && /^\d+$/.test(id) ? id : undefined;
}

/**
 * The batch script of a job: `exec` makes lenna the job's process, so scancel's SIGTERM reaches it.
 * An array's tasks each read their own job file: `[before, after]` around the task's index.
 */
export function batchScript(node: string, lenna: string, specFile: string | [string, string]): string {
  const spec = typeof specFile === 'string' ? shellQuote(specFile) : `${shellQuote(specFile[0])}"$SLURM_ARRAY_TASK_ID"${shellQuote(specFile[1])}`;
  return `#!/bin/sh\n# Written by lenna run --executor slurm.\nexec ${shellQuote(node)} ${shellQuote(lenna)} job ${spec}\n`;
}

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Dependencies that name every task of an array name the array instead (`12` for `12_0:12_1:12_2`):
 * shorter, and what SLURM means by the array's id.
 */
export function collapseDependencies(ids: string[], arraySizes: ReadonlyMap<string, number>): string[] {
  const unique = [...new Set(ids)];
  const tasks = new Map<string, number>();
  for (const id of unique) {
    const [array, task] = id.split('_');
    if (task !== undefined) tasks.set(array, (tasks.get(array) ?? 0) + 1);
  }
  const result: string[] = [];
  for (const id of unique) {
    const [array, task] = id.split('_');
    const whole = task !== undefined && tasks.get(array) === arraySizes.get(array);
    if (!whole) result.push(id);
    else if (!result.includes(array)) result.push(array);
  }
  return result;
}

export interface Groupable<T> {
  item: T;
  /** Instances of one stage share resources; only they may share an array. */
  stage: string;
  dependencies: string[];
}

/**
 * Sibling instances of one stage (a sweep) whose jobs wait on exactly the same jobs become one job
 * array; every other instance is a job of its own. Order is kept: a group stands where its first
 * member stood.
 */
export function groupIntoArrays<T>(items: Groupable<T>[]): { stage: string; dependencies: string[]; items: T[] }[] {
  const groups: { stage: string; dependencies: string[]; items: T[] }[] = [];
  const byKey = new Map<string, (typeof groups)[number]>();
  for (const entry of items) {
    const deps = [...new Set(entry.dependencies)].sort();
    const key = `${entry.stage}\u0000${deps.join(':')}`;
    const group = byKey.get(key);
    if (group) group.items.push(entry.item);
    else {
      const created = { stage: entry.stage, dependencies: deps, items: [entry.item] };
      byKey.set(key, created);
      groups.push(created);
    }
  }
  return groups;
}
