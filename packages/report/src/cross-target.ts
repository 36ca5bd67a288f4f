import { averageRanks, kendallTauB, median, spearman } from '@lenna/core';
import type { ReportRow, RunKind } from './row.js';
import { distinctTargets, targetLabel } from './target.js';

/** The latencies the cross-target table compares, each target's own measurement of the same network. */
export const CROSS_METRICS = ['latency_ms', 'cells_measured_ms'] as const;
export type CrossMetric = (typeof CROSS_METRICS)[number];

/** One run of a cell on one target. */
export interface TargetRun {
  instance: string;
  latency_ms: number | null;
  cells_measured_ms: number | null;
  /** 1 = fastest latency_ms among the cells this target timed (ties share their mean rank); null without latency_ms. */
  rank: number | null;
}

/** One cell (one search's found genotype, or one random draw) and its run on each target. */
export interface CrossTargetCell {
  kind: RunKind;
  lambda: number | null;
  seed: number | null;
  target_ms: number | null;
  genotype: string | null;
  /** By target, in CrossTarget.targets' order; null where that target did not time this cell. */
  runs: (TargetRun | null)[];
}

/** How well target B's latencies keep target A's order, over the cells both timed. */
export interface TargetPair {
  a: string;
  b: string;
  metric: CrossMetric;
  /** Cells with the metric on both targets. */
  n: number;
  /** Null with fewer than two cells, or where a target's values are all equal (undefined). */
  spearman: number | null;
  kendall: number | null;
  /** Median over those cells of B / A; null without cells (or with a zero on A). */
  median_ratio: number | null;
}

export interface CrossTarget {
  /** Target labels (targetLabel), node first. */
  targets: string[];
  cells: CrossTargetCell[];
  pairs: TargetPair[];
}

/**
 * The key pairing runs of one cell across targets: the genotype timed and the configuration that
 * found it (kind, λ, seed, latency target T, from the matched search). Two retrain stages of the same
 * search match the same search, so this holds whatever the stages are called.
 */
function cellKey(row: ReportRow): string {
  return JSON.stringify([row.genotype, row.kind, row.lambda, row.seed, row.target_ms]);
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

function pair(cells: CrossTargetCell[], targets: string[], i: number, j: number, metric: CrossMetric): TargetPair {
  const both = cells.flatMap((c) => {
    const a = c.runs[i]?.[metric] ?? null;
    const b = c.runs[j]?.[metric] ?? null;
    return a !== null && b !== null ? [{ a, b }] : [];
  });
  const a = both.map((p) => p.a);
  const b = both.map((p) => p.b);
  const ratios = both.filter((p) => p.a !== 0).map((p) => p.b / p.a);
  return {
    a: targets[i],
    b: targets[j],
    metric,
    n: both.length,
    spearman: both.length >= 2 ? finite(spearman(a, b)) : null,
    kendall: both.length >= 2 ? finite(kendallTauB(a, b)) : null,
    median_ratio: ratios.length > 0 ? median(ratios) : null,
  };
}

/** Each target's rank of each cell by latency_ms, among the cells that target timed. */
function rankWithinTargets(cells: CrossTargetCell[], targets: number): void {
  for (let t = 0; t < targets; t++) {
    const timed = cells.flatMap((c) => (c.runs[t]?.latency_ms != null ? [c.runs[t] as TargetRun] : []));
    const ranks = averageRanks(timed.map((r) => r.latency_ms as number));
    timed.forEach((run, k) => (run.rank = ranks[k]));
  }
}

/**
 * The same cells timed on several targets, side by side, or null when every run was timed on one
 * target. Rows come sorted (sortRows); cells keep the order of their first run. A configuration a
 * target timed twice (two retrain stages on one target) pairs its n-th run there with the n-th
 * elsewhere, so no run is dropped.
 */
export function crossTarget(rows: ReportRow[]): CrossTarget | null {
  const targets = distinctTargets(rows).map(targetLabel);
  if (targets.length < 2) return null;
  const cells = new Map<string, CrossTargetCell>();
  const seen = new Map<string, number>();
  for (const row of rows) {
    const t = targets.indexOf(targetLabel(row));
    const base = cellKey(row);
    const occurrence = seen.get(`${t}:${base}`) ?? 0;
    seen.set(`${t}:${base}`, occurrence + 1);
    const key = `${base}#${occurrence}`;
    const cell = cells.get(key) ?? { kind: row.kind, lambda: row.lambda, seed: row.seed, target_ms: row.target_ms, genotype: row.genotype, runs: targets.map(() => null) };
    cell.runs[t] = { instance: row.instance, latency_ms: row.latency_ms, cells_measured_ms: row.cells_measured_ms, rank: null };
    cells.set(key, cell);
  }
  const list = [...cells.values()];
  rankWithinTargets(list, targets.length);
  const pairs: TargetPair[] = [];
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) for (const metric of CROSS_METRICS) pairs.push(pair(list, targets, i, j, metric));
  }
  return { targets, cells: list, pairs };
}
