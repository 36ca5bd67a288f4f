import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile, readSafetensorsFile, runStageInProcess, UserError } from '@lenna/core';
import { loadLatencyModel, readCellRows, shapeKey, SYNTHETIC_SHAPES, writeSyntheticSplits } from '@lenna/latency-model';
import { latencyMetrics } from '../src/metrics.js';
import { METRIC_COLUMNS, stage } from '../src/stage.js';

// Small MLPs train fine on the pure-JS backend; it keeps this file independent of wasm.
process.env.LENNA_BACKEND = 'cpu';

let root: string;
let inputs: Record<string, string>;
const params = { hidden: [32, 32], epochs: 80, batchSize: 32, learningRate: 0.003, weightDecay: 1e-3, patience: 20 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lenna-predictor-'));
  inputs = await writeSyntheticSplits(join(root, 'prep'), { rowsPerShape: { train: 28, val: 6, test: 6 }, seed: 9 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('predictor stage', () => {
  it('writes the model, the metrics of mlp/lut/ridge on test, and the parity plot', async () => {
    const out = join(root, 'out');
    await runStageInProcess(stage, { params, inputs, stagingDir: out });
    expect((await readdir(join(out, 'model'))).sort()).toEqual(['model.json', 'model.safetensors']);
    expect(await readdir(join(out, 'parity'))).toEqual(['parity.svg']);
    expect((await readFile(join(out, 'parity', 'parity.svg'), 'utf8')).startsWith('<svg')).toBe(true);

    const { tensors } = await readSafetensorsFile(join(out, 'model', 'model.safetensors'));
    expect(Object.keys(tensors).sort()).toEqual(['mlp.l0.bias', 'mlp.l0.kernel', 'mlp.l1.bias', 'mlp.l1.kernel', 'mlp.l2.bias', 'mlp.l2.kernel', 'mlp.skip.kernel']);
    expect(tensors['mlp.skip.kernel'].shape).toEqual([10 + 14 * 8, 1]);
    expect(tensors['mlp.l0.kernel'].shape).toEqual([10 + 14 * 8, 32]);
    const modelJson = JSON.parse(await readFile(join(out, 'model', 'model.json'), 'utf8'));
    expect(modelJson).toMatchObject({ format: 'lenna-latency-mlp', version: 2, edges: 14, hidden: [32, 32], activation: 'relu', skip: true, base: 'additive' });
    expect(modelJson.shapes).toEqual(SYNTHETIC_SHAPES.map(shapeKey).sort());
    expect(Object.keys(modelJson.additive).sort()).toEqual(modelJson.shapes);

    const table = await readArrowFile(join(out, 'metrics', 'metrics.arrow'));
    expect(table.schema.fields.map((f) => f.name)).toEqual(['model', 'scope', ...METRIC_COLUMNS, 'n_test']);
    const json = JSON.parse(await readFile(join(out, 'metrics', 'metrics.json'), 'utf8'));
    const metrics = json.metrics as Record<string, number | string>[];
    expect(metrics.map((m) => m.model)).toEqual(['mlp', 'lut', 'ridge']);
    expect(metrics.every((m) => m.scope === 'all' && m.n_test === 24)).toBe(true);
    // Per model: all, one_hot and the 4 shapes, 6 test rows each.
    const scopes = Array.from(table.getChild('scope')!.toArray()) as string[];
    expect(scopes.slice(0, 6)).toEqual(['all', 'one_hot', ...SYNTHETIC_SHAPES.map((s) => `shape:${shapeKey(s)}`).sort()]);
    expect(Array.from(table.getChild('model')!.toArray())).toEqual([...Array(6).fill('mlp'), ...Array(6).fill('lut'), ...Array(6).fill('ridge')]);
    expect(Array.from(table.getChild('n_test')!.toArray()).filter((_, i) => scopes[i].startsWith('shape:'))).toEqual(Array(12).fill(6));
    expect(json.scopes).toHaveLength(18);
    // The synthetic labels have a 2% standard error: a perfect predictor is within ±10% of nearly all of them.
    expect(json.label_noise.median_se).toBeCloseTo(0.02, 10);
    expect(json.ceiling_within10).toBeGreaterThan(0.99);
    expect(typeof json.mlp_beats_baselines_within_shape).toBe('boolean');
    expect(json.mlp_beats_baselines_within_shape).toBe(
      json.within_shape.mlp.median_spearman > Math.max(json.within_shape.ridge.median_spearman, json.within_shape.lut.median_spearman),
    );

    // The metrics agree with the saved model asked afresh about the test rows, and with the LUT column.
    const testTable = await readArrowFile(join(inputs.test, 'test.arrow'));
    const { rows } = readCellRows(testTable, 'test.arrow');
    const model = await loadLatencyModel(join(out, 'model'));
    const matrix = (p: ArrayLike<number>) => Array.from({ length: 14 }, (_, e) => Array.from(p).slice(e * 8, e * 8 + 8));
    const predicted = rows.map((r) => model.predictMs(r, matrix(r.probs)));
    model.dispose();
    const measured = rows.map((r) => r.latencyMs);
    expect(latencyMetrics(predicted, measured).mape).toBeCloseTo(metrics[0].mape as number, 4);
    const lut = Array.from(testTable.getChild('lut_latency_ms')!.toArray() as Float64Array);
    expect(latencyMetrics(lut, measured).mape).toBeCloseTo(metrics[1].mape as number, 10);

    // The synthetic latency has a non-additive term the LUT cannot see: the MLP must beat it.
    expect(metrics[0].mape as number).toBeLessThan(metrics[1].mape as number);
  });

  it('writes the same bytes when trained twice with one seed (dropout included), other bytes with another seed', async () => {
    const quick = { ...params, epochs: 12, dropout: 0.1 };
    const files = ['model/model.json', 'model/model.safetensors', 'metrics/metrics.arrow', 'metrics/metrics.json', 'parity/parity.svg'];
    const run = async (name: string, seed: number) => {
      await runStageInProcess(stage, { params: { ...quick, seed }, inputs, stagingDir: join(root, name) });
      return Promise.all(files.map((f) => readFile(join(root, name, f))));
    };
    const [first, second, otherSeed] = [await run('same-a', 3), await run('same-b', 3), await run('other', 4)];
    files.forEach((file, i) => expect(Buffer.compare(first[i], second[i]), file).toBe(0));
    expect(Buffer.compare(first[1], otherSeed[1])).not.toBe(0);
    // No run-dependent facts (timings) in the outputs: those go to the log.
    expect(first[3].toString()).not.toMatch(/second|elapsed|time/i);
  });

  it('fails naming the epoch and step when the loss stops being finite, and writes nothing', async () => {
    const out = join(root, 'diverged');
    await expect(runStageInProcess(stage, { params: { ...params, learningRate: 1e30 }, inputs, stagingDir: out })).rejects.toThrow(
      /^predictor: the training loss is (NaN|Infinity) \(not finite\) at epoch 1, step \d+; lower learningRate/,
    );
    const written = (await readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(written.map((e) => e.name)).toEqual([]);
  });

  it('refuses params it does not know, and inputs without their files', async () => {
    await expect(runStageInProcess(stage, { params: { hiden: [8] }, inputs, stagingDir: join(root, 'bad') })).rejects.toThrow(UserError);
    await expect(
      runStageInProcess(stage, { params, inputs: { ...inputs, test: inputs.transforms }, stagingDir: join(root, 'bad2') }),
    ).rejects.toThrow(/Input 'test'.*test.arrow/);
  });
});
