// Train the latency MLP on synthetic cells with a known non-additive latency function and report
// how it compares with the additive LUT and ridge, how long training takes, and how fast the loaded
// model answers (darts-search calls predictTensor + its gradient every step).
// Usage: npm run bench -w @lenna/predictor -- [--rows-per-shape 200] [--epochs N] [--json]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { runStageInProcess } from '@lenna/core';
import { loadLatencyModel, writeSyntheticSplits, SYNTHETIC_SHAPES } from '@lenna/latency-model';
import { initBackend } from '@lenna/compute';
import { stage as predictor } from '../dist/index.js';

const { values: args } = parseArgs({
  options: { 'rows-per-shape': { type: 'string', default: '200' }, epochs: { type: 'string' }, json: { type: 'boolean', default: false } },
});
const backend = await initBackend({ quiet: true });
const root = await mkdtemp(join(tmpdir(), 'lenna-predictor-bench-'));
try {
  // preprocess's default split (70/15/15 per shape), each split its own synthetic draw.
  const perShape = Number(args['rows-per-shape']);
  const val = Math.round(0.15 * perShape);
  const inputs = await writeSyntheticSplits(join(root, 'prep'), { rowsPerShape: { train: perShape - 2 * val, val, test: val }, seed: 11 });
  const out = join(root, 'out');
  const started = performance.now();
  await runStageInProcess(predictor, {
    params: args.epochs ? { epochs: Number(args.epochs) } : {},
    inputs,
    stagingDir: out,
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const { metrics, training } = JSON.parse(await readFile(join(out, 'metrics', 'metrics.json'), 'utf8'));

  const model = await loadLatencyModel(join(out, 'model'));
  const cell = SYNTHETIC_SHAPES[0];
  const probs = tf.variable(tf.fill([model.edges, model.ops.length], 1 / model.ops.length));
  const calls = 200;
  let t0 = performance.now();
  for (let i = 0; i < calls; i++) tf.dispose(tf.grad((p) => model.predictTensor(cell, p))(probs));
  const gradMs = (performance.now() - t0) / calls;
  const plain = Array.from({ length: model.edges }, () => new Array(model.ops.length).fill(1 / model.ops.length));
  t0 = performance.now();
  for (let i = 0; i < calls; i++) model.predictMs(cell, plain);
  const predictMs = (performance.now() - t0) / calls;

  console.log(`backend ${backend.name}; ${metrics[0].n_test} test cells; stage ${trainSeconds.toFixed(1)} s (best epoch ${training.bestEpoch} of ${training.epochsRun})`);
  console.log('model   MAPE %   within5 %  within10 %  spearman  kendall');
  for (const m of metrics) {
    console.log(`${m.model.padEnd(7)} ${(100 * m.mape).toFixed(2).padStart(6)}   ${(100 * m.within5).toFixed(1).padStart(8)}  ${(100 * m.within10).toFixed(1).padStart(10)}  ${m.spearman.toFixed(4).padStart(8)}  ${m.kendall.toFixed(4).padStart(7)}`);
  }
  console.log(`predictMs ${predictMs.toFixed(3)} ms/call; predictTensor + grad ${gradMs.toFixed(3)} ms/call`);
  if (args.json) console.log(JSON.stringify({ backend: backend.name, stageSeconds: trainSeconds, ...training, metrics, predictMsPerCall: predictMs, gradMsPerCall: gradMs }));
  model.dispose();
} finally {
  await rm(root, { recursive: true, force: true });
}
