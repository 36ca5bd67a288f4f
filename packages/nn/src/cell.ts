import * as tf from '@tensorflow/tfjs';
import type { ForwardContext, Layer } from './layers.js';
import { createOp, factorizedReduce, reluConvBn, type OpName } from './ops.js';
import type { ParamBuilder } from './params.js';
import type { CellShape } from './shapes.js';

/** The two input preprocessors: factorized reduce for s0 after a reduction cell, else ReLU-Conv1×1-BN. */
export function createPreprocess(pb: ParamBuilder, shape: CellShape, affine: boolean): [Layer, Layer] {
  const pre0 = shape.reductionPrev
    ? factorizedReduce(pb.child('pre0'), shape.cPrevPrev, shape.c, affine)
    : reluConvBn(pb.child('pre0'), shape.cPrevPrev, shape.c, affine);
  const pre1 = reluConvBn(pb.child('pre1'), shape.cPrev, shape.c, affine);
  return [pre0, pre1];
}

/** Edge e of node i connects predecessor j; edges are numbered node by node, predecessor by predecessor. */
export function cellEdges(nodes: number): { node: number; from: number }[] {
  const edges: { node: number; from: number }[] = [];
  for (let node = 0; node < nodes; node++) for (let from = 0; from < node + 2; from++) edges.push({ node, from });
  return edges;
}

/** Spatial size of the state an edge reads: nodes of a reduction cell are already halved. */
export function edgeInputSize(shape: CellShape, from: number): number {
  return from >= 2 && shape.reduction ? shape.hw / 2 : shape.hw;
}

export function edgeStride(shape: CellShape, from: number): number {
  return shape.reduction && from < 2 ? 2 : 1;
}

/**
 * Runs a cell's graph: preprocess the inputs, each node sums its incoming edges, the output
 * concatenates the last `multiplier` nodes on channels. `edge(e, h)` computes edge e on state h.
 */
export function runCell(
  pre: [Layer, Layer],
  reduction: boolean,
  nodes: number,
  concat: number[],
  s0: tf.Tensor4D,
  s1: tf.Tensor4D,
  ctx: ForwardContext,
  edge: (e: number, from: number, h: tf.Tensor4D) => tf.Tensor4D | null,
): tf.Tensor4D {
  const states = [pre[0].apply(s0, ctx), pre[1].apply(s1, ctx)];
  let e = 0;
  for (let node = 0; node < nodes; node++) {
    const terms: tf.Tensor4D[] = [];
    for (let from = 0; from < node + 2; from++, e++) {
      const t = edge(e, from, states[from]);
      if (t) terms.push(t);
    }
    states.push(terms.length > 0 ? (tf.addN(terms) as tf.Tensor4D) : zeroNode(states[1], reduction));
  }
  return tf.concat(concat.map((i) => states[i]), 3);
}

// A node whose every edge is `none` is zero, at the cell's output size.
function zeroNode(s1: tf.Tensor4D, reduction: boolean): tf.Tensor4D {
  const [n, h, w, c] = s1.shape;
  return reduction ? tf.zeros([n, Math.ceil(h / 2), Math.ceil(w / 2), c]) : tf.zerosLike(s1);
}

export interface MixedEdge {
  ops: Layer[];
  /** Position of each op in the op set (`none` has no layer and is skipped in the sum). */
  opIndex: number[];
}

/** One mixed op per edge: all ops of the set except `none`, built at the edge's stride. */
export function createMixedEdges(pb: ParamBuilder, shape: CellShape, nodes: number, opSet: readonly OpName[]): MixedEdge[] {
  return cellEdges(nodes).map(({ from }, e) => {
    const edgePb = pb.child('edges').child(e).child('ops');
    const stride = edgeStride(shape, from);
    const ops: Layer[] = [];
    const opIndex: number[] = [];
    opSet.forEach((name, k) => {
      if (name === 'none') return;
      ops.push(createOp(edgePb.child(name), name, { c: shape.c, stride, affine: false, poolBatchNorm: true }));
      opIndex.push(k);
    });
    return { ops, opIndex };
  });
}

/** Σ_k w_k·op_k(h) with w = softmax(α) row of this edge, kept in the graph for ∂/∂α. */
export function applyMixedEdge(edge: MixedEdge, weights: tf.Tensor[], h: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D | null {
  if (edge.ops.length === 0) return null;
  const terms = edge.ops.map((op, i) => op.apply(h, ctx, weights[edge.opIndex[i]]));
  return tf.addN(terms) as tf.Tensor4D;
}
