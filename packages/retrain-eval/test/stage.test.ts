import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkStageOutputs,
  createStageContext,
  parseStageParams,
  readArrowFile,
  readSafetensorsFile,
  requireColumns,
  resolveStageInputs,
  runStageInProcess,
  tableToRows,
  UserError,
  writeSafetensorsFile,
  type ProgressEvent,
  type StageChannel,
  type StageMessage,
} from '@lenna/core';
import { initBackend } from '@lenna/compute';
import { cellShapes, createEvalNetwork, DARTS_OPS, loadState, type Genotype } from '@lenna/nn';
import { fitTransforms, initMlp, loadLatencyModel, modelArtifact, MODEL_JSON, MODEL_WEIGHTS, readAdditiveTable, readCellRows, shapeKey, syntheticDatasetTable } from '@lenna/latency-model';
import { stage } from '../src/stage.js';

const genotype: Genotype = {
  normal: [['sep_conv_3x3', 0], ['skip_connect', 1], ['max_pool_3x3', 0], ['sep_conv_5x5', 2], ['avg_pool_3x3', 1], ['dil_conv_3x3', 3], ['dil_conv_5x5', 4], ['skip_connect', 2]],
  normal_concat: [2, 3, 4, 5],
  reduce: [['max_pool_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['max_pool_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 3], ['avg_pool_3x3', 1], ['skip_connect', 2]],
  reduce_concat: [2, 3, 4, 5],
};
// Op index per edge, written out by hand from the genotype above (DARTS op order; 0 = none).
const NORMAL_CHOICE = [4, 3, 1, 0, 5, 0, 2, 0, 6, 0, 0, 3, 0, 7];
const REDUCE_CHOICE = [1, 1, 0, 1, 3, 4, 0, 0, 3, 0, 2, 3, 0, 0];
const oneHot = (choice: number[]) => choice.map((k) => DARTS_OPS.map((_, j) => (j === k ? 1 : 0)));

const synthetic = (count: number) => ({ name: 'synthetic', seed: 0, synthetic: { count, hw: 8, channels: 3, classes: 4 } });
const baseParams = { C: 4, layers: 3, epochs: 1, batchSize: 16, measure: { warmup: 1, runs: 3 } };

let root: string;
let genotypeDir: string;
let modelDir: string;

/**
 * A latency model artifact made by hand: transforms fitted on synthetic rows of the test network's eval
 * cells (C 4, 3 cells, 8×8) at batch 16, random MLP weights.
 */
async function writeModel(dir: string): Promise<void> {
  const shapes = cellShapes({ C: 4, layers: 3, inputSize: 8 }).map(({ index: _index, ...s }) => ({ ...s, batch: 16, kind: 'eval' as const }));
  const table = syntheticDatasetTable({ shapes, rowsPerShape: 5, seed: 4 });
  const { rows } = readCellRows(table, 'synthetic');
  const transforms = fitTransforms(rows, { ops: [...DARTS_OPS] });
  const weights = initMlp(transforms.featureOrder.length, [6], 'tanh', 5);
  const { json, tensors } = modelArtifact(weights, { transforms, hidden: [6], activation: 'tanh', base: 'additive', shapes: shapes.map(shapeKey), additive: readAdditiveTable(table, 'synthetic')! });
  await mkdir(dir, { recursive: true });
  await writeSafetensorsFile(join(dir, MODEL_WEIGHTS), tensors);
  await writeFile(join(dir, MODEL_JSON), JSON.stringify(json));
  tf.dispose([...weights.kernels, ...weights.biases]);
}

interface Recorded {
  events: { kind: 'progress' | 'exclusive-start' | 'exclusive-end'; event?: ProgressEvent }[];
  measured: unknown[];
}

