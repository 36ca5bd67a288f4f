import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Int32, Table, vectorFromArray } from 'apache-arrow';
import { sha256Hex, writeArrowFile, type Manifest } from '@lenna/core';
import { genotypeToText, type Genotype } from '@lenna/nn';

/** Fake upstream artifacts of a 3-λ sweep, laid out as store objects (files + manifest.json). */
export interface FakeSweep {
  root: string;
  inputs: Record<string, string | string[]>;
}

interface FakeSearch {
  lambda: number;
  seed: number;
  genotype: { normal: [string, number][]; normal_concat: number[]; reduce: [string, number][]; reduce_concat: number[] };
  expectedLatency: number[];
  metrics: Record<string, unknown>;
}

// Node k reads cell input 0 and node k + 1 (its latest predecessor): a valid DARTS wiring.
const cell = (ops: string[]): [string, number][] => ops.map((op, i) => [op, i % 2 === 0 ? 0 : Math.floor(i / 2) + 1]);

export const SWEEP: FakeSearch[] = [
  {
    lambda: 0.5,
    seed: 1,
    genotype: {
      normal: cell(['skip_connect', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'avg_pool_3x3', 'skip_connect', 'skip_connect', 'dil_conv_3x3']),
      normal_concat: [2, 3, 4, 5],
      reduce: cell(['max_pool_3x3', 'max_pool_3x3', 'skip_connect', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'max_pool_3x3', 'skip_connect']),
      reduce_concat: [2, 3, 4, 5],
    },
    expectedLatency: [4.0, 3.1, 2.2],
    metrics: { test_acc: 0.91, val_acc: 0.905, params: 21034, macs: 1520000, latency_ms: 1.8, predicted_latency_ms: 2.0, measured_cells_latency_ms: 1.5, latency_error: (2.0 - 1.5) / 1.5, cell_latency_ms: { normal: 0.3, reduce: 0.2 }, kind: 'search', n_skip_normal: 4 },
  },
  {
    lambda: 0,
    seed: 1,
    genotype: {
      normal: cell(['sep_conv_3x3', 'sep_conv_5x5', 'sep_conv_3x3', 'dil_conv_5x5', 'sep_conv_3x3', 'dil_conv_3x3', 'sep_conv_5x5', 'skip_connect']),
      normal_concat: [2, 3, 4, 5],
      reduce: cell(['max_pool_3x3', 'sep_conv_3x3', 'dil_conv_5x5', 'max_pool_3x3', 'sep_conv_5x5', 'avg_pool_3x3', 'dil_conv_3x3', 'sep_conv_3x3']),
      reduce_concat: [2, 3, 4, 5],
    },
    expectedLatency: [4.0, 4.2, 4.1],
    metrics: { test_acc: 0.975, val_acc: 0.97, params: 91234, macs: 9800000, latency_ms: 6.5, predicted_latency_ms: 6.0, measured_cells_latency_ms: 5.9, latency_error: (6.0 - 5.9) / 5.9, cell_latency_ms: { normal: 1.2, reduce: 0.9 }, kind: 'search', n_skip_normal: 1 },
  },
  {
    lambda: 0.1,
    seed: 1,
    genotype: {
      normal: cell(['sep_conv_3x3', 'skip_connect', 'sep_conv_3x3', 'max_pool_3x3', 'dil_conv_3x3', 'skip_connect', 'sep_conv_3x3', 'avg_pool_3x3']),
      normal_concat: [2, 3, 4, 5],
      reduce: cell(['max_pool_3x3', 'max_pool_3x3', 'sep_conv_3x3', 'max_pool_3x3', 'skip_connect', 'avg_pool_3x3', 'dil_conv_3x3', 'skip_connect']),
      reduce_concat: [2, 3, 4, 5],
    },
    expectedLatency: [4.0, 3.6, 3.3],
    // Slower AND less accurate than λ=0: dominated, so off the Pareto front.
    metrics: { test_acc: 0.95, val_acc: 0.948, params: 50111, macs: 4400000, latency_ms: 7.0, predicted_latency_ms: 3.9, measured_cells_latency_ms: 6.1, latency_error: (3.9 - 6.1) / 6.1, cell_latency_ms: { normal: 0.8, reduce: 0.5 }, kind: 'search', n_skip_normal: 2 },
  },
];

