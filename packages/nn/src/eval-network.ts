import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed, type Rng } from '@lenna/core';
import { createPreprocess, edgeStride } from './cell.js';
import { UserError } from './errors.js';
import { parseGenotype, type Genotype } from './genotype.js';
import { batchNormLayer, convLayer, outSize, reluLayer, sequence, type ForwardContext, type Layer } from './layers.js';
import { createOp, identityLayer, type OpName } from './ops.js';
import { createParamStore, disposeStore, ParamBuilder, varsUnder, type ParamStore } from './params.js';
import { DEFAULT_TAPE_BUDGET_BYTES, segmentedGradients, tapedTailCells } from './segmented-grads.js';
import { cellShapes, type IndexedCellShape } from './shapes.js';
import { createClassifier, createStem, type Classifier } from './stem.js';

export interface EvalNetworkConfig {
  genotype: Genotype;
  C: number;
  layers: number;
  numClasses: number;
  inputChannels: number;
  inputSize: number;
  /** Auxiliary classifier on the output of cell 2·layers/3 (default false). */
  auxiliary?: boolean;
  seed: number;
  stemMultiplier?: number;
}

export interface EvalForwardOptions {
  training: boolean;
  /** Drop-path probability for this step (see dropPathRamp); only used in training. */
  dropPathProb?: number;
  /** Stream for the drop-path masks (default: the network's own, seeded from its seed). */
  rng?: Rng;
}

export interface EvalGradientOptions {
  dropPathProb?: number;
  /** Stream for the drop-path masks (default: the network's dropPathRng). */
  rng?: Rng;
  /**
   * Estimated tape memory the trailing cells may use to run once under the backward pass's tape
   * instead of twice (as the supernet's, counting each op as an edge); 0 recomputes every cell. Default 1.5 GB.
   */
  tapeBudgetBytes?: number;
}

export interface EvalNetwork {
  kind: 'eval';
  config: Required<EvalNetworkConfig>;
  shapes: IndexedCellShape[];
  weights: tf.Variable[];
  store: ParamStore;
  /** The network's own drop-path mask stream (seeded from its seed); a checkpoint saves its state. */
  dropPathRng: Rng;
  /** logitsAux is present in training when the network has an auxiliary head. */
  forward(x: tf.Tensor4D, opts: EvalForwardOptions): { logits: tf.Tensor2D; logitsAux?: tf.Tensor2D };
  /**
   * Training-mode loss and gradients of all weights, backpropagated one cell at a time as the
   * supernet's (a recomputed cell reuses its drop-path masks), so memory holds one cell's tape
   * beyond the taped tail. `loss` gets the auxiliary logits when the network has the head; it runs
   * once. Caller disposes the grads.
   */
  gradients(x: tf.Tensor4D, loss: (logits: tf.Tensor2D, logitsAux?: tf.Tensor2D) => tf.Scalar, opts?: EvalGradientOptions): { loss: number; grads: tf.NamedTensorMap };
  macs(): number;
  dispose(): void;
}

/** DARTS's schedule: the drop-path probability grows linearly from 0 to `maxProb` over training. */
export function dropPathRamp(maxProb: number, epoch: number, epochs: number): number {
  return (maxProb * epoch) / epochs;
}

/** Cell shapes of the evaluation network: each cell outputs len(concat) nodes of its type. */
export function evalCellShapes(config: Omit<EvalNetworkConfig, 'seed' | 'numClasses' | 'inputChannels'> & { batch?: number }): IndexedCellShape[] {
  const g = config.genotype;
  if (g.normal.length !== g.reduce.length) {
    throw new UserError(`genotype has ${g.normal.length / 2} normal and ${g.reduce.length / 2} reduction nodes; both cells need the same node count.`);
  }
  return cellShapes({
    C: config.C,
    layers: config.layers,
    nodes: g.normal.length / 2,
    multiplier: g.normal_concat.length,
    reduceMultiplier: g.reduce_concat.length,
    inputSize: config.inputSize,
    stemMultiplier: config.stemMultiplier,
    batch: config.batch,
  });
}

interface EvalCell {
  shape: IndexedCellShape;
  pre: [Layer, Layer];
  ops: Layer[];
  inputs: number[];
  identity: boolean[];
  concat: number[];
}

