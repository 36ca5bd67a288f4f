import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Float64, Int32, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { defineStage, UserError } from '@lenna/core';
import { initBackend } from '@lenna/compute';
import { MODEL_JSON, MODEL_WEIGHTS, modelArtifact, mlpTensors, targetToMs, type ModelBase, type Transforms } from '@lenna/latency-model';
import { readSplit, readTransformsInput, type PreparedSplit } from './data.js';
import { ceilingWithin10, labelNoise, medianWithinShapeSpearman, scopedMetrics, testScopes, type ScopedMetrics } from './metrics.js';
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
    /**
     * `additive`: the MLP (and ridge) learn the ratio of the latency to the additive op-table estimate,
     * which is the base of their prediction; `none`: the latency itself. Either way the additive estimate is an input.
     */
    base: z.enum(['additive', 'none']).default('additive'),
  })
  .strict();

export const METRIC_COLUMNS = ['mae_ms', 'rmse_ms', 'mape', 'within5', 'within10', 'spearman', 'kendall'] as const;

export function metricsTable(rows: ScopedMetrics[]): Table {
  const columns: Record<string, Vector> = {
    model: vectorFromArray(rows.map((r) => r.model), new Utf8()),
    scope: vectorFromArray(rows.map((r) => r.scope), new Utf8()),
  };
  for (const name of METRIC_COLUMNS) columns[name] = vectorFromArray(rows.map((r) => r[name]), new Float64());
  columns.n_test = vectorFromArray(rows.map((r) => r.n_test), new Int32());
  return new Table(columns);
}

const toMs = (t: Transforms, targets: ArrayLike<number>, base: ModelBase, split: PreparedSplit) =>
  Float64Array.from({ length: targets.length }, (_, i) => targetToMs(t, targets[i], base, split.lutMs[i]));

/**
 * What metrics.json says beyond the table: how noisy the test labels are, the within ±10% a perfect
 * predictor could reach against them, and whether the MLP ranks cells within a shape better than both
 * baselines (the search compares cells within one shape only).
 */
export function metricsSummary(rows: ScopedMetrics[], test: PreparedSplit) {
  const within = (model: string) => ({ median_spearman: medianWithinShapeSpearman(rows, model) });
  const withinShape = { mlp: within('mlp'), ridge: within('ridge'), lut: within('lut') };
  return {
    label_noise: labelNoise(test.seMs, test.ms),
    ceiling_within10: ceilingWithin10(test.seMs, test.ms),
    within_shape: withinShape,
    mlp_beats_baselines_within_shape:
      withinShape.mlp.median_spearman > withinShape.ridge.median_spearman && withinShape.mlp.median_spearman > withinShape.lut.median_spearman,
  };
}

export const stage = defineStage({
  name: 'predictor',
  version: 3,
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
    metrics: { kind: 'arrow', description: 'metrics.arrow + metrics.json: one row per model (mlp, lut, ridge) and scope (all, one_hot, shape:<key>) on the test split; label noise, the ceiling, within-shape ranking' },
    parity: { kind: 'svg', description: 'parity.svg: predicted vs measured on the test split, log axes, ±10% band' },
  },
  measures: false,
  async run(ctx) {
    const backend = await initBackend({ quiet: true });
    const p = ctx.params;
    const t = await readTransformsInput(ctx.inputs.transforms);
    const [train, val, test] = await Promise.all((['train', 'val', 'test'] as const).map((name) => readSplit(ctx.inputs[name], name, t, p.base)));
    if (!train.additive) {
      throw new UserError(`The train split (${ctx.inputs.train.id}) has no lenna.additive metadata (the op costs of its shapes); make it from a dataset-gen version 3 data set with preprocess.`);
    }
    const features = t.featureOrder.length;
    ctx.log(`backend ${backend.name}; ${train.y.length} train, ${val.y.length} val, ${test.y.length} test rows; ${features} features; base ${p.base}`);

    const trained = await trainMlp(train, val, features, p, (r) => ctx.progress({ done: r.epoch, total: p.epochs, label: `epoch ${r.epoch} val mse ${r.valLoss.toFixed(4)}` }), ctx.signal);
    ctx.log(`MLP: best val epoch ${trained.bestEpoch} of ${trained.history.length} run`);
    const ridge = fitRidge(train.x, train.y, features, p.ridgeAlpha);
    const predictions: Record<string, Float64Array> = {
      mlp: toMs(t, predictTargets(trained.weights, test.x, features, p.activation), p.base, test),
      lut: test.lutMs,
      ridge: toMs(t, predictRidge(ridge, test.x), p.base, test),
    };
    const rows = scopedMetrics(predictions, test.ms, testScopes(test.shapeKeys, test.oneHot));
    const metrics = rows.filter((r) => r.scope === 'all');
    const summary = metricsSummary(rows, test);
    for (const m of metrics) {
      ctx.log(`${m.model}: MAPE ${(100 * m.mape).toFixed(2)}%, within10 ${(100 * m.within10).toFixed(1)}%, spearman ${m.spearman.toFixed(4)}, within-shape spearman ${summary.within_shape[m.model as 'mlp'].median_spearman.toFixed(4)}`);
    }
    ctx.log(`test labels: median standard error ${(100 * summary.label_noise.median_se).toFixed(1)}%; a perfect predictor would be within ±10% of ${(100 * summary.ceiling_within10).toFixed(1)}% of them`);

    const shapes = [...new Set(train.shapeKeys)];
    const { json, tensors } = modelArtifact(trained.weights, { transforms: t, hidden: p.hidden, activation: p.activation, base: p.base, shapes, additive: train.additive });
    await ctx.writeSafetensors('model', MODEL_WEIGHTS, tensors, { format: 'lenna-latency-mlp' });
    await ctx.writeJson('model', MODEL_JSON, json);
    await ctx.writeTable('metrics', 'metrics.arrow', metricsTable(rows));
    await ctx.writeJson('metrics', 'metrics.json', {
      split: 'test',
      base: p.base,
      // One row per model over all test rows (the table's scope `all`), as before; `scopes` has every row.
      metrics,
      scopes: rows,
      ...summary,
      training: { bestEpoch: trained.bestEpoch, epochsRun: trained.history.length, backend: backend.name },
    });
    const points: ParityPoint[] = Object.entries(predictions).flatMap(([model, predicted]) => Array.from(test.ms, (measured, i) => ({ model, measured, predicted: predicted[i] })));
    await ctx.writeText('parity', 'parity.svg', await paritySvg(points));
    tf.dispose(mlpTensors(trained.weights));
  },
});
