import * as tf from '@tensorflow/tfjs';
import { canonicalJson, deriveSeed, sha256Hex, UserError, type ProgressEvent } from '@lenna/core';
import { createBatcher, type Batcher, type BatcherState, type ImageSet } from '@lenna/data';
import {
  cellShapes,
  cosineLr,
  createSearchNetwork,
  createSearchStep,
  loadCheckpoint,
  NonFiniteError,
  saveCheckpoint,
  type ArchTerm,
  type CellShape,
  type Genotype,
  type SearchNetwork,
  type SearchStep,
  type TrainingParts,
} from '@lenna/nn';
import type { LatencyModel } from '@lenna/latency-model';
import { architectureLoss, type LatencyObjective } from './arch-loss.js';
import type { SearchData } from './data.js';
import { describeRow, epochRow, expectedMs } from './epoch-report.js';
import type { HistoryRow } from './history.js';
import { createLatencyTerm, type LatencyTerm } from './latency.js';
import type { DartsSearchParams } from './params.js';

export interface SearchSetup {
  params: DartsSearchParams;
  data: SearchData;
  /** The frozen latency predictor and the batch size to ask it about; absent: no latency term. */
  latency?: { model: LatencyModel; batch: number };
  scratchDir: string;
  progress(event: ProgressEvent): void;
  log(message: string): void;
  signal?: AbortSignal;
}

export interface SearchResult {
  net: SearchNetwork;
  latency?: LatencyTerm;
  genotype: Genotype;
  history: HistoryRow[];
  /** E[lat] (ms) at the initial and the final α; null without a latency model. */
  initialLatencyMs: number | null;
  finalLatencyMs: number | null;
  /** The latency model's latency of `genotype` over the same cells; null without a latency model. */
  genotypeLatencyMs: number | null;
  /** Epochs this call ran (the rest came from the checkpoint). */
  epochsRun: number;
}

interface Loop {
  setup: SearchSetup;
  net: SearchNetwork;
  step: SearchStep;
  latency?: LatencyTerm;
  weights: Batcher;
  arch: Batcher;
  runKey: string;
  reference: number | null;
  history: HistoryRow[];
}

export class SearchInterrupted extends Error {
  constructor(epoch: number, step: number) {
    super(`darts-search was interrupted at epoch ${epoch + 1}, step ${step + 1}; the next run resumes from the last finished epoch.`);
    this.name = 'SearchInterrupted';
  }
}

/** A hash of everything that shapes the run, so a checkpoint of another configuration is never resumed. */
function runKeyOf(setup: SearchSetup): string {
  return sha256Hex(canonicalJson({ params: setup.params, latencyBatch: setup.latency?.batch ?? null, ops: setup.latency?.model.ops ?? null }));
}

/** What a checkpoint holds besides the tensors: the only randomness after initialisation is the batchers'. */
interface SearchState {
  weightsBatcher: BatcherState;
  archBatcher: BatcherState;
  history: HistoryRow[];
  /** L_ref in ms (null without a latency model). */
  reference: number | null;
}

// v3: history rows carry genotype_latency_ms.
const CHECKPOINT_FORMAT = 'lenna-darts-search-checkpoint-v3';

function createNetwork(params: DartsSearchParams, data: SearchData): SearchNetwork {
  return createSearchNetwork({
    C: params.C,
    layers: params.layers,
    nodes: params.nodes,
    ops: params.ops,
    numClasses: data.numClasses,
    inputChannels: data.channels,
    inputSize: data.hw,
    seed: params.seed,
  });
}

/**
 * The cells E[lat] sums over: the search network's, or those of `latencyNetwork` (the evaluation
 * network the genotype will be retrained in) at the search's image size and node count.
 */
export function latencyShapes(params: DartsSearchParams, net: SearchNetwork): CellShape[] {
  const other = params.latencyNetwork;
  return other ? cellShapes({ C: other.C, layers: other.layers, nodes: params.nodes, inputSize: net.config.inputSize }) : net.shapes;
}

/** The latency term of the architecture loss, for nn's step: E[lat](α) joined to CE by the objective. */
function latencyArchTerm(latency: LatencyTerm | undefined, objective: LatencyObjective): ArchTerm | undefined {
  if (!latency || objective.lambda === 0) return undefined;
  return {
    value: (alphas) => latency.expected(alphas.normal, alphas.reduce),
    combine: (ce, expected) => architectureLoss(ce, expected, objective),
  };
}

function setUp(setup: SearchSetup): Loop {
  const { params, data } = setup;
  const net = createNetwork(params, data);
  // latencyNetwork: E[lat] sums over the evaluation network's cells, asked of the model as eval cells.
  const latency = setup.latency
    ? createLatencyTerm(setup.latency.model, latencyShapes(params, net), params.ops, params.nodes, setup.latency.batch, {
        allowExtrapolation: params.allowExtrapolation,
        kind: params.latencyNetwork ? 'eval' : 'search',
      })
    : undefined;
  const reference = expectedMs({ latency, net });
  if (params.latencyLoss === 'multiplicative' && params.lambda > 0 && reference !== null && reference <= 1e-3) {
    throw new UserError(`latencyLoss multiplicative needs E[lat] above 1 µs (log of µs stays positive), but the initial α gives ${reference} ms; use latencyLoss additive.`);
  }
  const objective: LatencyObjective = { lambda: params.lambda, form: params.latencyLoss, beta: params.beta, reference: reference ?? 1, targetMs: params.targetMs };
  const step = createSearchStep(net, {
    order: params.order,
    weightLr: params.lr,
    momentum: params.momentum,
    weightDecay: params.weightDecay,
    gradClip: params.gradClip,
    alphaLr: params.archLr,
    alphaBeta1: params.archBetas[0],
    alphaBeta2: params.archBetas[1],
    alphaWeightDecay: params.archWeightDecay,
    archTerm: latencyArchTerm(latency, objective),
  });
  const batcher = (set: ImageSet, seed: number) => createBatcher(set, { batchSize: params.batchSize, seed, dropLast: true });
  return {
    setup,
    net,
    step,
    latency,
    weights: batcher(data.weights, params.seed),
    arch: batcher(data.arch, deriveSeed(params.seed, 'arch batches')),
    runKey: runKeyOf(setup),
    reference,
    history: [],
  };
}

