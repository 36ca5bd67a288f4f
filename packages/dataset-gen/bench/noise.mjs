// Benchmark (not a test): where a label's noise comes from, on this machine, now. For each cell shape
// of the quickstart's networks: the spread of a fixed cell's visit latency (timing noise: wall and CPU
// clock, alone and as a ratio to the shape's reference cell) against the spread of sampled cells'
// latencies (sampling noise) and of their residuals over the additive estimate (what the control
// variate leaves); and, from the op table alone, the sampling error of a row measured with gates drawn
// from the α's own stream (LENNA's) or from a stream of their own, and how much of it a linear model of
// the row's features explains (a bias a predictor can learn).
// Usage: node bench/noise.mjs [--visits 20] [--cells 30] [--runs 3] [--json]   (build first)
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createRng, deriveSeed } from '@lenna/core';
import { initBackend } from '@lenna/compute';
import { additiveMs, shapeKey } from '@lenna/latency-model';
import { additiveCoefficients, choiceAdditiveMs, lutSites, OpLookupTable } from '../dist/lut.js';
import { DatasetGenParamsSchema } from '../dist/params.js';
import { referenceChoice } from '../dist/protocol.js';
import { planRow, softmaxProbabilities } from '../dist/sampling.js';
import { plannedShapes } from '../dist/shapes.js';
import { createTfjsTimer } from '@lenna/measure-target';