/** The random-search baseline: hand-placed against SWEEP's searched cells (1.8 ms 91%, 6.5 ms 97.5%, 7.0 ms 95%). */
export const RANDOM: { metrics: Record<string, unknown>; genotype: FakeSearch['genotype']; dominated: boolean }[] = [
  // Slower and less accurate than λ=0.5's cell: dominated.
  { dominated: true, metrics: { test_acc: 0.9, latency_ms: 2.0, measured_cells_latency_ms: 1.7, predicted_latency_ms: 1.9 }, genotype: SWEEP[0].genotype },
  // Faster than every searched cell: not dominated.
  { dominated: false, metrics: { test_acc: 0.93, latency_ms: 1.5, measured_cells_latency_ms: 1.2, predicted_latency_ms: 1.4 }, genotype: SWEEP[1].genotype },
  // Equal to λ=0's cell: no searched cell is strictly better in either, so not dominated.
  { dominated: false, metrics: { test_acc: 0.975, latency_ms: 6.5, measured_cells_latency_ms: 5.9, predicted_latency_ms: 6.0 }, genotype: SWEEP[2].genotype },
  // Slower and less accurate than λ=0's cell: dominated.
  { dominated: true, metrics: { test_acc: 0.96, latency_ms: 8.0, measured_cells_latency_ms: 7.1, predicted_latency_ms: 6.6 }, genotype: SWEEP[1].genotype },
];

/** What retrain-eval's manifests record (compute's environmentFingerprint), on two made-up machines. */
export const MACHINE_A = { backend: 'wasm', tfjsVersion: '4.22.0', threads: 2, cpuModel: 'Test CPU A', cpuCores: 2, platform: 'linux-x64', gpu: null };
export const MACHINE_B = { ...MACHINE_A, backend: 'tensorflow-gpu', cpuModel: 'Test CPU B', cpuCores: 16, gpu: 'NVIDIA H200' };

function fakeId(label: string): string {
  return sha256Hex(`fake:${label}`);
}

async function writeArtifact(
  root: string,
  label: string,
  files: Record<string, string | Table>,
  meta: Pick<Manifest, 'stage' | 'output' | 'instance' | 'cacheKey' | 'params' | 'inputs' | 'environment'>,
): Promise<{ dir: string; id: string }> {
  const id = fakeId(label);
  const dir = join(root, label);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') await writeFile(join(dir, name), content);
    else await writeArrowFile(join(dir, name), content);
  }
  const manifestFiles = Object.fromEntries(Object.keys(files).map((name) => [name, { sha256: '', size: 0 }]));
  const manifest: Manifest = { formatVersion: 1, id, kind: 'files', ...meta, files: manifestFiles, createdAt: '2026-01-01T00:00:00.000Z' };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, id };
}

function historyTable(latencies: number[]): Table {
  return new Table({
    epoch: vectorFromArray(latencies.map((_, i) => i), new Int32()),
    expected_latency_ms: vectorFromArray(latencies, new Float64()),
    seconds: vectorFromArray(latencies.map(() => 1.5), new Float64()),
    train_acc: vectorFromArray(latencies.map(() => 0.5), new Float64()),
    val_acc: vectorFromArray(latencies.map(() => 0.5), new Float64()),
  });
}

export interface SweepOptions {
  /** Leave retrain-eval's manifest inputs empty, so runs can only be matched by instance name. */
  noInputIds?: boolean;
  withPredictor?: boolean;
  /** Retrain the RANDOM cells too (a second retrain stage, gathered into runs after the searched cells). */
  withRandom?: boolean;
  /** A second seed of every λ (seed 2: accuracy 1 point lower, latency 0.2 ms higher). */
  withSeeds?: boolean;
  /** dataset-gen's dataset (input latencyData), timed on this machine. */
  latencyData?: Record<string, unknown>;
  /** The machine retrain-eval timed on (default MACHINE_A). */
  machine?: Record<string, unknown>;
}

/** Seed 2 of a search: the same cell, one point less accurate and 0.2 ms slower. */
export function secondSeed(metrics: Record<string, unknown>): Record<string, unknown> {
  const n = (k: string) => metrics[k] as number;
  return { ...metrics, test_acc: n('test_acc') - 0.01, latency_ms: n('latency_ms') + 0.2, measured_cells_latency_ms: n('measured_cells_latency_ms') + 0.2 };
}

