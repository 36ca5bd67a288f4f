import { z } from 'zod';
import { CELL_KINDS, type CellKind, type CellShape } from '@lenna/nn';

// nn owns the cell as a network builds it (the one CellShape type, the layout of a network's cells,
// the edge numbering and how a search or an eval cell is built); this package re-exports them so a
// stage finds the cell's whole vocabulary here.
export { cellEdges, cellShapes, edgeCount, nodesForEdges, CELL_KINDS, type CellKind, type CellShape, type IndexedCellShape } from '@lenna/nn';

/**
 * A cell at one batch size, built as the search network (`kind: 'search'`) or the evaluation network
 * (`'eval'`) builds it: what a dataset row measured, and what the latency model is asked about.
 */
export type BatchedCellShape = CellShape & { batch: number; kind: CellKind };

/**
 * A cell with its op probabilities, flattened edge-major ([edge][op] → edge * ops + op), and the
 * additive op-table estimate of its latency under them (a model input).
 */
export type CellFeatures = BatchedCellShape & { probs: ArrayLike<number>; additiveMs: number };

/** One dataset row as the transforms see it. */
export type CellRow = CellFeatures & { latencyMs: number };

const positiveInt = z.number().int().positive();

/** A cell shape a user writes (e.g. dataset-gen's `shapes` param): nn's field names, batch required. */
export const cellShapeSchema = z
  .object({
    reduction: z.boolean(),
    reductionPrev: z.boolean(),
    cPrevPrev: positiveInt,
    cPrev: positiveInt,
    c: positiveInt,
    /** Spatial size of the cell's input s1 (s0 is twice as large when reductionPrev). */
    hw: positiveInt,
    batch: positiveInt,
    /** How the cell is built: as the search network's (default) or the evaluation network's cells. */
    kind: z.enum(CELL_KINDS as [CellKind, ...CellKind[]]).default('search'),
  })
  .strict() satisfies z.ZodType<BatchedCellShape>;

/** [edges][ops] → flat edge-major, checking the matrix is the size the model expects. */
export function flattenProbs(probs: readonly (readonly number[])[], edges: number, ops: number): Float32Array {
  if (probs.length !== edges || probs.some((row) => row.length !== ops)) {
    throw new Error(`Probabilities must be a ${edges} x ${ops} matrix (edges x ops), got ${probs.length} x ${probs[0]?.length ?? 0}.`);
  }
  const flat = new Float32Array(edges * ops);
  probs.forEach((row, e) => flat.set(row, e * ops));
  return flat;
}
