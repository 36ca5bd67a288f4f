import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsFile, UserError, writeSafetensorsFile } from '@lenna/core';
import { DARTS_OPS } from '@lenna/nn';
import type { CellRow } from '../src/cell.js';
import { readAdditiveTable, readCellRows, shapeKey, type AdditiveTable } from '../src/columns.js';
import { coefficientsFor, requireTrainedShapes } from '../src/known-shapes.js';
import { initMlp } from '../src/mlp.js';
import { loadLatencyModel, modelArtifact, MODEL_JSON, MODEL_WEIGHTS, trainedBatch, type LatencyModel } from '../src/model.js';
import { SYNTHETIC_SHAPES, syntheticDatasetTable } from '../src/synthetic.js';
import { applyTransforms, fitTransforms, targetToMs } from '../src/transforms.js';

let root: string;
let model: LatencyModel;
let reference: (row: CellRow) => number;
let rows: CellRow[];
let table: AdditiveTable;
const hidden = [7, 5];

/** Plain-JS forward pass of the saved weights: an implementation independent of tfjs. */
function denseForward(kernels: Float32Array[], biases: Float32Array[], skip: Float32Array, sizes: number[], x: Float32Array): number {
  const linear = x.reduce((sum, v, i) => sum + v * skip[i], 0);
  let h = Array.from(x);
  kernels.forEach((k, l) => {
    const out = Array.from(biases[l]);
    for (let j = 0; j < sizes[l + 1]; j++) for (let i = 0; i < sizes[l]; i++) out[j] += h[i] * k[i * sizes[l + 1] + j];
    h = l < kernels.length - 1 ? out.map(Math.tanh) : out;
  });
  return h[0] + linear;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'lenna-model-'));
  const synthetic = syntheticDatasetTable({ rowsPerShape: 4, seed: 2 });
  rows = readCellRows(synthetic, 'synthetic').rows;
  table = readAdditiveTable(synthetic, 'synthetic')!;
  const transforms = fitTransforms(rows, { ops: [...DARTS_OPS], probs: 'standardise' });
  const weights = initMlp(transforms.featureOrder.length, hidden, 'tanh', 4, true);
  // Non-zero biases and skip weights so that the test sees them used.
  weights.biases.forEach((b, l) => b.assign(tf.fill(b.shape, 0.1 * (l + 1))));
  weights.skip!.assign(tf.randomUniform(weights.skip!.shape, -0.05, 0.05, 'float32', 3));
  const shapes = SYNTHETIC_SHAPES.map(shapeKey);
  const { json, tensors } = modelArtifact(weights, { transforms, hidden, activation: 'tanh', base: 'additive', shapes, additive: table });
  await writeSafetensorsFile(join(root, MODEL_WEIGHTS), tensors);
  await writeFile(join(root, MODEL_JSON), JSON.stringify(json));
  const sizes = [transforms.featureOrder.length, ...hidden, 1];
  const kernels = weights.kernels.map((k) => k.dataSync() as Float32Array);
  const biases = weights.biases.map((b) => b.dataSync() as Float32Array);
  const skip = weights.skip!.dataSync() as Float32Array;
  // The residual model's prediction: the additive estimate the generator computed, times exp of the MLP.
  reference = (row) => targetToMs(transforms, denseForward(kernels, biases, skip, sizes, applyTransforms(transforms, [row])), 'additive', row.additiveMs);
  model = await loadLatencyModel(root);
});

afterAll(async () => {
  model?.dispose();
  await rm(root, { recursive: true, force: true });
});

const asMatrix = (probs: ArrayLike<number>, ops: number) => Array.from({ length: probs.length / ops }, (_, e) => Array.from(probs).slice(e * ops, (e + 1) * ops));

