import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { decodeSafetensors, UserError } from '@lenna/core';
import { loadDataset } from '@lenna/data';
import { CHECKPOINT_FILE } from '@lenna/nn';
import type { SearchData } from '../src/data.js';
import { dartsSearchParams } from '../src/params.js';
import { runSearch } from '../src/search.js';
import { TINY_PARAMS } from './helpers.js';

let root: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  root = await mkdtemp(join(tmpdir(), 'darts-search-fail-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a loss that is not finite', () => {
  it('stops the search naming epoch and step, and keeps the last checkpoint', async () => {
    const params = dartsSearchParams.parse({ ...TINY_PARAMS, epochs: 3, warmupEpochs: 1 });
    const { train } = await loadDataset({ ...TINY_PARAMS.dataset, name: 'synthetic', seed: 0 });
    const half = Math.floor(train.count / 2);
    const size = train.height * train.width * train.channels;
    const weights = { ...train, count: half, images: train.images.slice(0, half * size), labels: train.labels.slice(0, half) };
    // The α half holds NaN pixels: the warm-up epoch (weights only) finishes, the first α step fails.
    const arch = { ...train, count: train.count - half, images: new Float32Array((train.count - half) * size).fill(Number.NaN), labels: train.labels.slice(half) };
    const data: SearchData = { weights, arch, hw: train.height, channels: train.channels, numClasses: train.numClasses };
    const scratchDir = join(root, 'scratch');
    const logs: string[] = [];
    const search = runSearch({ params, data, scratchDir, progress: () => undefined, log: (m) => logs.push(m) });
    await expect(search).rejects.toThrow(/^darts-search stopped at epoch 2, step 1: the architecture loss is not finite \(NaN or Inf\); lower lr/);
    await expect(search).rejects.toBeInstanceOf(UserError);
    expect(logs.filter((l) => l.startsWith('epoch 1/3'))).toHaveLength(1);
    const { metadata } = decodeSafetensors(await readFile(join(scratchDir, CHECKPOINT_FILE)));
    expect(JSON.parse(metadata['lenna.state']).epoch).toBe(1);
  });
});

describe('params', () => {
  it('default to the official DARTS optimiser values and a quick MNIST search', () => {
    const p = dartsSearchParams.parse({});
    expect(p).toMatchObject({ lambda: 0, lr: 0.025, lrMin: 0.001, momentum: 0.9, weightDecay: 3e-4, gradClip: 5, archLr: 3e-4, archBetas: [0.5, 0.999], archWeightDecay: 1e-3, trainPortion: 0.5, order: 'first' });
    expect(p.dataset.name).toBe('mnist');
    expect(p.ops).toHaveLength(8);
  });

  it('reject unknown keys, unknown ops and a negative λ', () => {
    expect(dartsSearchParams.safeParse({ lamda: 1 }).success).toBe(false);
    expect(dartsSearchParams.safeParse({ ops: ['conv_7x7'] }).success).toBe(false);
    expect(dartsSearchParams.safeParse({ lambda: -1 }).success).toBe(false);
    expect(dartsSearchParams.safeParse({ dataset: { name: 'mnist', resize: 16 } }).success).toBe(true);
  });
});
