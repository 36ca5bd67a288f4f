import type { Table } from 'apache-arrow';
import { tableFromRows, type RowColumnType } from '@lenna/core';
import type { EpochRecord } from './train.js';
import type { LatencySummary } from './latency.js';
import type { GenotypeKind } from './genotype-input.js';

export const HISTORY_COLUMNS: Record<keyof EpochRecord, RowColumnType> = {
  epoch: 'int',
  train_loss: 'float',
  train_acc: 'float',
  val_acc: 'float',
  lr: 'float',
  drop_path_prob: 'float',
  seconds: 'float',
};

export function historyTable(history: EpochRecord[]): Table {
  return tableFromRows(history.map((r) => ({ ...r })), HISTORY_COLUMNS);
}

/** metrics.json: the fields first, then the detail behind the latency numbers. */
export interface RetrainMetrics extends LatencySummary {
  test_acc: number;
  val_acc: number;
  params: number;
  macs: number;
  train_seconds: number;
  measure_batch: number;
  genotype: string;
  kind: GenotypeKind;
  /** skip_connect edges in the normal cell. */
  n_skip_normal: number;
  /** Where every latency above was measured: `node` (this process) or `browser`. */
  target: 'node' | 'browser';
  /** The tfjs backend that ran them (Node's, or the page's wasm/webgl/webgpu). */
  backend: string;
  /** The browser as it names itself (e.g. `Chrome/156.0.8078.114`); null for node. */
  browser: string | null;
  /** WebGL's renderer or the WebGPU adapter; null for node and wasm (metrics.json only). */
  renderer: string | null;
}

export const METRIC_COLUMNS: Record<string, RowColumnType> = {
  test_acc: 'float',
  val_acc: 'float',
  params: 'int',
  macs: 'float',
  latency_ms: 'float',
  predicted_latency_ms: 'float',
  measured_cells_latency_ms: 'float',
  latency_error: 'float',
  cell_latency_normal_ms: 'float',
  cell_latency_reduce_ms: 'float',
  train_seconds: 'float',
  measure_batch: 'int',
  genotype: 'utf8',
  kind: 'utf8',
  n_skip_normal: 'int',
  target: 'utf8',
  backend: 'utf8',
  browser: 'utf8',
};

/** The one-row metrics.arrow: cell_latency_ms is flattened into two columns; missing values are null. */
export function metricsTable(m: RetrainMetrics): Table {
  const row = {
    test_acc: m.test_acc,
    val_acc: m.val_acc,
    params: m.params,
    macs: m.macs,
    latency_ms: m.latency_ms,
    predicted_latency_ms: m.predicted_latency_ms,
    measured_cells_latency_ms: m.measured_cells_latency_ms,
    latency_error: m.latency_error,
    cell_latency_normal_ms: m.cell_latency_ms.normal,
    cell_latency_reduce_ms: m.cell_latency_ms.reduce,
    train_seconds: m.train_seconds,
    measure_batch: m.measure_batch,
    genotype: m.genotype,
    kind: m.kind,
    n_skip_normal: m.n_skip_normal,
    target: m.target,
    backend: m.backend,
    browser: m.browser,
  };
  return tableFromRows([row], METRIC_COLUMNS);
}
