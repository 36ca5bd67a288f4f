import { UserError } from '@lenna/core';
import { parseJobId } from './sbatch.js';

/** What the scheduler says about one job or array task. */
export interface SchedulerState {
  /** PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ... */
  state: string;
  /** Why it waits or ended (Dependency, DependencyNeverSatisfied, NonZeroExitCode, ...), where known. */
  reason?: string;
}

/** The few SLURM commands the runner uses; tests of the executor give it a fake. */
export interface SlurmClient {
  /** `sbatch <args>` (args include --parsable); returns the job id. */
  submit(args: string[]): Promise<string>;
  /** States of jobs and array tasks (`12`, `12_3`); an array's id asks for all its tasks. Unknown ids are absent. */
  states(ids: string[]): Promise<Map<string, SchedulerState>>;
  cancel(ids: string[]): Promise<void>;
}

/** States after which a job does nothing more. */
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED', 'REVOKED', 'SPECIAL_EXIT']);

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

const HOW_TO = 'install SLURM\'s client commands (apt-get install slurm-client) on a machine of the cluster; scripts/slurm-local.sh up starts a one-node cluster here';

/** The real one: sbatch, squeue (sacct for jobs squeue has forgotten), scancel. */
export const commandLineClient: SlurmClient = {
  async submit(args) {
    const result = await slurm('sbatch', args);
    if (result.exitCode !== 0) {
      const said = (result.stderr || result.stdout).trim().split('\n').pop() ?? '';
      throw new UserError(`sbatch refused the job (${said}); check --partition, --account and the stage's resources: in the pipeline.`);
    }
    const id = parseJobId(result.stdout);
    if (!id) throw new Error(`sbatch printed no job id: ${JSON.stringify(result.stdout)}`);
    return id;
  },

  async states(ids) {
    const states = new Map<string, SchedulerState>();
    if (ids.length === 0) return states;
    // -t all: finished jobs too, while the controller remembers them (MinJobAge); -r: one line per array task.
    const queue = await slurm('squeue', ['-h', '-r', '-t', 'all', '-j', [...new Set(ids.map(arrayOf))].join(','), '-o', '%i|%T|%r']);
    // squeue refuses ids the controller has purged ("Invalid job id"); any other failure is a controller
    // that did not answer, which must not read as "no such job".
    if (queue.exitCode !== 0 && !/invalid job id/i.test(queue.stderr)) {
      const said = (queue.stderr || queue.stdout).trim().split('\n').pop() ?? '';
      throw new UserError(`squeue failed (${said}); is the SLURM controller up? (scontrol ping)`);
    }
    for (const line of queue.exitCode === 0 ? queue.stdout.split('\n') : []) {
      const [id, state, reason] = line.trim().split('|');
      if (id && state) states.set(id, { state, reason: reason && reason !== 'None' ? reason : undefined });
    }
    const missing = ids.filter((id) => !states.has(id) && ![...states.keys()].some((k) => k.startsWith(`${id}_`)));
    if (missing.length === 0) return states;
    // Forgotten by the controller: the accounting database knows, where the cluster has one.
    const acct = await slurm('sacct', ['-n', '-P', '-X', '-j', missing.join(','), '-o', 'JobID,State,Reason']);
    for (const line of acct.exitCode === 0 ? acct.stdout.split('\n') : []) {
      const [id, state, reason] = line.trim().split('|');
      // "CANCELLED by 0" -> CANCELLED
      if (id && state) states.set(id, { state: state.split(' ')[0], reason: reason && reason !== 'None' ? reason : undefined });
    }
    return states;
  },

  async cancel(ids) {
    if (ids.length === 0) return;
    const result = await slurm('scancel', ids);
    if (result.exitCode !== 0) throw new UserError(`scancel failed (${result.stderr.trim().split('\n').pop()}); cancel the jobs ${ids.join(' ')} by hand.`);
  },
};

function arrayOf(id: string): string {
  return id.split('_')[0];
}

async function slurm(program: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { execa } = await import('execa');
  const result = await execa(program, args, { reject: false, stdin: 'ignore' });
  if ((result as { code?: string }).code === 'ENOENT') {
    throw new UserError(`${program} not found: the SLURM executor needs SLURM's commands on PATH; ${HOW_TO}.`);
  }
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
