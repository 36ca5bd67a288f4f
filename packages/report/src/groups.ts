import { formatInstanceId, instanceKeys, instanceStage } from '@lenna/core';
import type { ReportRow, RunKind } from './row.js';

/** The columns a group summarises, mean ± standard deviation over its runs. */
export const GROUP_METRICS = ['test_acc', 'latency_ms', 'cells_measured_ms', 'cells_predicted_ms', 'n_skip_normal', 'params'] as const;
export type GroupMetric = (typeof GROUP_METRICS)[number];

export interface GroupStat {
  mean: number | null;
  /** Sample standard deviation (n − 1); null with fewer than two values. */
  std: number | null;
  /** Runs with a value. */
  n: number;
}

/** Runs of one configuration that differ only in seed (random cells: in seed and draw). */
export interface GroupRow {
  /** The runs' instance name without the keys that tell replicates apart, e.g. `retrain-eval@lambda=1`. */
  group: string;
  kind: RunKind | null;
  lambda: number | null;
  target_ms: number | null;
  runs: number;
  instances: string[];
  stats: Record<GroupMetric, GroupStat>;
}

/**
 * A matrix key that only replicates a configuration: `seed` (also a stage-qualified `darts-search.seed`),
 * and for random cells `index` (random-cell's draw: twelve draws are twelve samples of one baseline).
 */
function replicateKey(name: string, kind: RunKind | null): boolean {
  const base = name.slice(name.lastIndexOf('.') + 1);
  return base === 'seed' || (kind === 'random' && base === 'index');
}

export function groupLabel(row: Pick<ReportRow, 'instance' | 'kind'>): string {
  const kept = [...instanceKeys(row.instance)].filter(([name]) => !replicateKey(name, row.kind));
  return formatInstanceId(instanceStage(row.instance), kept);
}

export function meanStd(values: number[]): GroupStat {
  const n = values.length;
  if (n === 0) return { mean: null, std: null, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: null, n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

/**
 * Groups rows by everything but the seed: kind, λ, target and the instance name without its
 * replicate keys (so two retrain stages of different settings stay apart). Groups keep the rows'
 * order (rows come sorted by λ, then seed).
 */
export function groupRows(rows: ReportRow[]): GroupRow[] {
  const groups = new Map<string, { first: ReportRow; group: string; members: ReportRow[] }>();
  for (const row of rows) {
    const group = groupLabel(row);
    const key = JSON.stringify([row.kind, row.lambda, row.target_ms, group]);
    const entry = groups.get(key) ?? { first: row, group, members: [] };
    entry.members.push(row);
    groups.set(key, entry);
  }
  return [...groups.values()].map(({ first, group, members }) => ({
    group,
    kind: first.kind,
    lambda: first.lambda,
    target_ms: first.target_ms,
    runs: members.length,
    instances: members.map((r) => r.instance),
    stats: Object.fromEntries(
      GROUP_METRICS.map((metric) => [metric, meanStd(members.map((r) => r[metric]).filter((v): v is number => v !== null))]),
    ) as Record<GroupMetric, GroupStat>,
  }));
}

/** Seeds to average over: some configuration ran more than once. */
export function hasReplicates(groups: GroupRow[]): boolean {
  return groups.some((g) => g.runs > 1);
}
