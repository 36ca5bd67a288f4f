import { Bool, Field, Float32, Float64, Int32, Schema, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import type { CellShape } from './params.js';
import type { RowPlan } from './sampling.js';

/** `p_e<edge>_<op>`: the probability of `op` on `edge` (DARTS edge order). */
export function probColumnName(edge: number, op: string): string {
  return `p_e${edge}_${op}`;
}

export function probColumnNames(edges: number, ops: readonly string[]): string[] {
  const names: string[] = [];
  for (let e = 0; e < edges; e++) for (const op of ops) names.push(probColumnName(e, op));
  return names;
}

/** What measuring one row produced: kept in the resume log, so everything here must be plain JSON. */
export interface MeasuredRow {
  index: number;
  latencyMs: number;
  resets: number;
  converged: boolean;
  cv: number;
}

/** A finished row: its plan, its shape, its measurement and the additive estimate. */
export interface DatasetRow {
  plan: RowPlan;
  shape: CellShape;
  measured: MeasuredRow;
  lutLatencyMs: number;
}

/** Schema metadata key holding the op order of the `p_` columns as a JSON list. */
export const OPS_METADATA_KEY = 'lenna.ops';

/** The `dataset` output table; column names and types are the interface preprocess reads. */
export function datasetTable(rows: readonly DatasetRow[], ops: readonly string[], edges: number): Table {
  const col = <T>(f: (r: DatasetRow) => T) => rows.map(f);
  const columns: Record<string, Vector> = {
    block_type: vectorFromArray(col((r) => (r.shape.reduction ? 'reduction' : 'normal')), new Utf8()),
    reduction_prev: vectorFromArray(col((r) => r.shape.reductionPrev), new Bool()),
    c_prev_prev: vectorFromArray(col((r) => r.shape.cPrevPrev), new Int32()),
    c_in: vectorFromArray(col((r) => r.shape.cPrev), new Int32()),
    c: vectorFromArray(col((r) => r.shape.c), new Int32()),
    hw: vectorFromArray(col((r) => r.shape.hw), new Int32()),
    batch: vectorFromArray(col((r) => r.shape.batch), new Int32()),
  };
  for (let e = 0; e < edges; e++) {
    ops.forEach((op, o) => {
      columns[probColumnName(e, op)] = vectorFromArray(col((r) => r.plan.probs[e][o]), new Float32());
    });
  }
  Object.assign(columns, {
    latency_ms: vectorFromArray(col((r) => r.measured.latencyMs), new Float64()),
    lut_latency_ms: vectorFromArray(col((r) => r.lutLatencyMs), new Float64()),
    resets: vectorFromArray(col((r) => r.measured.resets), new Int32()),
    converged: vectorFromArray(col((r) => r.measured.converged), new Bool()),
    cv: vectorFromArray(col((r) => r.measured.cv), new Float64()),
    one_hot: vectorFromArray(col((r) => r.plan.oneHot), new Bool()),
    radius: vectorFromArray(col((r) => r.plan.radius), new Float64()),
  });
  const table = new Table(columns);
  return withMetadata(table, { [OPS_METADATA_KEY]: JSON.stringify(ops) });
}

export function withMetadata(table: Table, meta: Record<string, string>): Table {
  const merged = new Map(table.schema.metadata);
  for (const [k, v] of Object.entries(meta)) merged.set(k, v);
  return new Table(new Schema(table.schema.fields as Field[], merged), table.batches);
}
