import type { Table } from 'apache-arrow';
import { tableFromRows } from '@lenna/core';

/** One row of history.arrow: the state at the end of an epoch. */
export interface HistoryRow {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  expected_latency_ms: number | null;
  /** The predicted latency of the genotype α derives at the epoch's end (maxSkips applied), over the same cells as E[lat]. */
  genotype_latency_ms: number | null;
  alpha_entropy: number;
  genotype: string;
  n_skip: number;
  seconds: number;
  lr: number;
}

const COLUMN_TYPES = {
  epoch: 'int',
  train_loss: 'float',
  train_acc: 'float',
  val_loss: 'float',
  val_acc: 'float',
  expected_latency_ms: 'float',
  genotype_latency_ms: 'float',
  alpha_entropy: 'float',
  genotype: 'utf8',
  n_skip: 'int',
  seconds: 'float',
  lr: 'float',
} as const;

export function historyTable(rows: HistoryRow[]): Table {
  return tableFromRows(rows.map((r) => ({ ...r })), COLUMN_TYPES);
}

/** Mean entropy (nats) of softmax over each row of the given α matrices. */
export function meanAlphaEntropy(...matrices: number[][][]): number {
  let total = 0;
  let rows = 0;
  for (const m of matrices) {
    for (const row of m) {
      const top = Math.max(...row);
      const e = row.map((v) => Math.exp(v - top));
      const z = e.reduce((a, b) => a + b, 0);
      total -= e.reduce((h, v) => (v > 0 ? h + (v / z) * Math.log(v / z) : h), 0);
      rows++;
    }
  }
  return rows === 0 ? 0 : total / rows;
}
