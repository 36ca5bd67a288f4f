import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { readSafetensorsFile, UserError, type TensorData } from '@lenna/core';
import { flattenProbs, type BatchedCellShape } from './cell.js';
import { additiveMs, parseAdditiveTable, shapeKey, type AdditiveCoefficients, type AdditiveTable } from './columns.js';
import { coefficientsFor } from './known-shapes.js';
import { layerSizes, mlpForward, mlpTensors, type Activation, type MlpWeights } from './mlp.js';
import { parseTransforms, type ModelBase, type Transforms } from './transforms.js';
import { targetToMsTf, transformFeaturesTf } from './transforms-tf.js';

export const MODEL_JSON = 'model.json';
export const MODEL_WEIGHTS = 'model.safetensors';

export interface LatencyModel {
  ops: string[];
  edges: number;
  /** What the MLP predicts: the latency (`none`) or its ratio to the additive estimate (`additive`). */
  base: ModelBase;
  /** The one batch size the model's training rows were measured at, or null if they had several. */
  trainedBatch: number | null;
  /** shapeKey of every shape the training rows had (requireTrainedShapes checks a query against them). */
  trainedShapes: string[];
  /** The additive op-table estimate (ms) of `cell` under `probs` ([edges][ops]); extrapolated for an untrained shape. */
  additiveMs(cell: BatchedCellShape, probs: readonly (readonly number[])[]): number;
  /** Latency in ms of `cell` (its kind, at its batch size) with op probabilities `probs` ([edges][ops]). */
  predictMs(cell: BatchedCellShape, probs: readonly (readonly number[])[]): number;
  /** Differentiable in probs ([edges, ops]), returns a scalar in ms. */
  predictTensor(cell: BatchedCellShape, probs: tf.Tensor2D): tf.Scalar;
  dispose(): void;
}

const modelJsonSchema = z
  .object({
    format: z.literal('lenna-latency-mlp'),
    version: z.literal(2),
    ops: z.array(z.string()).min(1),
    edges: z.number().int().positive(),
    hidden: z.array(z.number().int().positive()),
    activation: z.enum(['relu', 'elu', 'tanh']),
    /** Whether `mlp.skip.kernel` (a linear path from inputs to output) is part of the model. */
    skip: z.boolean(),
    base: z.enum(['none', 'additive']),
    featureOrder: z.array(z.string()),
    transforms: z.unknown(),
    /** shapeKey of every shape of the training rows. */
    shapes: z.array(z.string()).min(1),
    /** The additive estimate's coefficients per shape (AdditiveTable), every trained shape included. */
    additive: z.unknown(),
  })
  .strict();

export type ModelJson = Omit<z.infer<typeof modelJsonSchema>, 'transforms' | 'additive'> & { transforms: Transforms; additive: AdditiveTable };

export function kernelName(layer: number): string {
  return `mlp.l${layer}.kernel`;
}
export function biasName(layer: number): string {
  return `mlp.l${layer}.bias`;
}
export const SKIP_KERNEL = 'mlp.skip.kernel';

/** What a model artifact records besides its weights. */
export interface ModelDescription {
  transforms: Transforms;
  hidden: number[];
  activation: Activation;
  base: ModelBase;
  /** shapeKeys of the training rows' shapes. */
  shapes: string[];
  additive: AdditiveTable;
}

/** The model artifact's two files' contents: model.json and the safetensors tensors. */
export function modelArtifact(weights: MlpWeights, d: ModelDescription): { json: ModelJson; tensors: Record<string, TensorData> } {
  const { transforms } = d;
  const tensors: Record<string, TensorData> = {};
  weights.kernels.forEach((kernel, l) => {
    tensors[kernelName(l)] = { dtype: 'F32', shape: kernel.shape, data: kernel.dataSync() as Float32Array };
    tensors[biasName(l)] = { dtype: 'F32', shape: weights.biases[l].shape, data: weights.biases[l].dataSync() as Float32Array };
  });
  if (weights.skip) tensors[SKIP_KERNEL] = { dtype: 'F32', shape: weights.skip.shape, data: weights.skip.dataSync() as Float32Array };
  const missing = d.shapes.filter((key) => !d.additive[key]);
  if (missing.length > 0) throw new Error(`The additive coefficients lack the trained shape(s) ${missing.join(', ')}.`);
  const json: ModelJson = {
    format: 'lenna-latency-mlp',
    version: 2,
    ops: transforms.ops,
    edges: transforms.edges,
    hidden: d.hidden,
    activation: d.activation,
    skip: weights.skip !== undefined,
    base: d.base,
    featureOrder: transforms.featureOrder,
    transforms,
    shapes: [...d.shapes].sort(),
    additive: Object.fromEntries(d.shapes.map((key) => [key, d.additive[key]])),
  };
  return { json, tensors };
}

