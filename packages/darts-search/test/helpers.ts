import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeSafetensorsFile } from '@lenna/core';
import { CELL_FEATURES, cellShapes, latencyModelFrom, modelArtifact, nodesForEdges, SHAPE_FEATURES, shapeKey, type LatencyModel, type Transforms } from '@lenna/latency-model';

/** Per-op cost in the exponent of the hand-made latency model: convolutions dear, skips cheap. */
export const OP_COST: Record<string, number> = {
  none: 0,
  skip_connect: 0.02,
  avg_pool_3x3: 0.1,
  max_pool_3x3: 0.1,
  sep_conv_3x3: 0.4,
  sep_conv_5x5: 0.6,
  dil_conv_3x3: 0.3,
  dil_conv_5x5: 0.5,
};

export const LATENCY_BATCH = 8;

function transformsFor(ops: string[], edges: number): Transforms {
  const probNames = Array.from({ length: edges }, (_, e) => ops.map((op) => `p_e${e}_${op}`)).flat();
  const unit = { mean: 0, std: 1 };
  return {
    format: 'lenna-transforms',
    version: 2,
    ops,
    edges,
    featureOrder: [...CELL_FEATURES, ...probNames],
    blockTypes: ['normal', 'reduction'],
    // A single measured batch: its standardiser has std 1 and mean ln(batch), as fitTransforms makes it.
    numeric: { c_prev_prev: unit, c_in: unit, c: unit, hw: unit, batch: { mean: Math.log(LATENCY_BATCH), std: 1 } },
    additive: unit,
    probs: { mode: 'raw' },
    target: unit,
    residual: unit,
  };
}

/** The network the hand model knows (as search cells at LATENCY_BATCH): the tests' tiny search network unless told. */
export interface HandNetwork {
  C: number;
  layers: number;
  inputSize: number;
}
const TINY_NETWORK: HandNetwork = { C: 2, layers: 3, inputSize: 8 };

/**
 * A linear latency model with known weights: ln(ms) = −1 + 0.5·ln(c) + Σ_edges Σ_ops OP_COST[op]·p,
 * trained (it says) on the search cells of `network`. Its additive estimate is a constant 1 ms, which
 * the unit standardiser maps to the feature 0. `latencyMs` below computes the same by hand.
 */
export function handModel(
  ops: string[],
  edges: number,
  network: HandNetwork = TINY_NETWORK,
): { json: ReturnType<typeof modelArtifact>['json']; tensors: ReturnType<typeof modelArtifact>['tensors']; model: LatencyModel } {
  const t = transformsFor(ops, edges);
  const kernel = new Float32Array(t.featureOrder.length);
  kernel[SHAPE_FEATURES.indexOf('log_c')] = 0.5;
  for (let e = 0; e < edges; e++) ops.forEach((op, k) => (kernel[CELL_FEATURES.length + e * ops.length + k] = OP_COST[op]));
  const weights = { kernels: [tf.tensor2d(kernel, [kernel.length, 1])], biases: [tf.tensor1d([-1])] };
  const shapes = cellShapes({ ...network, nodes: nodesForEdges(edges) }).map((s) => shapeKey({ ...s, batch: LATENCY_BATCH, kind: 'search' }));
  const additive = Object.fromEntries(shapes.map((key) => [key, { costs: new Array<number>(edges * ops.length).fill(0), constantMs: 1 }]));
  const { json, tensors } = modelArtifact(weights, { transforms: t, hidden: [], activation: 'relu', base: 'none', shapes, additive });
  return { json, tensors, model: latencyModelFrom(json, weights) };
}

/** The hand model's latency of one cell with channel count c and probabilities probs [edges][ops]. */
export function latencyMs(ops: string[], c: number, probs: number[][]): number {
  let exponent = -1 + 0.5 * Math.log(c);
  for (const row of probs) row.forEach((p, k) => (exponent += OP_COST[ops[k]] * p));
  return Math.exp(exponent);
}

/** Writes the hand model as a predictor `model` artifact folder. */
export async function writeHandModel(dir: string, ops: string[], edges: number): Promise<string> {
  const { json, tensors, model } = handModel(ops, edges);
  model.dispose();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
  return dir;
}

export const TINY_OPS = ['none', 'skip_connect', 'avg_pool_3x3', 'sep_conv_3x3'];

/** A search small enough for the cpu backend in a test: 3 cells, 2 nodes, 8×8 synthetic images. */
export const TINY_PARAMS = {
  C: 2,
  layers: 3,
  nodes: 2,
  ops: TINY_OPS,
  batchSize: 8,
  stepsPerEpoch: 3,
  dataset: { name: 'synthetic', limit: 48, synthetic: { count: 96, hw: 8, channels: 1, classes: 3 } },
};