export function createEvalNetwork(userConfig: EvalNetworkConfig): EvalNetwork {
  const genotype = parseGenotype(userConfig.genotype);
  const config = { ...userConfig, genotype, auxiliary: userConfig.auxiliary ?? false, stemMultiplier: userConfig.stemMultiplier ?? 3 };
  const shapes = evalCellShapes(config);
  const store = createParamStore();
  const root = new ParamBuilder(store, createRng(config.seed));
  const stem = createStem(root.child('stem'), config.inputChannels, config.stemMultiplier * config.C);
  const cells = shapes.map((shape) => createEvalCell(root.child('cells').child(shape.index), shape, genotype));
  const auxAt = Math.floor((2 * config.layers) / 3);
  const auxShape = shapes[Math.min(auxAt, shapes.length - 1)];
  const auxHw = auxShape.reduction ? auxShape.hw / 2 : auxShape.hw;
  const auxiliary = config.auxiliary
    ? createAuxiliaryHead(root.child('auxiliary'), cellOutChannels(cells[auxShape.index]), auxHw, config.numClasses)
    : undefined;
  const lastOut = cellOutChannels(cells[cells.length - 1]);
  const classifier = createClassifier(root.child('classifier'), lastOut, config.numClasses);
  const dropRng = createRng(deriveSeed(config.seed, 'drop-path'));

  const forward = (x: tf.Tensor4D, opts: EvalForwardOptions) => {
    const ctx = { training: opts.training, relus: new Map() };
    const drop = opts.training ? (opts.dropPathProb ?? 0) : 0;
    let logitsAux: tf.Tensor2D | undefined;
    const logits = tf.tidy(() => {
      let s0 = stem.apply(x, ctx);
      let s1 = s0;
      cells.forEach((cell, i) => {
        [s0, s1] = [s1, applyEvalCell(cell, s0, s1, ctx, drop, opts.rng ?? dropRng)];
        if (i === auxAt && auxiliary && opts.training) logitsAux = tf.keep(auxiliary.apply(s1, ctx));
      });
      return classifier.apply(s1);
    });
    return logitsAux ? { logits, logitsAux } : { logits };
  };

  const gradients = (x: tf.Tensor4D, loss: (logits: tf.Tensor2D, logitsAux?: tf.Tensor2D) => tf.Scalar, opts: EvalGradientOptions = {}) => {
    const drop = opts.dropPathProb ?? 0;
    const source = opts.rng ?? dropRng;
    const last = cells.length - 1;
    const segmented = {
      stem: { run: (x: tf.Tensor4D, ctx: ForwardContext) => stem.apply(x, ctx), vars: varsUnder(store, 'stem.') },
      cells: cells.map((cell, i) => {
        const draws: number[] = [];
        return {
          run: (s0: tf.Tensor4D, s1: tf.Tensor4D, ctx: ForwardContext, recompute: boolean) => {
            let at = 0;
            const next = recompute ? () => draws[at++] : () => (draws.push(source.next()), draws[draws.length - 1]);
            return applyEvalCell(cell, s0, s1, ctx, drop, { next });
          },
          vars: varsUnder(store, `cells.${i}.`),
        };
      }),
      head: {
        reads: auxiliary ? [last, auxAt] : [last],
        run: (outs: tf.Tensor4D[], ctx: ForwardContext) => loss(classifier.apply(outs[last]), auxiliary?.apply(outs[auxAt], ctx)),
        vars: [...varsUnder(store, 'classifier.'), ...(auxiliary ? varsUnder(store, 'auxiliary.') : [])],
      },
    };
    const tail = tapedTailCells(shapes, x.shape[0], genotype.normal.length, opts.tapeBudgetBytes ?? DEFAULT_TAPE_BUDGET_BYTES);
    const r = segmentedGradients(segmented, x, true, tail);
    return { loss: r.loss, grads: r.grads };
  };

  return {
    kind: 'eval',
    config,
    shapes,
    weights: Array.from(store.weights.values()),
    store,
    dropPathRng: dropRng,
    forward,
    gradients,
    macs: () => evalMacs(config.inputSize, stem, cells, classifier),
    dispose: () => disposeStore(store),
  };
}