const { values: args } = parseArgs({
  options: {
    visits: { type: 'string', default: '20' },
    cells: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    'bias-only': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const [VISITS, CELLS, RUNS] = [Number(args.visits), Number(args.cells), Number(args.runs)];
const backend = await initBackend({ quiet: true });
// The quickstart's networks (pipelines/quickstart.yaml): search C 4, eval C 8, 3 cells at 16×16, batch 16.
const params = DatasetGenParamsSchema.parse({ search: { C: 4, layers: 3, hw: 16, batch: 16 }, eval: { C: 8, layers: 3, hw: 16, batch: 16 } });
const { ops, nodes } = params;
const timers = { wall: await createTfjsTimer({ clock: 'wall' }), cpu: await createTfjsTimer({ clock: 'cpu' }) };
const load = [loadavg()[0]];

const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const sd = (a) => Math.sqrt(a.reduce((s, x) => s + (x - mean(a)) ** 2, 0) / (a.length - 1));
const cv = (a) => sd(a) / mean(a);
const min = (a) => Math.min(...a);
const seed = 1;
const visit = (clock, shape, choice) => timers[clock].timeCell({ shape, ops, choice, warmup: 1, runs: RUNS, seed }).then(min);

async function lutFor(shape) {
  const entries = [];
  for (const site of lutSites([shape], nodes, ops)) {
    entries.push({ ...site, samplesMs: site.op === 'none' ? [0] : await timers.cpu.timeOp({ site, warmup: 1, runs: 10, seed }) });
  }
  return new OpLookupTable(entries, 0);
}

const results = [];
for (const shape of args['bias-only'] ? [] : plannedShapes(params)) {
  const coefficients = additiveCoefficients(shape, ops, nodes, await lutFor(shape));
  const rng = createRng(deriveSeed(7, shapeKey(shape)));
  const reference = referenceChoice(shape, ops, nodes, 0);
  const fixed = Array.from({ length: 14 }, () => rng.int(ops.length));
  for (let i = 0; i < 3; i++) await visit('cpu', shape, fixed);
  // Timing noise: the same cell visited again and again, each visit right after one of the reference.
  const t = { wall: { cell: [], ratio: [] }, cpu: { cell: [], ratio: [] } };
  for (let v = 0; v < VISITS; v++) {
    for (const clock of ['wall', 'cpu']) {
      const r = await visit(clock, shape, reference);
      const c = await visit(clock, shape, fixed);
      t[clock].cell.push(c);
      t[clock].ratio.push(c / r);
    }
  }
  // Sampling noise: cells drawn from one soft row (α radius 1), each the best of 2 CPU-time visits.
  const probs = softmaxProbabilities(rng, 14, ops.length, 1);
  const latency = [];
  const residual = [];
  for (let k = 0; k < CELLS; k++) {
    const choice = probs.map((p) => rng.categorical(p));
    const l = Math.min(await visit('cpu', shape, choice), await visit('cpu', shape, choice));
    latency.push(l);
    residual.push(l - choiceAdditiveMs(coefficients, choice, ops.length));
  }
  const m = mean(latency);
  results.push({
    shape: shapeKey(shape),
    cellMs: mean(t.cpu.cell),
    timingCvWall: cv(t.wall.cell),
    timingCvWallRatio: cv(t.wall.ratio),
    timingCvCpu: cv(t.cpu.cell),
    timingCvCpuRatio: cv(t.cpu.ratio),
    samplingCv: cv(latency),
    residualSdOverMean: sd(residual) / m,
    additiveOverMeasured: additiveMs(coefficients, probs.flat()) / m,
  });
  console.error(JSON.stringify(results.at(-1)));
}

// The shared-stream bias, from the op table alone: 6 resets per row (what the old quick protocol took),
// 3000 rows of the first shape with α radius 1. Features: each edge's centred log-probabilities over 2r
// (α's draws up to a shift per edge: what a model sees of them).
const shape = plannedShapes(params)[0];
const coefficients = additiveCoefficients(shape, ops, nodes, await lutFor(shape));
const options = { seed: 0, nodes, ops, radii: [1], rowsPerShape: 1e9, oneHotFractions: [0] };
const rows = [];
for (let i = 0; i < 3000; i++) {
  const plan = planRow(options, i);
  const exact = additiveMs(coefficients, plan.probs.flat());
  const error = (s) => {
    const r = createRng(s);
    let total = 0;
    for (let k = 0; k < 6; k++) total += choiceAdditiveMs(coefficients, plan.probs.map((p) => r.categorical(p)), ops.length);
    return total / 6 / exact - 1;
  };
  const x = plan.probs.flatMap((p) => {
    const logs = p.map(Math.log);
    return logs.map((l) => (l - mean(logs)) / (2 * plan.radius));
  });
  // The op index the first reset draws on edge 1: from the α's stream it is the draw that set α of (edge 0, op 0).
  const firstGate = (s) => {
    const r = createRng(s);
    return plan.probs.map((p) => r.categorical(p))[1];
  };
  rows.push({ x, shared: error(plan.seed), own: error(plan.gateSeed), sharedGate: firstGate(plan.seed), ownGate: firstGate(plan.gateSeed) });
}
const correlation = (a, b) => {
  const [ma, mb] = [mean(a), mean(b)];
  const cov = a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0);
  return cov / Math.sqrt(a.reduce((s, v) => s + (v - ma) ** 2, 0) * b.reduce((s, v) => s + (v - mb) ** 2, 0));
};
/** R² on 1000 held-out rows of a ridge regression (λ 1) of the sampling error on those features. */
function heldOutR2(key) {
  const d = rows[0].x.length + 1;
  const a = Array.from({ length: d }, () => new Float64Array(d));
  const b = new Float64Array(d);
  for (const r of rows.slice(0, 2000)) {
    const x = [...r.x, 1];
    for (let i = 0; i < d; i++) {
      b[i] += x[i] * r[key];
      for (let j = 0; j < d; j++) a[i][j] += x[i] * x[j];
    }
  }
  for (let i = 0; i < d - 1; i++) a[i][i] += 1;
  for (let i = 0; i < d; i++) for (let k = i + 1; k < d; k++) {
    const f = a[k][i] / a[i][i];
    for (let j = i; j < d; j++) a[k][j] -= f * a[i][j];
    b[k] -= f * b[i];
  }
  const w = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = b[i];
    for (let j = i + 1; j < d; j++) s -= a[i][j] * w[j];
    w[i] = s / a[i][i];
  }
  const test = rows.slice(2000);
  const y = test.map((r) => r[key]);
  const predicted = test.map((r) => [...r.x, 1].reduce((s, v, i) => s + v * w[i], 0));
  const my = mean(y);
  return 1 - y.reduce((s, v, i) => s + (v - predicted[i]) ** 2, 0) / y.reduce((s, v) => s + (v - my) ** 2, 0);
}
const bias = Object.fromEntries(
  ['shared', 'own'].map((key) => [
    key,
    { meanAbsError: mean(rows.map((r) => Math.abs(r[key]))), heldOutR2: heldOutR2(key), firstGateCorrelation: correlation(rows.map((r) => r.x[0]), rows.map((r) => r[`${key}Gate`])) },
  ]),
);
await timers.wall.close();
await timers.cpu.close();
load.push(loadavg()[0]);

const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log(`backend ${backend.name}; min of ${RUNS} runs per visit; ${VISITS} visits, ${CELLS} sampled cells per shape; load average ${load[0].toFixed(1)} → ${load[1].toFixed(1)} on ${(await import('node:os')).cpus().length} cores`);
console.log(['shape'.padEnd(36), 'cell ms', 'wall cv', 'wall/ref', 'cpu cv', 'cpu/ref', 'sampling', 'residual', 'add/meas'].join('\t'));
for (const r of results) {
  console.log([r.shape.padEnd(36), r.cellMs.toFixed(2), pct(r.timingCvWall), pct(r.timingCvWallRatio), pct(r.timingCvCpu), pct(r.timingCvCpuRatio), pct(r.samplingCv), pct(r.residualSdOverMean), r.additiveOverMeasured.toFixed(2)].join('\t'));
}
for (const [key, label] of [['shared', "gates from the α's stream"], ['own', 'gates from their own stream']]) {
  const b = bias[key];
  console.log(`${label}: first reset's op on edge 1 vs the feature p_e0_none: correlation ${b.firstGateCorrelation.toFixed(2)}; sampling error of 6 resets: mean |error| ${pct(b.meanAbsError)}, linear model of the features R² ${b.heldOutR2.toFixed(2)} (held out)`);
}
if (args.json) console.log(JSON.stringify({ backend: backend.name, load, runs: RUNS, shapes: results, bias }));
