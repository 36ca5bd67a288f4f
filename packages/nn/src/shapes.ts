import { UserError } from './errors.js';

/**
 * The shape of one DARTS cell: everything about it except its ops. The one description of a cell that
 * every package uses (@lenna/latency-model maps it to dataset columns and model features).
 */
export interface CellShape {
  reduction: boolean;
  reductionPrev: boolean;
  /** Channels of the cell's inputs s0 and s1, and of each intermediate node. */
  cPrevPrev: number;
  cPrev: number;
  c: number;
  /** Spatial size of s1 (s0 is twice as large after a reduction cell). */
  hw: number;
  batch?: number;
}

/**
 * How a cell is built: `search` as the search network builds it (non-affine BatchNorm, BatchNorm after
 * pools, the official MixedOp), `eval` as the evaluation network does (affine BatchNorm, bare pools).
 */
export type CellKind = 'search' | 'eval';
export const CELL_KINDS: readonly CellKind[] = ['search', 'eval'];

/** A cell's shape and its position in a network (its parameters live under `cells.<index>`). */
export interface IndexedCellShape extends CellShape {
  index: number;
}

export interface NetworkShapeConfig {
  /** Initial channel count C. */
  C: number;
  layers: number;
  /** Intermediate nodes per cell (default 4). */
  nodes?: number;
  /** Nodes concatenated into a normal cell's output (default all intermediate nodes). */
  multiplier?: number;
  /** The same for reduction cells (default `multiplier`). */
  reduceMultiplier?: number;
  /** Input image size (square). */
  inputSize: number;
  stemMultiplier?: number;
  batch?: number;
}

/** Reduction cells sit at layers/3 and 2·layers/3 (integer division), as in DARTS. */
export function isReductionLayer(i: number, layers: number): boolean {
  return i === Math.floor(layers / 3) || i === Math.floor((2 * layers) / 3);
}

/** Shapes of every cell, in order, for the search and the evaluation network alike. */
export function cellShapes(config: NetworkShapeConfig): IndexedCellShape[] {
  const nodes = config.nodes ?? 4;
  const multiplier = config.multiplier ?? nodes;
  const reduceMultiplier = config.reduceMultiplier ?? multiplier;
  const stemC = (config.stemMultiplier ?? 3) * config.C;
  let [cPrevPrev, cPrev, c] = [stemC, stemC, config.C];
  let hw = config.inputSize;
  let reductionPrev = false;
  const shapes: IndexedCellShape[] = [];
  for (let index = 0; index < config.layers; index++) {
    const reduction = isReductionLayer(index, config.layers);
    if (reduction) {
      c *= 2;
      if (hw % 2 !== 0) {
        throw new UserError(
          `inputSize ${config.inputSize} reaches reduction cell ${index} at an odd size ${hw}; pick an input size divisible by 4 (e.g. 28 or 32).`,
        );
      }
    }
    const shape: IndexedCellShape = { index, reduction, reductionPrev, cPrevPrev, cPrev, c, hw };
    if (config.batch !== undefined) shape.batch = config.batch;
    shapes.push(shape);
    if (reduction) hw /= 2;
    reductionPrev = reduction;
    [cPrevPrev, cPrev] = [cPrev, (reduction ? reduceMultiplier : multiplier) * c];
  }
  return shapes;
}

/** Number of edges of a cell with `nodes` intermediate nodes (2+i predecessors each). */
export function edgeCount(nodes: number): number {
  return (nodes * (nodes + 3)) / 2;
}

/** The inverse of edgeCount; throws if `edges` is not such a count. */
export function nodesForEdges(edges: number): number {
  for (let n = 1; edgeCount(n) <= edges; n++) if (edgeCount(n) === edges) return n;
  throw new UserError(`${edges} edges is not a DARTS cell (a cell with n nodes has n(n+3)/2 edges: 2, 5, 9, 14, ...).`);
}
