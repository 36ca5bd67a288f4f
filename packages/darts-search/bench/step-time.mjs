// Times one darts-search iteration (α step, then weight step) on the active backend (LENNA_BACKEND, default: best installed).
// Usage: node bench/step-time.mjs [--json] [--C 4] [--layers 3] [--hw 16] [--batch 16] [--reps 3]
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lenna/compute';
import { createSearchNetwork } from '@lenna/nn';
import { createSearcher } from '../dist/step.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const config = { C: opt('C', 4), layers: opt('layers', 3), hw: opt('hw', 16), batch: opt('batch', 16), reps: opt('reps', 3) };
const backend = await initBackend({ quiet: true });

const batch = (seed) => ({
  x: tf.randomNormal([config.batch, config.hw, config.hw, 1], 0, 1, 'float32', seed),
  y: tf.tensor1d(Array.from({ length: config.batch }, (_, i) => i % 10), 'int32'),
});
const objective = { lambda: 0, form: 'additive', beta: 0.6, reference: 1 };
const stepOptions = { momentum: 0.9, weightDecay: 3e-4, gradClip: 5, archLr: 3e-4, archBetas: [0.5, 0.999], archWeightDecay: 1e-3, objective };

function time(fn) {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < config.reps; i++) fn();
  return (performance.now() - t0) / config.reps;
}

const rows = [];
for (const order of ['first', 'second']) {
  const net = createSearchNetwork({ C: config.C, layers: config.layers, numClasses: 10, inputChannels: 1, inputSize: config.hw, seed: 0 });
  const searcher = createSearcher(net, undefined, { ...stepOptions, order });
  const [train, val] = [batch(1), batch(2)];
  const archMs = time(() => searcher.archStep(train, val, 0.025));
  const weightMs = order === 'first' ? time(() => searcher.weightStep(train, 0.025)) : rows[0].weight_ms;
  rows.push({ order, arch_ms: archMs, weight_ms: weightMs, iteration_ms: archMs + weightMs });
  tf.dispose([train.x, train.y, val.x, val.y]);
  searcher.dispose();
  net.dispose();
}

console.log(`darts-search iteration on ${backend.name}: C ${config.C}, layers ${config.layers}, ${config.hw}x${config.hw}x1, batch ${config.batch}, 8 ops`);
console.log('order  | α step ms | weight step ms | iteration ms');
for (const r of rows) console.log(`${r.order.padEnd(6)} | ${r.arch_ms.toFixed(0).padStart(9)} | ${r.weight_ms.toFixed(0).padStart(14)} | ${r.iteration_ms.toFixed(0).padStart(12)}`);
if (args.includes('--json')) console.log(JSON.stringify({ backend: backend.name, ...config, rows }));
