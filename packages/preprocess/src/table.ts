import { Schema, Table, vectorFromArray, type Vector } from 'apache-arrow';
import { requireColumns, UserError } from '@lenna/core';
import type { CellRow } from './cell.js';
import { parseProbColumns, probColumnName } from './ops.js';

export interface DatasetRows {
  rows: CellRow[];
  ops: string[];
  edges: number;
}

function column(table: Table, name: string, where: string): Vector {
  const vector = table.getChild(name);
  if (!vector) throw new UserError(`${where}: column '${name}' is missing; a LENNA dataset table has it (see packages/dataset-gen/README.md).`);
  return vector;
}

function numbers(table: Table, name: string, where: string): Float64Array {
  const vector = column(table, name, where);
  const out = new Float64Array(table.numRows);
  for (let i = 0; i < out.length; i++) {
    const value = Number(vector.get(i));
    if (!Number.isFinite(value)) throw new UserError(`${where}: column '${name}' row ${i} is ${vector.get(i)}; a finite number is needed.`);
    out[i] = value;
  }
  return out;
}

/** The non-probability columns preprocess reads (the split tables keep every column). */
export const DATASET_COLUMNS = {
  block_type: 'utf8',
  reduction_prev: 'bool',
  c_prev_prev: 'int',
  c_in: 'int',
  c: 'int',
  hw: 'int',
  batch: 'int',
  latency_ms: 'float',
} as const;

/** Read a dataset table (dataset-gen's `dataset` columns) into cell rows; `where` names the file in errors. */
export function readCellRows(table: Table, where: string): DatasetRows {
  const { ops, edges } = parseProbColumns(table.schema.fields.map((f) => f.name), where);
  requireColumns(table, DATASET_COLUMNS, where);
  const blockType = column(table, 'block_type', where);
  const reductionPrev = column(table, 'reduction_prev', where);
  const [cPrevPrev, cIn, c, hw, batch, latency] = ['c_prev_prev', 'c_in', 'c', 'hw', 'batch', 'latency_ms'].map((name) => numbers(table, name, where));
  const probColumns = Array.from({ length: edges }, (_, e) => ops.map((op) => numbers(table, probColumnName(e, op), where))).flat();
  const rows: CellRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const type = blockType.get(i);
    if (type !== 'normal' && type !== 'reduction') {
      throw new UserError(`${where}: block_type row ${i} is '${type}'; it must be 'normal' or 'reduction'.`);
    }
    if (latency[i] <= 0) throw new UserError(`${where}: latency_ms row ${i} is ${latency[i]}; latencies must be positive.`);
    rows.push({
      blockType: type,
      reductionPrev: Boolean(reductionPrev.get(i)),
      cPrevPrev: cPrevPrev[i],
      cIn: cIn[i],
      c: c[i],
      hw: hw[i],
      batch: batch[i],
      probs: Float32Array.from(probColumns, (col) => col[i]),
      latencyMs: latency[i],
    });
  }
  return { rows, ops, edges };
}

/** The rows `indices` of `table`, every column with its type and the schema metadata kept. */
export function takeRows(table: Table, indices: readonly number[]): Table {
  const columns: Record<string, Vector> = {};
  for (const field of table.schema.fields) {
    const source = table.getChild(field.name)!;
    columns[field.name] = vectorFromArray(indices.map((i) => source.get(i)), field.type);
  }
  const taken = new Table(columns);
  return new Table(new Schema(taken.schema.fields, table.schema.metadata), taken.batches);
}
