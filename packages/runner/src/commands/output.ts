import type { InstanceStatus } from '../evaluate.js';
import type { Pipeline } from '../pipeline/load.js';

/** The one JSON object `status --json` and `run --json` print (an interface CI scripts rely on). */
export interface StatusJson {
  pipeline: string;
  stages: { id: string; stage: string; state: InstanceStatus['state']; reasons: string[]; outputs: Record<string, string> }[];
}

export function statusJson(pipeline: Pipeline, statuses: InstanceStatus[]): StatusJson {
  return {
    pipeline: pipeline.name,
    stages: statuses.map((s) => ({
      id: s.instance.id,
      stage: s.instance.stage.ref.definition.name,
      state: s.state,
      reasons: s.reasons,
      outputs: s.outputs,
    })),
  };
}

export function statusTable(statuses: InstanceStatus[]): string {
  const width = Math.max(5, ...statuses.map((s) => s.instance.id.length));
  const lines = statuses.map((s) => {
    const why = s.reasons.length ? `  ${s.reasons.join('; ')}` : '';
    return `${s.instance.id.padEnd(width)}  ${s.state.padEnd(7)}${why}`;
  });
  return [`${'stage'.padEnd(width)}  state`, ...lines].join('\n') + '\n';
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