/** Runs the stage like the host does, with a channel that records progress and what the exclusive section returned. */
async function runRecorded(params: unknown, inputs: Record<string, string>, stagingDir: string): Promise<Recorded> {
  const recorded: Recorded = { events: [], measured: [] };
  const channel: StageChannel = {
    progress: (event) => recorded.events.push({ kind: 'progress', event }),
    log: () => undefined,
    async exclusive(fn) {
      recorded.events.push({ kind: 'exclusive-start' });
      const value = await fn();
      recorded.measured.push(value);
      recorded.events.push({ kind: 'exclusive-end' });
      return value;
    },
    signal: new AbortController().signal,
  };
  const parsed = parseStageParams(stage, params);
  const resolved = await resolveStageInputs(stage, Object.fromEntries(Object.entries(inputs).map(([k, dir]) => [k, { dir }])));
  const ctx = createStageContext({ stage, params: parsed, ...resolved, stagingDir, scratchDir: join(stagingDir, '.scratch'), instance: 'retrain-eval', channel });
  await stage.run(ctx as Parameters<typeof stage.run>[0]);
  await checkStageOutputs(stage, stagingDir);
  return recorded;
}

/** tf.loadGraphModel over the web-model folder's two files, through an in-memory IOHandler. */
async function loadWebModel(dir: string): Promise<tf.GraphModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  const [group] = json.weightsManifest;
  const shard = await readFile(join(dir, group.paths[0]));
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: group.weights,
      weightData: shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength),
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  );
}

