import * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { timeForward, type TimingOptions } from '@lenna/compute';
import { sampledCells, type EvalNetwork, type Genotype, type OpName } from '@lenna/nn';
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

/**
 * Measured latency of every cell of the network at its shape, built as the evaluation network builds
 * it (nn's sampledCells with kind eval, inference mode: the cells dataset-gen times for eval shapes)
 * with the genotype's ops on kept edges and `none` elsewhere. Cells of equal shape and type are timed once.
 */
export async function measureCells(g: Genotype, shapes: CellShape[], ops: readonly string[], batch: number, timing: TimingOptions, seed: number): Promise<number[]> {
  const byShape = new Map<string, number>();
  const out: number[] = [];
  for (const shape of shapes.map((s) => ({ ...s, batch }))) {
    const key = shapeKey(shape);
    if (!byShape.has(key)) byShape.set(key, await timeCell(shape, genotypeChoice(g, cellType(shape), ops), ops, timing, seed));
    out.push(byShape.get(key)!);
  }
  return out;
}

async function timeCell(shape: CellShape, choice: number[], ops: readonly string[], timing: TimingOptions, seed: number): Promise<number> {
  const cells = sampledCells(shape, ops as OpName[], seed, { training: false, kind: 'eval' });
  const cell = cells.build(choice);
  try {
    return (await timeForward(cell.run, timing)).quantileMs;
  } finally {
    cell.dispose();
    cells.dispose();
  }
}

/** The whole network's inference forward pass (stem, cells, classifier) on a seeded random batch. */
export async function measureNetwork(net: EvalNetwork, batch: number, timing: TimingOptions, seed: number): Promise<number> {
  const { inputSize, inputChannels } = net.config;
  const rng = createRng(seed);
  const values = Float32Array.from({ length: batch * inputSize * inputSize * inputChannels }, () => rng.normal());
  const x = tf.tensor4d(values, [batch, inputSize, inputSize, inputChannels]);
  try {
    return (await timeForward(() => net.forward(x, { training: false }).logits, timing)).quantileMs;
  } finally {
    x.dispose();
  }
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
