import type { InstanceStatus } from '../evaluate.js';
import type { Pipeline } from '../pipeline/load.js';

/**
 * The one JSON object `status --json` and `run --json` print (an interface CI scripts rely on).
 * `executor` is set by `run`, and by `status` where SLURM jobs are known; a stage a SLURM job ran or
 * runs has `job` (its id), `jobState`, and for a failed job `log` and `tail` (the log's last lines).
 */
export interface StatusJson {
  pipeline: string;
  executor?: 'local' | 'slurm';
  stages: {
    id: string;
    stage: string;
    state: InstanceStatus['state'];
    reasons: string[];
    outputs: Record<string, string>;
    job?: string;
    jobState?: string;
    jobReason?: string;
    log?: string;
    tail?: string[];
  }[];
}

export function statusJson(pipeline: Pipeline, statuses: InstanceStatus[], executor?: StatusJson['executor']): StatusJson {
  return {
    pipeline: pipeline.name,
    ...(executor ? { executor } : {}),
    stages: statuses.map((s) => ({
      id: s.instance.id,
      stage: s.instance.stage.ref.definition.name,
      state: s.state,
      reasons: s.reasons,
      outputs: s.outputs,
      ...(s.job ? { job: s.job.id, jobState: s.job.state, jobReason: s.job.reason, log: s.job.log, tail: s.job.tail } : {}),
    })),
  };
}

/** One line per instance (with its SLURM job where it has one), then the log and last lines of each failed job. */
export function statusTable(statuses: InstanceStatus[]): string {
  const width = Math.max(5, ...statuses.map((s) => s.instance.id.length));
  const withJobs = statuses.some((s) => s.job);
  const jobText = (s: InstanceStatus): string => (s.job ? `${s.job.id} ${s.job.state ?? ''}${s.job.reason && s.job.state === 'PENDING' ? ` (${s.job.reason})` : ''}` : '');
  const jobWidth = Math.max(3, ...statuses.map((s) => jobText(s).length));
  const stateWidth = Math.max(7, ...statuses.map((s) => s.state.length));
  const lines = statuses.map((s) => {
    const why = s.reasons.length ? `  ${s.reasons.join('; ')}` : '';
    const job = withJobs ? `  ${jobText(s).padEnd(jobWidth)}` : '';
    return `${s.instance.id.padEnd(width)}  ${s.state.padEnd(stateWidth)}${job}${why}`;
  });
  const header = `${'stage'.padEnd(width)}  ${withJobs ? `${'state'.padEnd(stateWidth)}  job` : 'state'}`;
  const failures = statuses
    .filter((s) => s.job?.log)
    .map((s) => [`${s.instance.id}: job ${s.job?.id} ${s.job?.state}; log: ${s.job?.log}`, ...(s.job?.tail ?? []).map((l) => `  | ${l}`)].join('\n'));
  return [header, ...lines, ...(failures.length ? ['', ...failures] : [])].join('\n') + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonSafe, 2) + '\n');
}

/** BigInts (Arrow int64, safetensors I64) print as numbers when exact, else as strings. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => jsonSafe('', v));
  return value;
}
