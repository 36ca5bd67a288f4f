import type { Table } from 'apache-arrow';
import { datasetTable as writeDatasetTable, type AdditiveTable, type BatchedCellShape } from '@lenna/latency-model';
import type { RowPlan } from './sampling.js';

/** What measuring one row produced: kept in the resume log, so everything here must be plain JSON. */
export interface MeasuredRow {
  index: number;
  latencyMs: number;
  /** Standard error of latencyMs; null when one reset gave no spread to estimate it from. */
  seMs: number | null;
  /** The reference cell's latency the timings were expressed against; null without a reference. */
  referenceMs: number | null;
  resets: number;
  converged: boolean;
  cv: number;
}

/** A finished row: its plan, its shape, its measurement and the additive estimate. */
export interface DatasetRow {
  plan: RowPlan;
  shape: BatchedCellShape;
  measured: MeasuredRow;
  lutLatencyMs: number;
}

/** The `dataset` output table, in @lenna/latency-model's column schema (the interface preprocess reads). */
export function datasetTable(rows: readonly DatasetRow[], ops: readonly string[], edges: number, additive: AdditiveTable): Table {
  return writeDatasetTable(
    rows.map((r) => ({
      shape: r.shape,
      probs: r.plan.probs,
      measured: {
        latency_ms: r.measured.latencyMs,
        se_ms: r.measured.seMs ?? NaN,
        lut_latency_ms: r.lutLatencyMs,
        reference_ms: r.measured.referenceMs ?? NaN,
        resets: r.measured.resets,
        converged: r.measured.converged,
        cv: r.measured.cv,
        one_hot: r.plan.oneHot,
        radius: r.plan.radius,
      },
    })),
    ops,
    edges,
    additive,
  );
}