async function readModelJson(path: string): Promise<ModelJson> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UserError(`Cannot read the latency model's ${path}: ${(error as Error).message}; pass the folder of a predictor 'model' artifact.`);
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version < 2) {
    throw new UserError(`${path} is a version ${version} latency model, which records neither its training shapes nor its op costs; re-run the predictor (and dataset-gen) to make a version 2 model.`);
  }
  const parsed = modelJsonSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path} is not a LENNA latency model (${issue.path.join('.') || 'root'}: ${issue.message}).`);
  }
  const transforms = parseTransforms(parsed.data.transforms, `${path} (transforms)`);
  const additive = parseAdditiveTable(parsed.data.additive, transforms.edges * transforms.ops.length, `${path} (additive)`);
  const missing = parsed.data.shapes.filter((key) => !additive[key]);
  if (missing.length > 0) throw new UserError(`${path}: shapes lists ${missing.join(', ')} but additive has no coefficients for it; re-run the predictor.`);
  return { ...parsed.data, transforms, additive };
}

function weightTensors(tensors: Record<string, TensorData>, sizes: number[], skip: boolean, path: string): MlpWeights {
  const weights: MlpWeights = { kernels: [], biases: [] };
  const take = (name: string, shape: number[]): TensorData => {
    const t = tensors[name];
    if (!t || t.dtype !== 'F32' || t.shape.join() !== shape.join()) {
      throw new UserError(`${path}: tensor ${name} should be F32 [${shape}] for the architecture in model.json, found ${t ? `${t.dtype} [${t.shape}]` : 'none'}.`);
    }
    return t;
  };
  for (let l = 0; l + 1 < sizes.length; l++) {
    weights.kernels.push(tf.tensor2d(take(kernelName(l), [sizes[l], sizes[l + 1]]).data as Float32Array, [sizes[l], sizes[l + 1]]));
    weights.biases.push(tf.tensor1d(take(biasName(l), [sizes[l + 1]]).data as Float32Array));
  }
  if (skip) weights.skip = tf.tensor2d(take(SKIP_KERNEL, [sizes[0], 1]).data as Float32Array, [sizes[0], 1]);
  return weights;
}

/** A batch column constant on the training rows is standardised with std 1 around ln(batch) (fitTransforms's rule). */
export function trainedBatch(t: Pick<Transforms, 'numeric'>): number | null {
  const s = t.numeric.batch;
  if (!s || s.std !== 1) return null;
  const batch = Math.exp(s.mean);
  const rounded = Math.round(batch);
  return Math.abs(batch - rounded) < 1e-6 * rounded ? rounded : null;
}

/** Build a LatencyModel over weights already in memory (the loader and the stage's own check use it). */
export function latencyModelFrom(json: ModelJson, weights: MlpWeights): LatencyModel {
  const t = json.transforms;
  const coefficients = new Map<string, AdditiveCoefficients>();
  const coefficientsOf = (cell: BatchedCellShape): AdditiveCoefficients => {
    const key = shapeKey(cell);
    if (!coefficients.has(key)) coefficients.set(key, coefficientsFor(json.additive, cell));
    return coefficients.get(key)!;
  };
  const predictTensor = (cell: BatchedCellShape, probs: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => {
      const c = coefficientsOf(cell);
      const additive = tf.add(tf.sum(tf.mul(tf.reshape(probs, [-1]), tf.tensor1d(c.costs))), c.constantMs) as tf.Scalar;
      const target = mlpForward(weights, transformFeaturesTf(t, cell, probs, additive), json.activation);
      return tf.reshape(targetToMsTf(t, target, json.base, additive), []) as tf.Scalar;
    });
  return {
    ops: json.ops,
    edges: json.edges,
    base: json.base,
    trainedBatch: trainedBatch(t),
    trainedShapes: json.shapes,
    additiveMs: (cell, probs) => additiveMs(coefficientsOf(cell), flattenProbs(probs, json.edges, json.ops.length)),
    predictTensor,
    predictMs(cell, probs) {
      return tf.tidy(() => {
        const p = tf.tensor2d(flattenProbs(probs, json.edges, json.ops.length), [json.edges, json.ops.length]);
        return predictTensor(cell, p).dataSync()[0];
      });
    },
    dispose() {
      tf.dispose(mlpTensors(weights));
    },
  };
}

/** Load a predictor `model` artifact folder (model.json + model.safetensors). */
export async function loadLatencyModel(dir: string): Promise<LatencyModel> {
  const json = await readModelJson(join(dir, MODEL_JSON));
  const weightsPath = join(dir, MODEL_WEIGHTS);
  const { tensors } = await readSafetensorsFile(weightsPath);
  const sizes = layerSizes(json.featureOrder.length, json.hidden);
  return latencyModelFrom(json, weightTensors(tensors, sizes, json.skip, weightsPath));
}
