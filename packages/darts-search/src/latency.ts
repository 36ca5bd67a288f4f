import * as tf from '@tensorflow/tfjs';
import { UserError } from '@lenna/core';
import { edgeCount, requireTrainedShapes, type BatchedCellShape, type CellKind, type CellShape, type LatencyModel } from '@lenna/latency-model';

/** The latency model's questions about one network: one query per cell, at the model's batch size. */
export interface LatencyTerm {
  queries: BatchedCellShape[];
  /** Where each query's α comes from. */
  reduction: boolean[];
  /** E[lat] in ms: Σ over cells of the model's latency under softmax(α) (differentiable in α). */
  expected(alphaNormal: tf.Tensor, alphaReduce: tf.Tensor): tf.Scalar;
  /** The same for fixed probabilities (a genotype's one-hot matrices). */
  expectedForProbs(normal: number[][], reduce: number[][]): number;
}

/**
 * Column j of the model's probability matrix is the search's op `order[j]`: the model must know
 * exactly the search's ops (in any order) on as many edges as the search's cells have.
 */
export function modelColumnOrder(modelOps: readonly string[], modelEdges: number, searchOps: readonly string[], nodes: number): number[] {
  const sameSet = modelOps.length === searchOps.length && modelOps.every((op) => searchOps.includes(op));
  if (!sameSet) {
    throw new UserError(
      `The latency model knows the ops [${modelOps.join(', ')}] but the search uses [${searchOps.join(', ')}]; set darts-search's ops to the model's list or train a predictor on the search's op set.`,
    );
  }
  if (modelEdges !== edgeCount(nodes)) {
    throw new UserError(`The latency model is for cells with ${modelEdges} edges, but nodes ${nodes} gives ${edgeCount(nodes)}; set nodes to match the predictor's data set.`);
  }
  return modelOps.map((op) => searchOps.indexOf(op));
}

/**
 * The search asks the model about its network's cells as search cells, at `batch`; a shape the model
 * was not trained on is a UserError naming it unless `allowExtrapolation`.
 */
export function createLatencyTerm(
  model: LatencyModel,
  shapes: CellShape[],
  searchOps: readonly string[],
  nodes: number,
  batch: number,
  { allowExtrapolation = false, kind = 'search' }: { allowExtrapolation?: boolean; kind?: CellKind } = {},
): LatencyTerm {
  const order = modelColumnOrder(model.ops, model.edges, searchOps, nodes);
  const identity = order.every((j, i) => j === i);
  const toModel = (probs: tf.Tensor2D): tf.Tensor2D => (identity ? probs : tf.gather(probs, order, 1));
  const queries: BatchedCellShape[] = shapes.map((s) => ({ ...s, batch, kind }));
  requireTrainedShapes(model, queries, {
    allowExtrapolation,
    asker: 'darts-search',
    fix:
      kind === 'eval'
        ? "measure it with dataset-gen (set its eval network to this search's latencyNetwork C and layers, input size and batch)"
        : "measure it with dataset-gen (set its search network to this search's C, layers, input size and batch)",
  });
  const reduction = shapes.map((s) => s.reduction);
  /** Σ over the cells of the model's latency, each cell at its type's op probabilities (in the search's op order). */
  const sum = (normal: tf.Tensor2D, reduce: tf.Tensor2D): tf.Scalar => {
    const [pn, pr] = [toModel(normal), toModel(reduce)];
    return tf.addN(queries.map((q, i) => model.predictTensor(q, reduction[i] ? pr : pn))) as tf.Scalar;
  };
  return {
    queries,
    reduction,
    expected(alphaNormal, alphaReduce) {
      return tf.tidy(() => sum(tf.softmax(alphaNormal) as tf.Tensor2D, tf.softmax(alphaReduce) as tf.Tensor2D));
    },
    expectedForProbs(normal, reduce) {
      return tf.tidy(() => sum(tf.tensor2d(normal), tf.tensor2d(reduce)).dataSync()[0]);
    },
  };
}
