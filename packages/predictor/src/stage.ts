import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Float64, Int32, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { defineStage } from '@lenna/core';
import { initBackend } from '@lenna/compute';
import { MODEL_JSON, MODEL_WEIGHTS, modelArtifact, mlpTensors, targetToMs, type Transforms } from '@lenna/latency-model';
import { readSplit, readTransformsInput } from './data.js';
import { latencyMetrics, type LatencyMetrics } from './metrics.js';
import { paritySvg, type ParityPoint } from './parity.js';
import { fitRidge, predictRidge } from './ridge.js';
import { predictTargets, trainMlp } from './train.js';

export const predictorParams = z
  .object({
    hidden: z.array(z.number().int().positive()).min(1).default([128, 128]),
    activation: z.enum(['relu', 'elu', 'tanh']).default('relu'),
    /** A linear path from the features to the output beside the hidden layers (wide and deep). */
    skip: z.boolean().default(true),
    dropout: z.number().min(0).lt(1).default(0),
    weightDecay: z.number().min(0).default(1e-3),
    learningRate: z.number().positive().default(3e-3),
    epochs: z.number().int().positive().default(500),
    batchSize: z.number().int().positive().default(64),
    patience: z.number().int().positive().default(30),
    seed: z.number().int().min(0).default(0),
    /** Ridge baseline's L2 strength (on the same features and target as the MLP). */
    ridgeAlpha: z.number().min(0).default(1),
  })
  .strict();

export const METRIC_COLUMNS = ['mae_ms', 'rmse_ms', 'mape', 'within5', 'within10', 'spearman', 'kendall'] as const;

export type ModelMetrics = { model: string } & LatencyMetrics;

export function metricsTable(rows: ModelMetrics[]): Table {
  const columns: Record<string, Vector> = { model: vectorFromArray(rows.map((r) => r.model), new Utf8()) };
  for (const name of METRIC_COLUMNS) columns[name] = vectorFromArray(rows.map((r) => r[name]), new Float64());
  columns.n_test = vectorFromArray(rows.map((r) => r.n_test), new Int32());
  return new Table(columns);
}

const toMs = (t: Transforms, targets: ArrayLike<number>) => Float64Array.from({ length: targets.length }, (_, i) => targetToMs(t, targets[i]));

export const stage = defineStage({
  name: 'predictor',
  version: 2,
  description: 'Train the latency MLP on the preprocessed dataset and compare it with the additive LUT and ridge regression on the test split.',
  params: predictorParams,
  inputs: {
    train: { kind: 'arrow', description: "preprocess's train split" },
    val: { kind: 'arrow', description: "preprocess's val split (early stopping)" },
    test: { kind: 'arrow', description: "preprocess's test split (metrics)" },
    transforms: { kind: 'json', description: "preprocess's transforms.json" },
  },
  outputs: {
    model: { kind: 'files', description: 'model.safetensors (mlp.l<i>.kernel/bias) + model.json (architecture, feature order, transforms); load with loadLatencyModel' },
    metrics: { kind: 'arrow', description: 'metrics.arrow + metrics.json: one row per model (mlp, lut, ridge) on the test split' },
    parity: { kind: 'svg', description: 'parity.svg: predicted vs measured on the test split, log axes, ±10% band' },
  },
  measures: false,
  async run(ctx) {
    const backend = await initBackend({ quiet: true });
    const p = ctx.params;
    const t = await readTransformsInput(ctx.inputs.transforms);
    const [train, val, test] = await Promise.all((['train', 'val', 'test'] as const).map((name) => readSplit(ctx.inputs[name], name, t)));
    const features = t.featureOrder.length;
    ctx.log(`backend ${backend.name}; ${train.y.length} train, ${val.y.length} val, ${test.y.length} test rows; ${features} features`);

    const trained = await trainMlp(train, val, features, p, (r) => ctx.progress({ done: r.epoch, total: p.epochs, label: `epoch ${r.epoch} val mse ${r.valLoss.toFixed(4)}` }), ctx.signal);
    ctx.log(`MLP: best val epoch ${trained.bestEpoch} of ${trained.history.length} run`);
    const ridge = fitRidge(train.x, train.y, features, p.ridgeAlpha);
    const predictions: Record<string, Float64Array> = {
      mlp: toMs(t, predictTargets(trained.weights, test.x, features, p.activation)),
      lut: test.lutMs,
      ridge: toMs(t, predictRidge(ridge, test.x)),
    };
    const metrics: ModelMetrics[] = Object.entries(predictions).map(([model, predicted]) => ({ model, ...latencyMetrics(predicted, test.ms) }));
    for (const m of metrics) ctx.log(`${m.model}: MAPE ${(100 * m.mape).toFixed(2)}%, within10 ${(100 * m.within10).toFixed(1)}%, spearman ${m.spearman.toFixed(4)}`);

    const { json, tensors } = modelArtifact(trained.weights, t, p.hidden, p.activation);
    await ctx.writeSafetensors('model', MODEL_WEIGHTS, tensors, { format: 'lenna-latency-mlp' });
    await ctx.writeJson('model', MODEL_JSON, json);
    await ctx.writeTable('metrics', 'metrics.arrow', metricsTable(metrics));
    await ctx.writeJson('metrics', 'metrics.json', { split: 'test', metrics, training: { bestEpoch: trained.bestEpoch, epochsRun: trained.history.length, backend: backend.name } });
    const points: ParityPoint[] = Object.entries(predictions).flatMap(([model, predicted]) => Array.from(test.ms, (measured, i) => ({ model, measured, predicted: predicted[i] })));
    await ctx.writeText('parity', 'parity.svg', await paritySvg(points));
    tf.dispose(mlpTensors(trained.weights));
  },
});