beforeAll(async () => {
  await initBackend({ quiet: true });
  root = await mkdtemp(join(tmpdir(), 'lenna-retrain-'));
  genotypeDir = join(root, 'genotype');
  await mkdir(genotypeDir);
  await writeFile(join(genotypeDir, 'genotype.json'), JSON.stringify(genotype));
  modelDir = join(root, 'model');
  await writeModel(modelDir);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('retrain-eval stage', () => {
  it('trains, then times inside ctx.exclusive, and writes the documented outputs with the model prediction', async () => {
    const staging = join(root, 'out-model');
    const recorded = await runRecorded({ ...baseParams, dataset: synthetic(120) }, { genotype: genotypeDir, model: modelDir }, staging);

    // Training progress first, then one exclusive section, no progress while it is held.
    const kinds = recorded.events.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'exclusive-start')).toHaveLength(1);
    const start = kinds.indexOf('exclusive-start');
    expect(kinds.indexOf('exclusive-end')).toBe(start + 1);
    expect(start).toBeGreaterThan(0);
    expect(kinds.slice(start + 2)).toEqual([]);

    const metrics = JSON.parse(await readFile(join(staging, 'metrics', 'metrics.json'), 'utf8'));
    const measured = recorded.measured[0] as { networkMs: number; cellsMs: number[] };
    expect(metrics.latency_ms).toBe(measured.networkMs);
    expect(metrics.cells.map((c: { measured_ms: number }) => c.measured_ms)).toEqual(measured.cellsMs);
    // Each cell under the data set's shape columns (c_in is the channels of s1), at the measured batch.
    expect(metrics.cells[2]).toMatchObject({ index: 2, block_type: 'reduction', reduction_prev: true, c_prev_prev: 16, c_in: 32, c: 16, hw: 4, batch: 16, cell_kind: 'eval' });
    expect(metrics.measure).toMatchObject({ quantile: 0, clock: 'cpu', batch: 16 });
    expect(metrics.latency_ms).toBeGreaterThan(0);

    // The prediction: every cell of the network, its own shape, the hand one-hot of its type, batch 16 from the model.
    expect(metrics.measure_batch).toBe(16);
    expect([metrics.kind, metrics.n_skip_normal]).toEqual(['search', 2]);
    const model = await loadLatencyModel(modelDir);
    const shapes = cellShapes({ C: 4, layers: 3, inputSize: 8 });
    const expected = shapes
      .map((s) => model.predictMs({ ...s, batch: 16, kind: 'eval' }, oneHot(s.reduction ? REDUCE_CHOICE : NORMAL_CHOICE)))
      .reduce((a, b) => a + b, 0);
    model.dispose();
    expect(metrics.predicted_latency_ms).toBeCloseTo(expected, 6);
    const cellsSum = measured.cellsMs.reduce((a, b) => a + b, 0);
    expect(metrics.measured_cells_latency_ms).toBeCloseTo(cellsSum, 9);
    expect(metrics.latency_error).toBeCloseTo((expected - cellsSum) / cellsSum, 6);
    expect(metrics.cell_latency_ms).toEqual({ normal: measured.cellsMs[0], reduce: measured.cellsMs[1] });

    // params: the trainable tensors of the saved weights (BatchNorm running statistics are not parameters).
    const { tensors, metadata } = await readSafetensorsFile(join(staging, 'weights', 'weights.safetensors'));
    const trainable = Object.entries(tensors).filter(([name]) => !/running_(mean|var)$/.test(name));
    expect(metrics.params).toBe(trainable.reduce((n, [, t]) => n + t.shape.reduce((a, b) => a * b, 1), 0));
    expect(JSON.parse(metadata!.genotype)).toEqual(genotype);
    expect(metrics.macs).toBeGreaterThan(0);
    expect(metrics.test_acc).toBeGreaterThanOrEqual(0);
    expect(metrics.test_acc).toBeLessThanOrEqual(1);
    expect(metrics.train_seconds).toBeGreaterThan(0);

    const table = await readArrowFile(join(staging, 'metrics', 'metrics.arrow'));
    requireColumns(table, { test_acc: 'float', val_acc: 'float', params: 'int', macs: 'float', latency_ms: 'float', predicted_latency_ms: 'float', latency_error: 'float', cell_latency_normal_ms: 'float', cell_latency_reduce_ms: 'float', train_seconds: 'float' }, 'metrics.arrow');
    const [row] = tableToRows(table);
    expect(table.numRows).toBe(1);
    expect(row.predicted_latency_ms).toBe(metrics.predicted_latency_ms);
    expect(row.val_acc).toBe(metrics.val_acc);

    const history = await readArrowFile(join(staging, 'history', 'history.arrow'));
    requireColumns(history, { epoch: 'int', train_loss: 'float', train_acc: 'float', val_acc: 'float', lr: 'float', seconds: 'float' }, 'history.arrow');
    expect(history.numRows).toBe(1);
    expect(tableToRows(history)[0]).toMatchObject({ epoch: 0, lr: 0.025, val_acc: metrics.val_acc });

    // Where the latencies were measured, in both metrics files.
    expect(metrics).toMatchObject({ target: 'node', backend: tf.getBackend(), browser: null, renderer: null });
    expect(['wall', 'cpu']).toContain(metrics.measure.clock);
    expect(row).toMatchObject({ target: 'node', backend: tf.getBackend(), browser: null });

    // The web model gives the trained network's inference logits (rebuilt from weights.safetensors).
    const net = createEvalNetwork({ genotype, C: 4, layers: 3, numClasses: 4, inputChannels: 3, inputSize: 8, seed: 0 });
    loadState(net, tensors);
    const graph = await loadWebModel(join(staging, 'web-model'));
    const x = tf.randomNormal([5, 8, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const logits = net.forward(x, { training: false }).logits;
    const got = graph.predict(x) as tf.Tensor;
    expect(got.shape).toEqual([5, 4]);
    const scale = Math.max(1, ...(await logits.abs().data()));
    expect(Math.max(...(await got.sub(logits).abs().data()))).toBeLessThan(1e-5 * scale);
    expect(graph.metadata).toMatchObject({
      input: { name: 'images', layout: 'NHWC', size: 8, channels: 3 },
      normalisation: { pixelScale: 255, mean: expect.any(Array), std: expect.any(Array) },
      numClasses: 4,
      dataset: 'synthetic',
      resize: null,
    });
    tf.dispose([x, logits, got]);
    graph.dispose();
    net.dispose();
  });

  it('refuses, before training, a model that was not trained on the network’s cells, unless extrapolation is allowed', async () => {
    const wider = { ...baseParams, C: 2, dataset: synthetic(40) };
    const run = (params: Record<string, unknown>, name: string) => runStageInProcess(stage, { params, inputs: { genotype: genotypeDir, model: modelDir }, stagingDir: join(root, name) });
    await expect(run(wider, 'unseen')).rejects.toThrow(UserError);
    await expect(run(wider, 'unseen2')).rejects.toThrow(/^retrain-eval would ask the latency model about the cell shape normal\|false\|6\|6\|2\|8\|16\|eval \(block_type\|.*allowExtrapolation: true/);
    await run({ ...wider, epochs: 1, allowExtrapolation: true, measure: { warmup: 0, runs: 1 } }, 'extrapolated');
    const metrics = JSON.parse(await readFile(join(root, 'extrapolated', 'metrics', 'metrics.json'), 'utf8'));
    expect(metrics.predicted_latency_ms).toBeGreaterThan(0);
  });

  it('without a model the predicted fields are null, and measure.batch sets the batch', async () => {
    const staging = join(root, 'out-plain');
    await runStageInProcess(stage, { params: { ...baseParams, C: 2, dataset: synthetic(40), measure: { warmup: 0, runs: 1, batch: 2 } }, inputs: { genotype: genotypeDir }, stagingDir: staging });
    const metrics = JSON.parse(await readFile(join(staging, 'metrics', 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ predicted_latency_ms: null, latency_error: null, measure_batch: 2 });
    expect(metrics.cells.every((c: { predicted_ms: number | null }) => c.predicted_ms === null)).toBe(true);
    const [row] = tableToRows(await readArrowFile(join(staging, 'metrics', 'metrics.arrow')));
    expect(row.predicted_latency_ms).toBeNull();
    expect(row.measured_cells_latency_ms).toBeGreaterThan(0);

    // The same params train the same weights (seeded init, batch order and drop-path masks).
    const again = join(root, 'out-plain-again');
    await runStageInProcess(stage, { params: { ...baseParams, C: 2, dataset: synthetic(40), measure: { warmup: 0, runs: 1, batch: 2 } }, inputs: { genotype: genotypeDir }, stagingDir: again });
    const weights = async (dir: string) => readFile(join(dir, 'weights', 'weights.safetensors'));
    expect(Buffer.compare(await weights(staging), await weights(again))).toBe(0);
  });

  it('resumes training interrupted after an epoch from its checkpoint and ends with the weights of an uninterrupted run', async () => {
    // Drop path from the second epoch on: the resumed epoch's masks come from the restored stream.
    const params = { ...baseParams, C: 2, epochs: 3, dropPath: 0.3, dataset: synthetic(40), measure: { warmup: 0, runs: 1, batch: 2 } };
    const run = async (name: string, scratchDir: string, abortAfter?: string) => {
      const logs: string[] = [];
      const abort = new AbortController();
      const onEvent = (m: StageMessage) => {
        if (m.type !== 'log') return;
        logs.push(m.message);
        if (abortAfter && m.message.startsWith(abortAfter)) abort.abort();
      };
      await runStageInProcess(stage, { params, inputs: { genotype: genotypeDir }, stagingDir: join(root, name), scratchDir, onEvent, signal: abort.signal });
      return logs;
    };
    await run('whole', join(root, 'whole.scratch'));
    const scratch = join(root, 'killed.scratch');
    await expect(run('killed', scratch, 'epoch 2/3')).rejects.toThrow(/interrupted at epoch 3, step 1/);
    await expect(readdir(join(root, 'killed', 'weights'))).rejects.toThrow(/ENOENT/);
    const logs = await run('resumed', scratch);
    expect(logs).toContain('resuming retrain-eval after epoch 2 of 3');
    expect(logs.filter((l) => l.startsWith('epoch '))).toEqual([expect.stringMatching(/^epoch 3\/3:/)]);
    const file = (name: string, ...path: string[]) => readFile(join(root, name, ...path));
    expect(Buffer.compare(await file('resumed', 'weights', 'weights.safetensors'), await file('whole', 'weights', 'weights.safetensors'))).toBe(0);
    const history = async (name: string) => tableToRows(await readArrowFile(join(root, name, 'history', 'history.arrow'))).map(({ seconds: _, ...r }) => r);
    expect(await history('resumed')).toEqual(await history('whole'));
    expect((await history('whole')).map((r) => r.drop_path_prob)).toEqual([0, 0.1, 0.2].map((p) => expect.closeTo(p, 12)));
  });

  it('refuses params a user got wrong before any training', async () => {
    const run = (params: unknown) => runStageInProcess(stage, { params, inputs: { genotype: genotypeDir }, stagingDir: join(root, 'out-bad') });
    await expect(run({ cutout: 16 })).rejects.toThrow(/cifar10 only/);
    await expect(run({ cutout: 16 })).rejects.toBeInstanceOf(UserError);
    await expect(run({ lr: -1 })).rejects.toThrow(/lr/);
    await expect(run({ unknownKey: 1 })).rejects.toThrow(/unknownKey/);
  });
});
