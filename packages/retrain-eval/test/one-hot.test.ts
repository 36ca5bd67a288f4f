import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '@lenna/core';
import { cellShapes, DARTS_OPS, type Genotype } from '@lenna/nn';
import type { LatencyModel } from '@lenna/latency-model';
import { readGenotypeInput } from '../src/genotype-input.js';
import { predictCells, summariseLatency } from '../src/latency.js';
import { resolveMeasureBatch } from '../src/model-input.js';
import { genotypeChoice, oneHotProbs } from '../src/one-hot.js';
import { augmentationFor } from '../src/run.js';

// Node 0 reads inputs 0, 1; node 1 reads 0 and node 0 (=2); node 2 reads 1 and node 1 (=3); node 3 reads node 0 and node 2 (=2, 4).
const genotype: Genotype = {
  normal: [
    ['sep_conv_3x3', 0],
    ['skip_connect', 1],
    ['max_pool_3x3', 0],
    ['sep_conv_5x5', 2],
    ['avg_pool_3x3', 1],
    ['dil_conv_3x3', 3],
    ['dil_conv_5x5', 4],
    ['skip_connect', 2],
  ],
  normal_concat: [2, 3, 4, 5],
  reduce: [
    ['max_pool_3x3', 1],
    ['max_pool_3x3', 0],
    ['skip_connect', 2],
    ['max_pool_3x3', 1],
    ['sep_conv_3x3', 0],
    ['skip_connect', 3],
    ['avg_pool_3x3', 1],
    ['skip_connect', 2],
  ],
  reduce_concat: [2, 3, 4, 5],
};

