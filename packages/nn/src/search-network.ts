import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '@lenna/core';
import { applyMixedEdge, cellEdges, createMixedEdges, edgeInputSize, createPreprocess, runCell, type MixedEdge } from './cell.js';
import { UserError } from './errors.js';
import { genotypeFromAlphas, type DeriveOptions, type Genotype } from './genotype.js';
import type { ForwardContext, Layer } from './layers.js';
import { DEFAULT_TAPE_BUDGET_BYTES, segmentedGradients, tapedTailCells } from './segmented-grads.js';
import { DARTS_OPS, isOpName, type OpName } from './ops.js';
import { createParamStore, disposeStore, ParamBuilder, varsUnder, type ParamStore } from './params.js';
import { cellShapes, edgeCount, type IndexedCellShape } from './shapes.js';
import { createClassifier, createStem, type Classifier } from './stem.js';

export interface SearchNetworkConfig {
  C: number;
  layers: number;
  /** Intermediate nodes per cell (default 4). */
  nodes?: number;
  /** The op set, a subset of DARTS_OPS in any order; α's columns follow it (default all 8). */
  ops?: readonly OpName[];
  numClasses: number;
  inputChannels: number;
  /** Square input size, used to check the reductions and to count multiply-accumulates. */
  inputSize: number;
  seed: number;
  stemMultiplier?: number;
}

export interface SearchNetwork {
  kind: 'search';
  config: Required<SearchNetworkConfig>;
  shapes: IndexedCellShape[];
  /** Trainable weights (not α), in creation order. */
  weights: tf.Variable[];
  store: ParamStore;
  alphas: { normal: tf.Variable; reduce: tf.Variable };
  /** Logits [N, classes] for NHWC input; mixed-op weights are softmax(α) inside the graph. */
  forward(x: tf.Tensor4D, opts: { training: boolean }): tf.Tensor2D;
  /**
   * Training-mode loss and gradients, backpropagated one cell at a time (each cell's forward is
   * recomputed during its backward pass), so memory holds one cell's tape instead of the whole
   * supernet's. Gradients are keyed by variable name (what the optimisers take); the caller disposes them.
   */
  gradients(x: tf.Tensor4D, loss: (logits: tf.Tensor2D) => tf.Scalar, wrt: GradientRequest): { loss: number; grads: tf.NamedTensorMap };
  /** The genotype the current α gives (official derivation; `maxSkips`: P-DARTS's skip limit). */
  genotype(opts?: DeriveOptions): Genotype;
  macs(): number;
  dispose(): void;
}

export function resolveSearchConfig(config: SearchNetworkConfig): Required<SearchNetworkConfig> {
  const ops = config.ops ?? DARTS_OPS;
  for (const op of ops) {
    if (!isOpName(op)) throw new UserError(`Unknown op "${op}" in ops; use names from ${DARTS_OPS.join(', ')}.`);
  }
  if (new Set(ops).size !== ops.length) throw new UserError(`ops lists an op twice: ${ops.join(', ')}.`);
  if (ops.filter((o) => o !== 'none').length === 0) throw new UserError('ops needs at least one op other than none.');
  const nodes = config.nodes ?? 4;
  if (!Number.isInteger(nodes) || nodes < 1) throw new UserError(`nodes must be a positive integer, got ${nodes}.`);
  return { ...config, ops, nodes, stemMultiplier: config.stemMultiplier ?? 3 };
}