function trainingParts(loop: Loop): TrainingParts {
  return { net: loop.net, optimizers: { weights: loop.step.weightOptimizer, alphas: loop.step.alphaOptimizer } };
}

async function restore(loop: Loop): Promise<number> {
  const checkpoint = await loadCheckpoint<SearchState>(loop.setup.scratchDir, { format: CHECKPOINT_FORMAT, runKey: loop.runKey }, trainingParts(loop));
  if (!checkpoint) return 0;
  const { epoch, state } = checkpoint;
  loop.weights.setState(state.weightsBatcher);
  loop.arch.setState(state.archBatcher);
  loop.history = state.history;
  loop.setup.log(`resuming darts-search after epoch ${epoch} of ${loop.setup.params.epochs}`);
  return epoch;
}

async function save(loop: Loop, finished: number): Promise<void> {
  const state: SearchState = { weightsBatcher: loop.weights.getState(), archBatcher: loop.arch.getState(), history: loop.history, reference: loop.reference };
  await saveCheckpoint(loop.setup.scratchDir, { format: CHECKPOINT_FORMAT, runKey: loop.runKey }, trainingParts(loop), { epoch: finished, state });
}

function stepsIn(loop: Loop): number {
  const cap = loop.setup.params.stepsPerEpoch;
  return cap === null ? loop.weights.batchesPerEpoch : Math.min(cap, loop.weights.batchesPerEpoch);
}

/** A NaN or Inf from nn's step (its update was not applied), as the stage's one-sentence failure. */
function nonFinite(error: NonFiniteError, epoch: number, step: number): UserError {
  return new UserError(
    `darts-search stopped at epoch ${epoch + 1}, step ${step + 1}: ${error.message}; lower lr, archLr or lambda (the checkpoint of the last finished epoch is kept, nothing is written).`,
  );
}

function disposeBatch(b: { x: tf.Tensor; y: tf.Tensor }): void {
  tf.dispose([b.x, b.y]);
}

/** The epoch's iterations: an α step on an arch batch (after warm-up), then a weight step. */
function trainEpoch(loop: Loop, epoch: number, lr: number): { loss: number; acc: number } {
  const { params } = loop.setup;
  const steps = stepsIn(loop);
  let [lossSum, correct, seen] = [0, 0, 0];
  for (let step = 0; step < steps; step++) {
    if (loop.setup.signal?.aborted) throw new SearchInterrupted(epoch, step);
    const train = loop.weights.next();
    const val = epoch >= params.warmupEpochs ? loop.arch.next() : undefined;
    try {
      const r = loop.step.step(train, val, lr);
      lossSum += r.loss * train.y.shape[0];
      correct += r.correct;
      seen += train.y.shape[0];
    } catch (error) {
      throw error instanceof NonFiniteError ? nonFinite(error, epoch, step) : error;
    } finally {
      disposeBatch(train);
      if (val) disposeBatch(val);
    }
    loop.setup.progress({ done: epoch * steps + step + 1, total: params.epochs * steps, label: `epoch ${epoch + 1}/${params.epochs} step ${step + 1}/${steps}` });
  }
  return { loss: lossSum / seen, acc: correct / seen };
}

/**
 * DARTS: per iteration an α step (Adam) on the architecture half, then a weight step (SGD) on the
 * weight half; the weights' rate follows a cosine per epoch. Checkpoints after every epoch into
 * `scratchDir` and resumes from there. The caller disposes `result.net`.
 */
export async function runSearch(setup: SearchSetup): Promise<SearchResult> {
  const loop = setUp(setup);
  try {
    const start = await restore(loop);
    const { epochs, lr: lr0, lrMin } = setup.params;
    for (let epoch = start; epoch < epochs; epoch++) {
      const began = performance.now();
      const lr = cosineLr(lr0, lrMin, epoch, epochs);
      const train = trainEpoch(loop, epoch, lr);
      const source = { net: loop.net, data: setup.data, batchSize: setup.params.batchSize, latency: loop.latency, maxSkips: setup.params.maxSkips };
      const row = epochRow(source, epoch, lr, train, (performance.now() - began) / 1000);
      loop.history.push(row);
      await save(loop, epoch + 1);
      setup.log(describeRow(row, epochs, setup.params.maxSkips));
    }
    // The last epoch's row already holds both latencies of the final α (a resumed run restores its rows).
    const last = loop.history[loop.history.length - 1];
    return {
      net: loop.net,
      latency: loop.latency,
      genotype: loop.net.genotype({ maxSkips: setup.params.maxSkips }),
      history: loop.history,
      initialLatencyMs: loop.reference,
      finalLatencyMs: last.expected_latency_ms,
      genotypeLatencyMs: last.genotype_latency_ms,
      epochsRun: epochs - start,
    };
  } catch (error) {
    loop.net.dispose();
    throw error;
  } finally {
    loop.step.dispose();
  }
}
