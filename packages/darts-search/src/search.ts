import * as tf from '@tensorflow/tfjs';
import { canonicalJson, deriveSeed, sha256Hex, UserError, type ProgressEvent } from '@lenna/core';
import { createBatcher, type Batcher, type ImageSet } from '@lenna/data';
import { cosineLr, createSearchNetwork, loadState, saveState, type Genotype, type SearchNetwork } from '@lenna/nn';
import type { LatencyModel } from '@lenna/latency-model';
import { readCheckpoint, withoutPrefix, withPrefix, writeCheckpoint } from './checkpoint.js';
import type { SearchData } from './data.js';
import { describeRow, epochRow, expectedMs } from './epoch-report.js';
import type { HistoryRow } from './history.js';
import { createLatencyTerm, type LatencyTerm } from './latency.js';
import type { DartsSearchParams } from './params.js';
import { createSearcher, type Searcher } from './step.js';

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
  /** Epochs this call ran (the rest came from the checkpoint). */
  epochsRun: number;
}

interface Loop {
  setup: SearchSetup;
  net: SearchNetwork;
  searcher: Searcher;
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


function setUp(setup: SearchSetup): Loop {
  const { params, data } = setup;
  const net = createNetwork(params, data);
  const latency = setup.latency ? createLatencyTerm(setup.latency.model, net.shapes, params.ops, params.nodes, setup.latency.batch) : undefined;
  const reference = expectedMs({ latency, net });
  if (params.latencyLoss === 'multiplicative' && params.lambda > 0 && reference !== null && reference <= 1e-3) {
    throw new UserError(`latencyLoss multiplicative needs E[lat] above 1 µs (log of µs stays positive), but the initial α gives ${reference} ms; use latencyLoss additive.`);
  }
  const objective = { lambda: params.lambda, form: params.latencyLoss, beta: params.beta, reference: reference ?? 1 };
  const searcher = createSearcher(net, latency, { ...params, objective });
  const batcher = (set: ImageSet, seed: number) => createBatcher(set, { batchSize: params.batchSize, seed, dropLast: true });
  return {
    setup,
    net,
    searcher,
    latency,
    weights: batcher(data.weights, params.seed),
    arch: batcher(data.arch, deriveSeed(params.seed, 'arch batches')),
    runKey: runKeyOf(setup),
    reference,
    history: [],
  };
}

async function restore(loop: Loop): Promise<number> {
  const checkpoint = await readCheckpoint(loop.setup.scratchDir, loop.runKey);
  if (!checkpoint) return 0;
  const { state, tensors } = checkpoint;
  loadState(loop.net, withoutPrefix(tensors, 'net'), { where: 'the darts-search checkpoint' });
  loop.searcher.weightOptimizer.loadState(withoutPrefix(tensors, 'opt.weights'));
  loop.searcher.alphaOptimizer.loadState(withoutPrefix(tensors, 'opt.alphas'));
  loop.weights.setState(state.weightsBatcher);
  loop.arch.setState(state.archBatcher);
  loop.history = state.history;
  loop.setup.log(`resuming darts-search after epoch ${state.epoch} of ${loop.setup.params.epochs}`);
  return state.epoch;
}

async function save(loop: Loop, finished: number): Promise<void> {
  await writeCheckpoint(loop.setup.scratchDir, {
    state: {
      format: 'lenna-darts-search-checkpoint',
      runKey: loop.runKey,
      epoch: finished,
      weightsBatcher: loop.weights.getState(),
      archBatcher: loop.arch.getState(),
      history: loop.history,
      reference: loop.reference,
    },
    tensors: {
      ...withPrefix(saveState(loop.net), 'net'),
      ...withPrefix(loop.searcher.weightOptimizer.state(), 'opt.weights'),
      ...withPrefix(loop.searcher.alphaOptimizer.state(), 'opt.alphas'),
    },
  });
}

function stepsIn(loop: Loop): number {
  const cap = loop.setup.params.stepsPerEpoch;
  return cap === null ? loop.weights.batchesPerEpoch : Math.min(cap, loop.weights.batchesPerEpoch);
}

function nonFinite(what: string, epoch: number, step: number): Error {
  return new Error(`darts-search: the ${what} is not finite (NaN or Inf) at epoch ${epoch + 1}, step ${step + 1}; lower lr or archLr, or lambda. The checkpoint of the last finished epoch is kept.`);
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
    try {
      if (epoch >= params.warmupEpochs) {
        const val = loop.arch.next();
        const archLoss = loop.searcher.archStep(train, val, lr);
        disposeBatch(val);
        if (!Number.isFinite(archLoss)) throw nonFinite('architecture loss', epoch, step);
      }
      const r = loop.searcher.weightStep(train, lr);
      if (!Number.isFinite(r.loss)) throw nonFinite('training loss', epoch, step);
      lossSum += r.loss * train.y.shape[0];
      correct += r.correct;
      seen += train.y.shape[0];
    } finally {
      disposeBatch(train);
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
      const row = epochRow({ net: loop.net, data: setup.data, batchSize: setup.params.batchSize, latency: loop.latency }, epoch, lr, train, (performance.now() - began) / 1000);
      loop.history.push(row);
      await save(loop, epoch + 1);
      setup.log(describeRow(row, epochs));
    }
    return {
      net: loop.net,
      latency: loop.latency,
      genotype: loop.net.genotype(),
      history: loop.history,
      initialLatencyMs: loop.reference,
      finalLatencyMs: expectedMs(loop),
      epochsRun: epochs - start,
    };
  } catch (error) {
    loop.net.dispose();
    throw error;
  } finally {
    loop.searcher.dispose();
  }
}
