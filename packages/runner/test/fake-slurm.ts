import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { SchedulerState, SlurmClient } from '../src/slurm/client.js';

interface FakeJob {
  id: string;
  state: string;
  reason?: string;
  dependencies: string[];
  script: string;
  output: string;
  chdir: string;
  array?: { job: string; task: number };
  process?: ResultPromise;
  cancelled?: boolean;
}

/**
 * A stand-in for a SLURM cluster of one slot, for tests on machines without SLURM: it records every
 * sbatch call and, when `run` is set, runs the batch scripts one at a time as SLURM would (afterok
 * dependencies, --kill-on-invalid-dep, SLURM_* variables, --output with %a), so `lenna job` runs for real.
 */
export class FakeSlurm implements SlurmClient {
  readonly calls: string[][] = [];
  private readonly jobs = new Map<string, FakeJob>();
  private nextId = 100;
  private pumping: Promise<void> = Promise.resolve();

  constructor(private readonly options: { run: boolean; env?: Record<string, string> }) {}

  async submit(args: string[]): Promise<string> {
    this.calls.push(args);
    const option = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    const id = String(this.nextId++);
    const size = option('array') ? Number((option('array') as string).split('-')[1]) + 1 : 1;
    const dependencies = option('dependency')?.replace(/^afterok:/, '').split(':') ?? [];
    for (let task = 0; task < size; task++) {
      const jobId = option('array') ? `${id}_${task}` : id;
      this.jobs.set(jobId, {
        id: jobId,
        state: 'PENDING',
        reason: dependencies.length ? 'Dependency' : undefined,
        dependencies,
        script: args.at(-1) as string,
        output: (option('output') as string).replace('%a', String(task)),
        chdir: option('chdir') as string,
        array: option('array') ? { job: id, task } : undefined,
      });
    }
    if (this.options.run) this.pumping = this.pumping.then(() => this.pump());
    return id;
  }

  async states(ids: string[]): Promise<Map<string, SchedulerState>> {
    const states = new Map<string, SchedulerState>();
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (job) states.set(id, { state: job.state, reason: job.reason });
    }
    return states;
  }

  async cancel(ids: string[]): Promise<void> {
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (!job || !['PENDING', 'RUNNING'].includes(job.state)) continue;
      job.cancelled = true;
      if (job.process) job.process.kill('SIGTERM');
      else job.state = 'CANCELLED';
    }
    if (this.options.run) this.pumping = this.pumping.then(() => this.pump());
  }

  /** Every job has ended (tests wait for this before they look at the store). */
  idle(): Promise<void> {
    return this.pumping;
  }

  private async pump(): Promise<void> {
    for (;;) {
      for (const job of this.jobs.values()) {
        if (job.state === 'PENDING' && job.dependencies.some((d) => this.depState(d) === 'failed')) {
          job.state = 'CANCELLED';
          job.reason = 'DependencyNeverSatisfied';
        }
      }
      const ready = [...this.jobs.values()].find((j) => j.state === 'PENDING' && j.dependencies.every((d) => this.depState(d) === 'ok'));
      if (!ready) return;
      await this.runJob(ready);
    }
  }

  private depState(dependency: string): 'ok' | 'failed' | 'waiting' {
    const jobs = [...this.jobs.values()].filter((j) => j.id === dependency || j.array?.job === dependency);
    if (jobs.some((j) => ['FAILED', 'CANCELLED'].includes(j.state))) return 'failed';
    return jobs.length > 0 && jobs.every((j) => j.state === 'COMPLETED') ? 'ok' : 'waiting';
  }

  private async runJob(job: FakeJob): Promise<void> {
    job.state = 'RUNNING';
    job.reason = undefined;
    await mkdir(dirname(job.output), { recursive: true });
    const env: Record<string, string> = { ...this.options.env, SLURM_JOB_ID: job.id };
    if (job.array) Object.assign(env, { SLURM_ARRAY_JOB_ID: job.array.job, SLURM_ARRAY_TASK_ID: String(job.array.task) });
    try {
      const out = { file: job.output, append: true };
      job.process = execa('sh', [job.script], { cwd: job.chdir, env, stdout: out, stderr: out, stdin: 'ignore', reject: false });
      const result = await job.process;
      job.state = job.cancelled ? 'CANCELLED' : result.exitCode === 0 ? 'COMPLETED' : 'FAILED';
      if (job.state === 'FAILED') job.reason = 'NonZeroExitCode';
    } finally {
      job.process = undefined;
    }
  }
}
