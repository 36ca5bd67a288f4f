import * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { cellEdges, createPreprocess, edgeStride, runCell } from './cell.js';
import { UserError } from './errors.js';
import type { Layer } from './layers.js';
import { createOp, isOpName, type OpName } from './ops.js';
import { createParamStore, disposeStore, ParamBuilder } from './params.js';
import { nodesForEdges, type CellKind, type CellShape } from './shapes.js';

export interface DiscreteCell {
  /** NHWC shapes of s0 and s1 (s0 is twice as large after a reduction cell). */
  inputShapes: [number[], number[]];
  /** Output [N, h, w, nodes·c] for inputs of inputShapes. */
  forward(s0: tf.Tensor4D, s1: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor4D;
  paramCount: number;
  /** Multiply-accumulates per sample. */
  macs: number;
  dispose(): void;
}

/** The NHWC shapes of a cell's two inputs. */
export function cellInputShapes(shape: CellShape): [number[], number[]] {
  const n = shape.batch ?? 1;
  const hw0 = shape.reductionPrev ? 2 * shape.hw : shape.hw;
  return [
    [n, hw0, hw0, shape.cPrevPrev],
    [n, shape.hw, shape.hw, shape.cPrev],
  ];
}

/**
 * A single cell with one fixed op per edge (`none` allowed), for latency measurement, built as `kind`
 * says: `search` (default) as the search network's cells, `eval` as the evaluation network's (with a
 * genotype's choice, two edges per node, it runs the very layers an eval network cell runs). The number
 * of nodes follows from the number of edges.
 */
export function createDiscreteCell(shape: CellShape, choice: readonly OpName[], seed: number, kind: CellKind = 'search'): DiscreteCell {
  const nodes = nodesForEdges(choice.length);
  for (const op of choice) if (!isOpName(op)) throw new UserError(`Unknown op "${op}" in a cell choice.`);
  const store = createParamStore();
  const pb = new ParamBuilder(store, createRng(seed));
  const affine = kind === 'eval';
  const pre = createPreprocess(pb, shape, affine);
  const ops: (Layer | null)[] = cellEdges(nodes).map(({ from }, e) => {
    const name = choice[e];
    if (name === 'none') return null;
    return createOp(pb.child('edges').child(e).child('ops').child(name), name, { c: shape.c, stride: edgeStride(shape, from), affine, poolBatchNorm: !affine });
  });
  const concat = Array.from({ length: nodes }, (_, i) => i + 2);
  const inputShapes = cellInputShapes(shape);
  let paramCount = 0;
  for (const v of store.weights.values()) paramCount += v.size;
  return {
    inputShapes,
    forward: (s0, s1, opts = {}) =>
      tf.tidy(() =>
        runCell(pre, shape.reduction, nodes, concat, s0, s1, { training: opts.training ?? false }, (e, _from, h) => {
          const op = ops[e];
          return op ? op.apply(h, { training: opts.training ?? false }) : null;
        }),
      ),
    paramCount,
    macs: discreteMacs(shape, pre, ops, nodes),
    dispose: () => disposeStore(store),
  };
}

function discreteMacs(shape: CellShape, pre: [Layer, Layer], ops: (Layer | null)[], nodes: number): number {
  const hw0 = shape.reductionPrev ? 2 * shape.hw : shape.hw;
  let total = pre[0].macs(hw0, hw0).macs + pre[1].macs(shape.hw, shape.hw).macs;
  cellEdges(nodes).forEach(({ from }, e) => {
    const size = from >= 2 && shape.reduction ? shape.hw / 2 : shape.hw;
    total += ops[e]?.macs(size, size).macs ?? 0;
  });
  return total;
}

/** What compute's measureExpectedLatency builds and times: `run` returns the cell's output. */
export interface CellRunnable {
  run: () => tf.Tensor;
  dispose: () => void;
}

export interface SampledCells {
  /** Pass as measureExpectedLatency's `build`: `choice[e]` indexes the op set. */
  build: (choice: number[]) => CellRunnable;
  /** Frees the shared inputs. */
  dispose: () => void;
}

/**
 * Builds sampled cells of one shape for latency measurement: inputs are drawn once from `seed`,
 * each build makes the sampled cell (weights from `seed` too, built as `opts.kind`, default search) and its runnable.
 */
export function sampledCells(shape: CellShape, ops: readonly OpName[], seed: number, opts: { training?: boolean; kind?: CellKind } = {}): SampledCells {
  const [shape0, shape1] = cellInputShapes(shape);
  const rng = createRng(seed);
  const draw = (s: number[]) => tf.tensor4d(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()), s as [number, number, number, number]);
  const s0 = draw(shape0);
  const s1 = draw(shape1);
  const build = (choice: number[]): CellRunnable => {
    const names = choice.map((k) => {
      if (!Number.isInteger(k) || k < 0 || k >= ops.length) throw new Error(`Choice index ${k} is outside the op set of ${ops.length} ops.`);
      return ops[k];
    });
    const cell = createDiscreteCell(shape, names, seed, opts.kind);
    return { run: () => cell.forward(s0, s1, { training: opts.training }), dispose: () => cell.dispose() };
  };
  return { build, dispose: () => tf.dispose([s0, s1]) };
}