describe('loadLatencyModel', () => {
  it('predicts what the plain transforms + a plain dense forward pass give, times the additive estimate the generator computed', () => {
    expect(model.ops).toHaveLength(8);
    expect(model.edges).toBe(14);
    expect(model.base).toBe('additive');
    expect(model.trainedShapes).toEqual(SYNTHETIC_SHAPES.map(shapeKey).sort());
    for (const row of rows) {
      expect(model.additiveMs(row, asMatrix(row.probs, 8)) / row.additiveMs).toBeCloseTo(1, 5);
      const ms = model.predictMs(row, asMatrix(row.probs, 8));
      expect(ms / reference(row)).toBeCloseTo(1, 4);
    }
  });

  it('refuses a version 1 model with a sentence saying what to re-run', async () => {
    const old = join(root, 'old');
    await mkdir(old);
    const json = JSON.parse(await readFile(join(root, MODEL_JSON), 'utf8'));
    await writeFile(join(old, MODEL_JSON), JSON.stringify({ ...json, version: 1 }));
    await expect(loadLatencyModel(old)).rejects.toThrow(/version 1 latency model.*re-run the predictor/);
  });

  it('predictTensor has the gradient finite differences give (w.r.t. the probabilities)', () => {
    const row = rows[5];
    const base = Float32Array.from(row.probs);
    const probs = tf.tensor2d(base, [14, 8]);
    const grad = tf.grad((p: tf.Tensor) => model.predictTensor(row, p as tf.Tensor2D))(probs).dataSync();
    const h = 1e-2;
    const at = (values: Float32Array) => tf.tidy(() => model.predictTensor(row, tf.tensor2d(values, [14, 8])).dataSync()[0]);
    const scale = Math.max(...Array.from(grad, Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (let j = 0; j < base.length; j++) {
      const plus = base.slice();
      const minus = base.slice();
      plus[j] += h;
      minus[j] -= h;
      const numeric = (at(plus) - at(minus)) / (2 * h);
      expect(Math.abs(numeric - grad[j])).toBeLessThan(2e-2 * scale + 1e-6);
    }
  });

  it('refuses a folder without a model, or weights that do not fit model.json', async () => {
    await expect(loadLatencyModel(join(root, 'nowhere'))).rejects.toThrow(UserError);
    const broken = join(root, 'broken');
    await mkdir(broken);
    const json = JSON.parse(await readFile(join(root, MODEL_JSON), 'utf8'));
    await writeFile(join(broken, MODEL_JSON), JSON.stringify({ ...json, hidden: [9, 5] }));
    await writeSafetensorsFile(join(broken, MODEL_WEIGHTS), { 'mlp.l0.kernel': { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    await expect(loadLatencyModel(broken)).rejects.toThrow(/mlp.l0.kernel/);
    // model.json says there is a skip path, so its kernel is required too.
    const noSkip = join(root, 'no-skip');
    await mkdir(noSkip);
    const { tensors } = await readSafetensorsFile(join(root, MODEL_WEIGHTS));
    delete tensors['mlp.skip.kernel'];
    await writeSafetensorsFile(join(noSkip, MODEL_WEIGHTS), tensors);
    await writeFile(join(noSkip, MODEL_JSON), JSON.stringify(json));
    await expect(loadLatencyModel(noSkip)).rejects.toThrow(/mlp.skip.kernel/);
  });
});

describe('trainedBatch', () => {
  it('reads the batch the model was measured at from its transforms, null when the rows had several', () => {
    const numeric = (batch: { mean: number; std: number }) => ({ c_prev_prev: { mean: 0, std: 1 }, c_in: { mean: 0, std: 1 }, c: { mean: 0, std: 1 }, hw: { mean: 0, std: 1 }, batch });
    expect(trainedBatch({ numeric: numeric({ mean: Math.log(16), std: 1 }) })).toBe(16);
    expect(trainedBatch({ numeric: numeric({ mean: 2.5, std: 0.7 }) })).toBeNull();
    expect(model.trainedBatch === null || Number.isInteger(model.trainedBatch)).toBe(true);
  });
});

describe('trained shapes', () => {
  const asked = { ...SYNTHETIC_SHAPES[0], c: 24 };
  const options = { allowExtrapolation: false, asker: 'darts-search', fix: 'measure it with dataset-gen' };

  it('a shape the model was trained on passes; an unseen one is one sentence naming it, unless extrapolation is allowed', () => {
    expect(requireTrainedShapes(model, SYNTHETIC_SHAPES, options)).toEqual([]);
    const unseen = () => requireTrainedShapes(model, [SYNTHETIC_SHAPES[1], asked], options);
    expect(unseen).toThrow(UserError);
    expect(unseen).toThrow(
      `darts-search would ask the latency model about the cell shape normal|false|16|16|24|32|1|search (block_type|reduction_prev|c_prev_prev|c_in|c|hw|batch|cell_kind), which none of its training rows had`,
    );
    expect(unseen).toThrow(/measure it with dataset-gen, or set allowExtrapolation: true/);
    // Another kind of the same geometry is another shape.
    expect(() => requireTrainedShapes(model, [{ ...SYNTHETIC_SHAPES[0], kind: 'eval' }], options)).toThrow(/\|eval \(/);
    expect(requireTrainedShapes(model, [asked, asked], { ...options, allowExtrapolation: true })).toEqual([shapeKey(asked)]);
  });

  it('extrapolates the additive coefficients from the nearest trained shape of the same type, scaled by the work', () => {
    const own = coefficientsFor(table, SYNTHETIC_SHAPES[0]);
    expect(own).toBe(table[shapeKey(SYNTHETIC_SHAPES[0])]);
    // c 16 -> 24: the ops' work grows by (24/16)², the preprocessing's by 24/16.
    const guess = coefficientsFor(table, asked);
    guess.costs.forEach((c, j) => expect(c).toBeCloseTo(own.costs[j] * 2.25, 9));
    expect(guess.constantMs).toBeCloseTo(own.constantMs * 1.5, 9);
    const probs = asMatrix(rows[0].probs, 8);
    expect(Number.isFinite(model.predictMs(asked, probs))).toBe(true);
  });
});
