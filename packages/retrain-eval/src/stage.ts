import { defineStage } from '@lenna/core';
import { targetEnvironment } from '@lenna/measure-target';
import { fingerprintDatasetFiles, portableDatasetSpec } from '@lenna/data';
import { RetrainEvalParamsSchema } from './params.js';
import { runRetrainEval } from './run.js';

export const stage = defineStage({
  name: 'retrain-eval',
  version: 4,
  description: 'Train the evaluation network of a genotype from scratch, then measure its latency and compare the latency model with it.',
  params: RetrainEvalParamsSchema,
  inputs: {
    genotype: { kind: 'json', description: "darts-search's genotype.json" },
    model: { kind: 'files', description: "predictor's latency model (optional: without it the predicted fields are null)", optional: true },
  },
  outputs: {
    metrics: { kind: 'arrow', description: 'metrics.json and the one-row metrics.arrow: accuracy, size, measured and predicted latency' },
    weights: { kind: 'safetensors', description: "weights.safetensors: the trained network under nn's tensor names" },
    history: { kind: 'arrow', description: 'history.arrow: one row per epoch (epoch, train_loss, train_acc, val_acc, lr, drop_path_prob, seconds)' },
    'web-model': { kind: 'files', description: 'model.json and group1-shard1of1.bin: the trained network as a tfjs graph model (tf.loadGraphModel), its preprocessing in the metadata' },
  },
  measures: true,
  // Data files outside the store (CIFAR-10, Fashion-MNIST): their content enters the cache key, their path does not.
  externalFingerprint: (p) => fingerprintDatasetFiles(p.dataset),
  keyParams: (p) => ({ ...p, dataset: portableDatasetSpec(p.dataset) }),
  environment: (p) => targetEnvironment(p),
  run: (ctx) => runRetrainEval(ctx),
});