export function createSearchNetwork(userConfig: SearchNetworkConfig): SearchNetwork {
  const config = resolveSearchConfig(userConfig);
  const shapes = cellShapes({ ...config });
  const store = createParamStore();
  const root = new ParamBuilder(store, createRng(config.seed));
  const stemC = config.stemMultiplier * config.C;
  const stem = createStem(root.child('stem'), config.inputChannels, stemC);
  const cells = shapes.map((shape) => {
    const pb = root.child('cells').child(shape.index);
    return { shape, pre: createPreprocess(pb, shape, false), edges: createMixedEdges(pb, shape, config.nodes, config.ops) };
  });
  const last = shapes[shapes.length - 1];
  const classifier = createClassifier(root.child('classifier'), config.nodes * last.c, config.numClasses);
  const alphas = createAlphas(config);
  const concat = Array.from({ length: config.nodes }, (_, i) => i + 2);

  const k = config.ops.length;
  const runSearchCell = (cell: BuiltCell, s0: tf.Tensor4D, s1: tf.Tensor4D, w: tf.Tensor, ctx: ForwardContext): tf.Tensor4D => {
    const flat = tf.unstack(tf.reshape(w, [-1]));
    return runCell(cell.pre, cell.shape.reduction, config.nodes, concat, s0, s1, ctx, (e, _from, h) =>
      applyMixedEdge(cell.edges[e], flat.slice(e * k, (e + 1) * k), h, ctx),
    );
  };

  const forward = (x: tf.Tensor4D, opts: { training: boolean }): tf.Tensor2D =>
    tf.tidy(() => {
      const ctx: ForwardContext = { training: opts.training, relus: new Map() };
      const w = { normal: tf.softmax(alphas.normal), reduce: tf.softmax(alphas.reduce) };
      let s0 = stem.apply(x, ctx);
      let s1 = s0;
      for (const cell of cells) [s0, s1] = [s1, runSearchCell(cell, s0, s1, cell.shape.reduction ? w.reduce : w.normal, ctx)];
      return classifier.apply(s1);
    });

  const gradients = (x: tf.Tensor4D, loss: (logits: tf.Tensor2D) => tf.Scalar, wrt: GradientRequest) => {
    const w = tf.tidy(() => ({ normal: tf.softmax(alphas.normal), reduce: tf.softmax(alphas.reduce) }));
    const segmented = {
      stem: { run: (x: tf.Tensor4D, ctx: ForwardContext) => stem.apply(x, ctx), vars: varsUnder(store, 'stem.') },
      cells: cells.map((cell) => {
        const wi = cell.shape.reduction ? w.reduce : w.normal;
        return {
          run: (s0: tf.Tensor4D, s1: tf.Tensor4D, ctx: ForwardContext) => runSearchCell(cell, s0, s1, wi, ctx),
          vars: varsUnder(store, `cells.${cell.shape.index}.`),
          extra: wrt.alphas ? wi : undefined,
        };
      }),
      head: { reads: [cells.length - 1], run: (outs: tf.Tensor4D[]) => loss(classifier.apply(outs[outs.length - 1])), vars: varsUnder(store, 'classifier.') },
    };
    const tail = tapedTailCells(shapes, x.shape[0], edgeCount(config.nodes), wrt.tapeBudgetBytes ?? DEFAULT_TAPE_BUDGET_BYTES);
    const r = segmentedGradients(segmented, x, wrt.weights ?? false, tail);
    for (const part of wrt.alphas ? (['normal', 'reduce'] as const) : []) {
      const d = r.extraGrads.get(w[part]);
      if (!d) continue;
      // Through the softmax to α.
      const g = tf.engine().gradients(() => tf.softmax(alphas[part]), [alphas[part]], d, true);
      g.value.dispose();
      d.dispose();
      r.grads[alphas[part].name] = g.grads[0];
    }
    tf.dispose([w.normal, w.reduce]);
    return { loss: r.loss, grads: r.grads };
  };

  return {
    kind: 'search',
    config,
    shapes,
    weights: Array.from(store.weights.values()),
    store,
    alphas,
    forward,
    gradients,
    genotype: (opts) => genotypeFromAlphas(alphas.normal.arraySync() as number[][], alphas.reduce.arraySync() as number[][], config.ops, opts),
    macs: () => searchMacs(config, stem, cells, classifier),
    dispose: () => {
      disposeStore(store);
      alphas.normal.dispose();
      alphas.reduce.dispose();
    },
  };
}

function createAlphas(config: Required<SearchNetworkConfig>): { normal: tf.Variable; reduce: tf.Variable } {
  // α has its own stream, so changing the weights' layout leaves α's initial values alone.
  const rng = createRng(deriveSeed(config.seed, 'alphas'));
  const shape: [number, number] = [edgeCount(config.nodes), config.ops.length];
  const draw = () => {
    const values = new Float32Array(shape[0] * shape[1]);
    for (let i = 0; i < values.length; i++) values[i] = 1e-3 * rng.normal();
    return tf.variable(tf.tensor2d(values, shape), true);
  };
  const normal = draw();
  return { normal, reduce: draw() };
}

export interface GradientRequest {
  weights?: boolean;
  alphas?: boolean;
  /**
   * Estimated tape memory the trailing cells may use to run their forward pass once (under the
   * backward pass's tape) instead of twice; 0 recomputes every cell. Default 1.5 GB, which holds the
   * whole reference supernet (C 8, 5 cells, batch 32) inside wasm's 4 GB.
   */
  tapeBudgetBytes?: number;
}

export interface BuiltCell {
  shape: IndexedCellShape;
  pre: [Layer, Layer];
  edges: MixedEdge[];
}

/** Per-sample MACs of the whole supernet: every op of every mixed edge runs. */
function searchMacs(config: Required<SearchNetworkConfig>, stem: Layer, cells: BuiltCell[], classifier: Classifier): number {
  let total = stem.macs(config.inputSize, config.inputSize).macs + classifier.macs;
  for (const cell of cells) {
    const { hw, reductionPrev } = cell.shape;
    const hw0 = reductionPrev ? 2 * hw : hw;
    total += cell.pre[0].macs(hw0, hw0).macs + cell.pre[1].macs(hw, hw).macs;
    cellEdges(config.nodes).forEach(({ from }, e) => {
      const size = edgeInputSize(cell.shape, from);
      for (const op of cell.edges[e].ops) total += op.macs(size, size).macs;
    });
  }
  return total;
}
