/** The shape of one DARTS cell: everything about it except the op probabilities. */
export interface CellShape {
  blockType: 'normal' | 'reduction';
  reductionPrev: boolean;
  cPrevPrev: number;
  cIn: number;
  c: number;
  hw: number;
  batch: number;
}

/** A cell with its op probabilities, flattened edge-major ([edge][op] → edge * ops + op). */
export interface CellFeatures extends CellShape {
  probs: ArrayLike<number>;
}

/** One dataset row as the transforms see it. */
export interface CellRow extends CellFeatures {
  latencyMs: number;
}

/** The numeric shape columns, in feature order, with the dataset column each comes from. */
export const NUMERIC_SHAPE_COLUMNS = [
  { key: 'cPrevPrev', column: 'c_prev_prev' },
  { key: 'cIn', column: 'c_in' },
  { key: 'c', column: 'c' },
  { key: 'hw', column: 'hw' },
  { key: 'batch', column: 'batch' },
] as const;

export type NumericShapeColumn = (typeof NUMERIC_SHAPE_COLUMNS)[number]['column'];

/** Rows with equal keys have the same shape (the stratification unit of the split). */
export function shapeKey(shape: CellShape): string {
  return [shape.blockType, shape.reductionPrev, shape.cPrevPrev, shape.cIn, shape.c, shape.hw, shape.batch].join('|');
}

/** [edges][ops] → flat edge-major, checking the matrix is the size the model expects. */
export function flattenProbs(probs: number[][], edges: number, ops: number): Float32Array {
  if (probs.length !== edges || probs.some((row) => row.length !== ops)) {
    throw new Error(`Probabilities must be a ${edges} x ${ops} matrix (edges x ops), got ${probs.length} x ${probs[0]?.length ?? 0}.`);
  }
  const flat = new Float32Array(edges * ops);
  probs.forEach((row, e) => flat.set(row, e * ops));
  return flat;
}
