// Retrains two genotypes on MNIST at quickstart scale and prints training time, accuracy and latency.
// Usage: node bench/retrain.mjs [--limit N] [--epochs E] [--C C] [--layers L] [--json]   (build the package first)
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runStageInProcess } from '@lenna/core';
import { initBackend } from '@lenna/compute';
import { stage } from '../dist/index.js';

const { values } = parseArgs({
  options: { limit: { type: 'string', default: '300' }, epochs: { type: 'string', default: '1' }, C: { type: 'string', default: '8' }, layers: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
});
const node = (a, b) => [a, b];
const GENOTYPES = {
  conv: {
    normal: [node('sep_conv_3x3', 0), node('sep_conv_5x5', 1), node('sep_conv_3x3', 0), node('dil_conv_5x5', 2), node('sep_conv_5x5', 1), node('sep_conv_3x3', 3), node('dil_conv_3x3', 2), node('sep_conv_3x3', 4)],
    normal_concat: [2, 3, 4, 5],
    reduce: [node('sep_conv_5x5', 0), node('sep_conv_3x3', 1), node('dil_conv_5x5', 2), node('sep_conv_3x3', 1), node('sep_conv_5x5', 0), node('dil_conv_3x3', 3), node('sep_conv_3x3', 2), node('sep_conv_5x5', 4)],
    reduce_concat: [2, 3, 4, 5],
  },
  light: {
    normal: [node('skip_connect', 0), node('max_pool_3x3', 1), node('skip_connect', 0), node('avg_pool_3x3', 2), node('max_pool_3x3', 1), node('skip_connect', 3), node('skip_connect', 2), node('max_pool_3x3', 4)],
    normal_concat: [2, 3, 4, 5],
    reduce: [node('max_pool_3x3', 0), node('max_pool_3x3', 1), node('skip_connect', 2), node('max_pool_3x3', 1), node('avg_pool_3x3', 0), node('skip_connect', 3), node('skip_connect', 2), node('max_pool_3x3', 4)],
    reduce_concat: [2, 3, 4, 5],
  },
};

const backend = await initBackend({ quiet: true });
const root = await mkdtemp(join(tmpdir(), 'lenna-retrain-bench-'));
const limit = Number(values.limit);
const epochs = Number(values.epochs);
const params = { C: Number(values.C), layers: Number(values.layers), epochs, dataset: { name: 'mnist', limit, seed: 0 }, measure: { warmup: 2, runs: 10 } };
const rows = [];
try {
  for (const [name, genotype] of Object.entries(GENOTYPES)) {
    const dir = join(root, name);
    await mkdir(join(dir, 'genotype'), { recursive: true });
    await writeFile(join(dir, 'genotype', 'genotype.json'), JSON.stringify(genotype));
    await runStageInProcess(stage, { params, inputs: { genotype: join(dir, 'genotype') }, stagingDir: join(dir, 'out') });
    const m = JSON.parse(await readFile(join(dir, 'out', 'metrics', 'metrics.json'), 'utf8'));
    const steps = Math.ceil(limit / 32) * epochs;
    rows.push({
      genotype: name,
      train_s: m.train_seconds,
      step_ms: (1000 * m.train_seconds) / steps,
      test_acc: m.test_acc,
      params: m.params,
      mmacs: m.macs / 1e6,
      latency_ms: m.latency_ms,
      cells_ms: m.measured_cells_latency_ms,
      normal_ms: m.cell_latency_ms.normal,
      reduce_ms: m.cell_latency_ms.reduce,
    });
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
const header = Object.keys(rows[0]);
console.log(`retrain-eval on ${backend.name}: MNIST limit ${limit}, ${epochs} epoch(s), C ${params.C}, layers ${params.layers}, batch 32; latency at batch 16`);
console.log(header.join('\t'));
for (const r of rows) console.log(header.map((k) => fmt(r[k])).join('\t'));
if (values.json) console.log(JSON.stringify({ bench: 'retrain-eval', backend: backend.name, limit, epochs, rows }));