export async function makeFakeSweep(options: SweepOptions = {}): Promise<FakeSweep> {
  const root = await mkdtemp(join(tmpdir(), 'lenna-report-'));
  const runs: string[] = [];
  const searches: string[] = [];
  const genotypes: string[] = [];
  const histories: string[] = [];
  const environment = options.machine ?? MACHINE_A;
  const runMeta = (instance: string, inputs: Record<string, string>) => ({ stage: 'retrain-eval', output: 'metrics', instance, cacheKey: fakeId(`key:${instance}`), params: {}, inputs, environment });
  const seeds = options.withSeeds ? [1, 2] : [1];
  for (const s of SWEEP.flatMap((x) => seeds.map((seed) => ({ ...x, seed, metrics: seed === 1 ? x.metrics : secondSeed(x.metrics) })))) {
    const suffix = options.withSeeds ? `${s.lambda},seed=${s.seed}` : `${s.lambda}`;
    const instance = `darts-search@lambda=${suffix}`;
    const searchMeta = { stage: 'darts-search', instance, cacheKey: fakeId(`key:${instance}`), params: { lambda: s.lambda, seed: s.seed }, inputs: {} };
    const summary = { lambda: s.lambda, seed: s.seed, search_seconds: 100 + s.lambda * 10, genotype_text: 'ignored when genotype.json is given' };
    const g = await writeArtifact(root, `genotype-${suffix}`, { 'genotype.json': JSON.stringify(s.genotype) }, { ...searchMeta, output: 'genotype' });
    const sum = await writeArtifact(root, `summary-${suffix}`, { 'summary.json': JSON.stringify(summary) }, { ...searchMeta, output: 'summary' });
    const h = await writeArtifact(root, `history-${suffix}`, { 'history.arrow': historyTable(s.expectedLatency) }, { ...searchMeta, output: 'history' });
    const runInputs: Record<string, string> = options.noInputIds ? {} : { genotype: g.id, model: fakeId('predictor-model') };
    const metrics = { ...s.metrics, genotype: genotypeToText(s.genotype as Genotype) };
    const run = await writeArtifact(root, `metrics-${suffix}`, { 'metrics.json': JSON.stringify(metrics) }, runMeta(`retrain-eval@lambda=${suffix}`, runInputs));
    runs.push(run.dir);
    genotypes.push(g.dir);
    histories.push(h.dir);
    searches.push(sum.dir);
  }
  // Gathers arrive in pipeline order, which need not match each other: shuffle one to prove matching does not rely on position.
  const inputs: Record<string, string | string[]> = { runs, searches: [...searches].reverse(), genotypes, histories: [histories[2], histories[0], ...histories.slice(3), histories[1]] };
  if (options.withRandom) {
    for (const [index, r] of RANDOM.entries()) {
      const genotype = await writeArtifact(root, `random-genotype-${index}`, { 'genotype.json': JSON.stringify(r.genotype) }, { stage: 'random-cell', output: 'genotype', instance: `random-cell@index=${index}`, cacheKey: fakeId(`key:random:${index}`), params: { seed: 0, index }, inputs: {} });
      const metrics = { val_acc: r.metrics.test_acc, params: 30000 + index, macs: 2e6, latency_error: null, kind: 'random', genotype: genotypeToText(r.genotype as Genotype), ...r.metrics };
      const run = await writeArtifact(root, `random-metrics-${index}`, { 'metrics.json': JSON.stringify(metrics) }, runMeta(`retrain-random@index=${index}`, { genotype: genotype.id }));
      runs.push(run.dir);
    }
  }
  if (options.latencyData) {
    const data = await writeArtifact(root, 'dataset', { 'dataset.arrow': historyTable([1]) }, { stage: 'dataset-gen', output: 'dataset', instance: 'dataset-gen', cacheKey: fakeId('key:dataset-gen'), params: {}, inputs: {}, environment: options.latencyData });
    inputs.latencyData = data.dir;
  }
  if (options.withPredictor) {
    const predictorMeta = { stage: 'predictor', instance: 'predictor', cacheKey: fakeId('key:predictor'), params: {}, inputs: {} };
    const metrics = [
      { model: 'mlp', mae_ms: 0.21, rmse_ms: 0.3, mape: 0.041, within5: 0.7, within10: 0.93, spearman: 0.97, kendall: 0.88, n_test: 120 },
      { model: 'lut', mae_ms: 0.52, rmse_ms: 0.71, mape: 0.11, within5: 0.31, within10: 0.55, spearman: 0.9, kendall: 0.75, n_test: 120 },
    ];
    const m = await writeArtifact(root, 'predictor-metrics', { 'metrics.json': JSON.stringify({ split: 'test', metrics, training: { bestEpoch: 3 } }) }, { ...predictorMeta, output: 'metrics' });
    const parity = '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200"><defs><clipPath id="clip1"><rect width="200" height="200"/></clipPath></defs><g clip-path="url(#clip1)"><line x1="0" y1="200" x2="200" y2="0" stroke="black"/><circle cx="50" cy="150" r="4" fill="steelblue"/></g></svg>\n';
    const p = await writeArtifact(root, 'predictor-parity', { 'parity.svg': parity }, { ...predictorMeta, output: 'parity' });
    inputs.predictorMetrics = m.dir;
    inputs.parity = p.dir;
  }
  return { root, inputs };
}
