// The latency model as users get it: dataset-gen, preprocess and predictor run by the `lenna stage`
// command (each in its own process, as `lenna run` runs them) on the quickstart's settings
// (pipelines/quickstart.yaml), twice: on the machine as it is ("idle") and while a busy-loop process
// that this benchmark starts and stops holds one core ("busy"). Reports, per condition, the MLP's
// within ±10% over all test cells and over the one-hot ones, the median within-shape Spearman ρ of the
// MLP, ridge and the LUT, the labels' median standard error, the ceiling a perfect predictor would
// reach, dataset-gen's seconds and the load average; then how fast the loaded model answers.
// Usage (from the root, after `npm run build`):
//   npm run bench:predictor -- [--conditions idle,busy] [--set dataset-gen.rowsPerShape=20]... [--json]
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lenna/compute';
import { loadLatencyModel } from '@lenna/latency-model';

const { values: args } = parseArgs({
  options: {
    conditions: { type: 'string', default: 'idle,busy' },
    set: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
  },
});
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LENNA = join(ROOT, 'packages/runner/bin/lenna.js');
const PIPELINE = join(ROOT, 'pipelines/quickstart.yaml');
const conditions = args.conditions.split(',');
for (const c of conditions) if (c !== 'idle' && c !== 'busy') throw new Error(`--conditions takes idle and busy, got ${c}`);

/** Runs the lenna CLI; its stderr (progress) goes to a buffer shown only if it fails. */
function lenna(argv, env) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [LENNA, ...argv], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`lenna ${argv.slice(0, 2).join(' ')} exited ${code}:\n${err.slice(-3000)}`))));
  });
}

/** Every param of a stage as `--param key=<JSON>` (JSON is YAML flow, which --param reads). */
const paramArgs = (params) => Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${JSON.stringify(v)}`]);

/** A process that spins one core until it is killed. */
function busyLoop() {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

const resolved = JSON.parse(await lenna(['params', PIPELINE, '--json', ...args.set.flatMap((s) => ['--set', s])]));
const paramsOf = (id) => resolved.stages.find((s) => s.id === id).params;
const work = await mkdtemp(join(tmpdir(), 'lenna-bench-predictor-'));
const env = { LENNA_STORE: join(work, 'store') };
const results = [];
try {
  for (const condition of conditions) {
    const dir = join(work, condition);
    const busy = condition === 'busy' ? busyLoop() : undefined;
    const loadBefore = loadavg()[0];
    const started = performance.now();
    try {
      await lenna(['stage', 'dataset-gen', ...paramArgs(paramsOf('dataset-gen')), '--out', join(dir, 'dg')], env);
    } finally {
      busy?.kill('SIGKILL');
    }
    const datasetGenSeconds = (performance.now() - started) / 1000;
    const loadAfter = loadavg()[0];
    await lenna(['stage', 'preprocess', '--in', `dataset=${join(dir, 'dg', 'dataset')}`, ...paramArgs(paramsOf('preprocess')), '--out', join(dir, 'pre')], env);
    const split = (name) => ['--in', `${name}=${join(dir, 'pre', name)}`];
    await lenna(['stage', 'predictor', ...split('train'), ...split('val'), ...split('test'), ...split('transforms'), ...paramArgs(paramsOf('predictor')), '--out', join(dir, 'pred')], env);
    const metrics = JSON.parse(await readFile(join(dir, 'pred', 'metrics', 'metrics.json'), 'utf8'));
    const mlp = (scope) => metrics.scopes.find((r) => r.model === 'mlp' && r.scope === scope);
    results.push({
      condition,
      loadAverage: [loadBefore, loadAfter],
      datasetGenSeconds,
      within10: mlp('all').within10,
      within10OneHot: mlp('one_hot')?.within10 ?? null,
      withinShapeSpearman: metrics.within_shape.mlp.median_spearman,
      ridgeWithinShapeSpearman: metrics.within_shape.ridge.median_spearman,
      lutWithinShapeSpearman: metrics.within_shape.lut.median_spearman,
      mlpBeatsBaselinesWithinShape: metrics.mlp_beats_baselines_within_shape,
      medianSe: metrics.label_noise.median_se,
      ceilingWithin10: metrics.ceiling_within10,
      nTest: mlp('all').n_test,
    });
  }

  // How fast the loaded model answers (darts-search asks predictTensor and its gradient every step).
  const backend = await initBackend({ quiet: true });
  const model = await loadLatencyModel(join(work, conditions[0], 'pred', 'model'));
  const cell = model.trainedShapes[0].split('|');
  const query = { reduction: cell[0] === 'reduction', reductionPrev: cell[1] === 'true', cPrevPrev: +cell[2], cPrev: +cell[3], c: +cell[4], hw: +cell[5], batch: +cell[6], kind: cell[7] };
  const probs = tf.variable(tf.fill([model.edges, model.ops.length], 1 / model.ops.length));
  const calls = 200;
  let t0 = performance.now();
  for (let i = 0; i < calls; i++) tf.dispose(tf.grad((p) => model.predictTensor(query, p))(probs));
  const gradMsPerCall = (performance.now() - t0) / calls;
  const plain = Array.from({ length: model.edges }, () => new Array(model.ops.length).fill(1 / model.ops.length));
  t0 = performance.now();
  for (let i = 0; i < calls; i++) model.predictMs(query, plain);
  const predictMsPerCall = (performance.now() - t0) / calls;
  model.dispose();

  const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const rho = (x) => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  const dg = paramsOf('dataset-gen');
  console.log(`quickstart settings: ${dg.rowsPerShape} rows per shape, protocol ${dg.protocol}, seTarget ${dg.seTarget}, resets ${dg.minResets}-${dg.maxResets}, reference ${dg.reference}, clock ${dg.clock}; ${cpus().length} cores; backend ${backend.name}`);
  console.log(['condition', 'load avg', 'dataset-gen s', 'MLP ±10%', 'one-hot ±10%', 'ρ shape MLP', 'ρ ridge', 'ρ LUT', 'median se', 'ceiling ±10%'].join('\t'));
  for (const r of results) {
    console.log([r.condition, `${r.loadAverage[0].toFixed(1)}→${r.loadAverage[1].toFixed(1)}`, r.datasetGenSeconds.toFixed(0), pct(r.within10), pct(r.within10OneHot), rho(r.withinShapeSpearman), rho(r.ridgeWithinShapeSpearman), rho(r.lutWithinShapeSpearman), pct(r.medianSe), pct(r.ceilingWithin10)].join('\t'));
  }
  console.log(`goals: idle ±10% ≥ 95%, ρ ≥ 0.90; busy ±10% ≥ 90%, ρ ≥ 0.85; median se ≤ 3%. predictMs ${predictMsPerCall.toFixed(3)} ms/call; predictTensor + grad ${gradMsPerCall.toFixed(3)} ms/call`);
  if (args.json) console.log(JSON.stringify({ backend: backend.name, cores: cpus().length, conditions: results, predictMsPerCall, gradMsPerCall }));
} finally {
  await rm(work, { recursive: true, force: true });
}