function createEvalCell(pb: ParamBuilder, shape: IndexedCellShape, g: Genotype): EvalCell {
  const gene = shape.reduction ? g.reduce : g.normal;
  const concat = shape.reduction ? g.reduce_concat : g.normal_concat;
  const pre = createPreprocess(pb, shape, true);
  const ops = gene.map(([name, from], j) => {
    const stride = edgeStride(shape, from);
    return createOp(pb.child('ops').child(j).child(name), name as OpName, { c: shape.c, stride, affine: true, poolBatchNorm: false });
  });
  return { shape, pre, ops, inputs: gene.map(([, from]) => from), identity: ops.map((op) => op === identityLayer), concat };
}

function cellOutChannels(cell: EvalCell): number {
  return cell.concat.length * cell.shape.c;
}

function applyEvalCell(cell: EvalCell, s0: tf.Tensor4D, s1: tf.Tensor4D, ctx: ForwardContext, drop: number, rng: Pick<Rng, 'next'>): tf.Tensor4D {
  const states = [cell.pre[0].apply(s0, ctx), cell.pre[1].apply(s1, ctx)];
  for (let j = 0; j < cell.ops.length; j += 2) {
    const terms = [j, j + 1].map((k) => {
      const h = cell.ops[k].apply(states[cell.inputs[k]], ctx);
      return drop > 0 && !cell.identity[k] ? dropPath(h, drop, rng) : h;
    });
    states.push(tf.add(terms[0], terms[1]));
  }
  return tf.concat(cell.concat.map((i) => states[i]), 3);
}

/** Zeroes whole samples with probability p and scales the rest by 1/(1-p); the mask comes from the seeded stream. */
export function dropPath(x: tf.Tensor4D, p: number, rng: Pick<Rng, 'next'>): tf.Tensor4D {
  const keep = 1 - p;
  const n = x.shape[0];
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor4d(mask, [n, 1, 1, 1]));
}

/**
 * DARTS's CIFAR auxiliary head: ReLU, 5×5 average pool at stride 3 (no padding), 1×1 conv to 128,
 * BN, ReLU, a conv to 768 whose kernel covers the pooled map (2×2 for CIFAR's 8×8), BN, ReLU, linear.
 */
interface AuxiliaryHead {
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
}

function createAuxiliaryHead(pb: ParamBuilder, cin: number, hw: number, classes: number): AuxiliaryHead {
  if (hw < 5) throw new UserError(`auxiliary head needs a map of at least 5×5 where it attaches, got ${hw}×${hw}; use a larger inputSize or auxiliary: false.`);
  const pooled = outSize(hw, 5, 3, 0);
  const body = sequence([
    reluLayer,
    { apply: (x) => tf.avgPool(x, 5, 3, 'valid'), macs: (h, w) => ({ macs: 0, h: outSize(h, 5, 3, 0), w: outSize(w, 5, 3, 0) }) },
    convLayer(pb, 'conv1', { cin, cout: 128, k: 1, stride: 1, pad: 0 }),
    batchNormLayer(pb, 'bn1', 128, true),
    reluLayer,
    convLayer(pb, 'conv2', { cin: 128, cout: 768, k: pooled, stride: 1, pad: 0 }),
    batchNormLayer(pb, 'bn2', 768, true),
    reluLayer,
  ]);
  const classifier = createClassifier(pb.child('classifier'), 768, classes);
  return { apply: (x, ctx) => classifier.apply(body.apply(x, ctx)) };
}

function evalMacs(inputSize: number, stem: Layer, cells: EvalCell[], classifier: Classifier): number {
  let total = stem.macs(inputSize, inputSize).macs + classifier.macs;
  for (const cell of cells) {
    const { hw, reductionPrev, reduction } = cell.shape;
    const hw0 = reductionPrev ? 2 * hw : hw;
    total += cell.pre[0].macs(hw0, hw0).macs + cell.pre[1].macs(hw, hw).macs;
    cell.ops.forEach((op, k) => {
      const size = cell.inputs[k] >= 2 && reduction ? hw / 2 : hw;
      total += op.macs(size, size).macs;
    });
  }
  return total;
}