describe('oneHotProbs', () => {
  it('puts each kept op on its edge and none on every dropped edge (hand case)', () => {
    // Edges: node0 e0 (0), e1 (1); node1 e2 (0), e3 (1), e4 (2); node2 e5..e8 (0..3); node3 e9..e13 (0..4).
    // DARTS op indices: none 0, max 1, avg 2, skip 3, sep3 4, sep5 5, dil3 6, dil5 7.
    const expected = [4, 3, 1, 0, 5, 0, 2, 0, 6, 0, 0, 3, 0, 7];
    const probs = oneHotProbs(genotype, 'normal', DARTS_OPS);
    expect(probs).toHaveLength(14);
    probs.forEach((row, e) => {
      expect(row).toHaveLength(8);
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
      expect(row.indexOf(1)).toBe(expected[e]);
    });
    expect(genotypeChoice(genotype, 'reduce', DARTS_OPS)).toEqual([1, 1, 0, 1, 3, 4, 0, 0, 3, 0, 2, 3, 0, 0]);
  });

  it('follows the op set the model was trained on', () => {
    const ops = ['skip_connect', 'none', 'max_pool_3x3', 'avg_pool_3x3', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'];
    expect(genotypeChoice(genotype, 'normal', ops).slice(0, 4)).toEqual([4, 0, 2, 1]);
  });

  it('refuses a node that reads one input twice, and an op the op set lacks', () => {
    const twice: Genotype = { ...genotype, normal: [['sep_conv_3x3', 0], ['skip_connect', 0], ...genotype.normal.slice(2)] };
    expect(() => oneHotProbs(twice, 'normal', DARTS_OPS)).toThrow(/node 0 takes input 0 twice/);
    expect(() => oneHotProbs(genotype, 'normal', ['none', 'skip_connect'])).toThrow(UserError);
    expect(() => oneHotProbs(genotype, 'normal', ['skip_connect', 'sep_conv_3x3'])).toThrow(/lacks/);
  });
});

describe('latency bookkeeping', () => {
  const shapes = cellShapes({ C: 4, layers: 3, inputSize: 8 });

  it('predicts every cell with its type one-hot (a fake model that reads the probabilities)', () => {
    // The fake returns (index of the op on edge 0) + 10 * hw (+ 1000 if reduction) + 10⁴ · batch, so the
    // answer says which matrix, shape and batch it saw.
    const fake: LatencyModel = {
      ops: [...DARTS_OPS],
      edges: 14,
      base: 'none',
      trainedBatch: null,
      trainedShapes: [],
      additiveMs: () => 1,
      // Eval cells only: retrain-eval asks about the cells its evaluation network runs.
      predictMs: (cell, probs) => (cell.kind === 'eval' ? probs[0].indexOf(1) + 10 * cell.hw + (cell.reduction ? 1000 : 0) + 1e4 * cell.batch : NaN),
      predictTensor: () => {
        throw new Error('not used');
      },
      dispose: () => undefined,
    };
    expect(predictCells(fake, genotype, shapes, 3)).toEqual([4 + 80 + 3e4, 1 + 80 + 1000 + 3e4, 1 + 40 + 1000 + 3e4]);
  });

  it('sums cells and takes the relative error of the predicted sum against the measured sum', () => {
    const s = summariseLatency(shapes, [1, 2, 3], [1.5, 2, 3.5], 10);
    expect(s.measured_cells_latency_ms).toBe(6);
    expect(s.predicted_latency_ms).toBe(7);
    expect(s.latency_error).toBeCloseTo(1 / 6, 12);
    expect(s.cell_latency_ms).toEqual({ normal: 1, reduce: 2 });
    expect(s.latency_ms).toBe(10);
    const none = summariseLatency(shapes.slice(1), [2, 3], null, 5);
    expect(none).toMatchObject({ predicted_latency_ms: null, latency_error: null, cell_latency_ms: { normal: null, reduce: 2 } });
  });
});

describe('params that depend on each other', () => {
  it('measure.batch wins, then the model training batch, else 16; a several-batch model needs the param', async () => {
    const fake = { ops: [], edges: 14 } as unknown as LatencyModel;
    expect(resolveMeasureBatch(4, { model: fake, trainedBatch: 16 })).toBe(4);
    expect(resolveMeasureBatch(undefined, { model: fake, trainedBatch: 8 })).toBe(8);
    expect(resolveMeasureBatch(undefined, null)).toBe(16);
    expect(() => resolveMeasureBatch(undefined, { model: fake, trainedBatch: null })).toThrow(/measure\.batch/);
  });

  it('cutout belongs to cifar10, which also gets crop and flip', () => {
    expect(augmentationFor({ dataset: { name: 'cifar10', path: '/x', seed: 0 }, cutout: undefined })).toEqual({ crop: 4, flip: true, cutout: 16 });
    expect(augmentationFor({ dataset: { name: 'cifar10', path: '/x', seed: 0 }, cutout: 0 })).toEqual({ crop: 4, flip: true });
    expect(augmentationFor({ dataset: { name: 'mnist', seed: 0 }, cutout: undefined })).toBeUndefined();
    expect(() => augmentationFor({ dataset: { name: 'mnist', seed: 0 }, cutout: 16 })).toThrow(/cifar10 only/);
  });
});

describe('readGenotypeInput', () => {
  it('reads a bare or wrapped genotype and names the file when it is not one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lenna-geno-'));
    try {
      const input = (file: string) => ({ id: 'x', dir, files: [file], manifest: {} as never, path: (f: string) => join(dir, f) });
      await writeFile(join(dir, 'genotype.json'), JSON.stringify(genotype));
      expect(await readGenotypeInput(input('genotype.json'))).toEqual(genotype);
      await writeFile(join(dir, 'summary.json'), JSON.stringify({ genotype, epochs: 3 }));
      expect(await readGenotypeInput(input('summary.json'))).toEqual(genotype);
      await writeFile(join(dir, 'genotype.json'), JSON.stringify({ ...genotype, normal: [['conv_9x9', 0]] }));
      await expect(readGenotypeInput(input('genotype.json'))).rejects.toThrow(/genotype\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
