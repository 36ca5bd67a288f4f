import { summarise } from '@lenna/compute';
import type { EvalNetwork, Genotype } from '@lenna/nn';
import type { LatencyTimer } from '@lenna/measure-target';
import { requireTrainedShapes, shapeKey, type BatchedCellShape, type CellShape, type LatencyModel } from '@lenna/latency-model';
import { genotypeChoice, oneHotProbs, type CellType } from './one-hot.js';

export const cellType = (shape: CellShape): CellType => (shape.reduction ? 'reduce' : 'normal');

/** What retrain-eval asks the latency model about: the network's cells as eval cells, at the measurement batch. */
export function modelQueries(shapes: CellShape[], batch: number): BatchedCellShape[] {
  return shapes.map((shape) => ({ ...shape, batch, kind: 'eval' }));
}

/** Fails, naming the shape, when the model was not trained on a cell of this network (unless extrapolation is allowed). */
export function checkModelKnowsCells(model: LatencyModel, shapes: CellShape[], batch: number, allowExtrapolation: boolean): void {
  requireTrainedShapes(model, modelQueries(shapes, batch), {
    allowExtrapolation,
    asker: 'retrain-eval',
    fix: "measure it with dataset-gen (set its eval network to this retraining's C, layers, input size and measure.batch)",
  });
}

/** The latency model's estimate of each cell of the network: its shape (an eval cell) and the one-hot genotype of its type. */
export function predictCells(model: LatencyModel, g: Genotype, shapes: CellShape[], batch: number): number[] {
  const probs = { normal: oneHotProbs(g, 'normal', model.ops), reduce: oneHotProbs(g, 'reduce', model.ops) };
  return modelQueries(shapes, batch).map((query) => model.predictMs(query, probs[cellType(query)]));
}

/** compute's timeForward protocol: `runs` timed forward passes after `warmup`, keeping their `quantile`. */
export interface TimingProtocol {
  warmup: number;
  runs: number;
  quantile: number;
}

/**
 * Measured latency of every cell of the network at its shape, built as the evaluation network builds
 * it (nn's sampledCells with kind eval, inference mode: the cells dataset-gen times for eval shapes)
 * with the genotype's ops on kept edges and `none` elsewhere, timed on the target's timer. Cells of
 * equal shape and type are timed once.
 */
export async function measureCells(
  timer: LatencyTimer,
  g: Genotype,
  shapes: CellShape[],
  ops: readonly string[],
  batch: number,
  timing: TimingProtocol,
  seed: number,
): Promise<number[]> {
  const byShape = new Map<string, number>();
  const out: number[] = [];
  for (const shape of modelQueries(shapes, batch)) {
    const key = shapeKey(shape);
    if (!byShape.has(key)) {
      const samples = await timer.timeCell({ shape, ops, choice: genotypeChoice(g, cellType(shape), ops), seed, runs: timing.runs, warmup: timing.warmup });
      byShape.set(key, summarise(samples, timing.quantile).quantileMs);
    }
    out.push(byShape.get(key)!);
  }
  return out;
}

/**
 * The whole network's inference forward pass (stem, cells, classifier) on a seeded random batch, timed
 * on the target's timer: the same network (genotype, sizes, seed), built where the timer runs.
 */
export async function measureNetwork(timer: LatencyTimer, net: EvalNetwork, batch: number, timing: TimingProtocol, seed: number): Promise<number> {
  const { genotype, C, layers, numClasses, inputChannels, inputSize } = net.config;
  const network = { genotype, C, layers, numClasses, inputChannels, inputSize };
  const samples = await timer.timeNetwork({ network, batch, seed, runs: timing.runs, warmup: timing.warmup });
  return summarise(samples, timing.quantile).quantileMs;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export interface LatencySummary {
  latency_ms: number;
  /** Σ over the network's cells of the measured cell latency. */
  measured_cells_latency_ms: number;
  /** Σ over the network's cells of the predicted cell latency; null without a latency model. */
  predicted_latency_ms: number | null;
  /** (predicted_latency_ms − measured_cells_latency_ms) / measured_cells_latency_ms. */
  latency_error: number | null;
  cell_latency_ms: { normal: number | null; reduce: number | null };
}

/** Sums and the relative error; cell_latency_ms is the first cell of each type. */
export function summariseLatency(shapes: CellShape[], measured: number[], predicted: number[] | null, networkMs: number): LatencySummary {
  const first = (type: CellType) => {
    const i = shapes.findIndex((s) => cellType(s) === type);
    return i < 0 ? null : measured[i];
  };
  const measuredSum = sum(measured);
  const predictedSum = predicted ? sum(predicted) : null;
  return {
    latency_ms: networkMs,
    measured_cells_latency_ms: measuredSum,
    predicted_latency_ms: predictedSum,
    latency_error: predictedSum === null ? null : (predictedSum - measuredSum) / measuredSum,
    cell_latency_ms: { normal: first('normal'), reduce: first('reduce') },
  };
}
