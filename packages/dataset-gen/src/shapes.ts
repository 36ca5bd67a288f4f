import { cellEdges, cellShapes, shapeKey, type BatchedCellShape, type CellKind } from '@lenna/latency-model';
import type { DatasetGenParams } from './params.js';
import type { OpSite } from '@lenna/measure-target';
import { PREPROCESS_FACTORIZED_REDUCE, PREPROCESS_RELU_CONV_BN } from './ops.js';

/** Spatial size after a stride-2 op with 'same'-style padding (what DARTS's ops produce). */
export function halved(hw: number): number {
  return Math.ceil(hw / 2);
}

/** What one op on one edge sees, the key of the op lookup table (op, stride, channels, input size, batch, kind): measure-target's op site. */
export type { OpSite };

/** Stride and input size of each edge of a cell of this shape (edges in nn's order). */
export function edgeSites(shape: BatchedCellShape, nodes: number): { stride: number; hw: number }[] {
  return cellEdges(nodes).map(({ from }) => {
    const fromInput = from < 2;
    if (!shape.reduction) return { stride: 1, hw: shape.hw };
    return fromInput ? { stride: 2, hw: shape.hw } : { stride: 1, hw: halved(shape.hw) };
  });
}

/** The two preprocessing ops of a cell: s0 (factorized reduce after a reduction cell) and s1. */
export function preprocessSites(shape: BatchedCellShape): [OpSite, OpSite] {
  const { batch, c, kind } = shape;
  const s0: OpSite = shape.reductionPrev
    ? { op: PREPROCESS_FACTORIZED_REDUCE, stride: 2, cIn: shape.cPrevPrev, c, hw: 2 * shape.hw, batch, kind }
    : { op: PREPROCESS_RELU_CONV_BN, stride: 1, cIn: shape.cPrevPrev, c, hw: shape.hw, batch, kind };
  const s1: OpSite = { op: PREPROCESS_RELU_CONV_BN, stride: 1, cIn: shape.cPrev, c, hw: shape.hw, batch, kind };
  return [s0, s1];
}

/** Every cell of a network, as @lenna/nn lays it out (the shapes the search and retraining will ask about), of one kind. */
export function networkCellShapes(net: { C: number; layers: number; hw: number; batch: number }, nodes: number, kind: CellKind): BatchedCellShape[] {
  return cellShapes({ C: net.C, layers: net.layers, nodes, inputSize: net.hw }).map(({ index: _index, ...shape }) => ({ ...shape, batch: net.batch, kind }));
}

/** Cells with equal shapes share rows: keep the first of each, in order. */
export function dedupeShapes(shapes: BatchedCellShape[]): BatchedCellShape[] {
  const seen = new Set<string>();
  return shapes.filter((s) => {
    const key = shapeKey(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The shapes a run measures: the explicit list, or every cell of the search network (search cells)
 * and of the evaluation network (eval cells). A geometry both networks have is measured once per kind.
 */
export function plannedShapes(params: Pick<DatasetGenParams, 'shapes' | 'search' | 'eval' | 'nodes'>): BatchedCellShape[] {
  if (params.shapes) return dedupeShapes(params.shapes);
  const search = networkCellShapes(params.search, params.nodes, 'search');
  const evaluation = networkCellShapes(params.eval, params.nodes, 'eval');
  return dedupeShapes([...search, ...evaluation]);
}
