import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { readArrowFile, readSafetensorsFile, runStageInProcess, tableToRows, type StageMessage } from '@lenna/core';
import { edgeCount, genotypeToText, parseGenotype } from '@lenna/nn';
import { stage } from '../src/stage.js';
import { TINY_OPS, TINY_PARAMS, writeHandModel } from './helpers.js';

let root: string;
let modelDir: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  root = await mkdtemp(join(tmpdir(), 'darts-search-'));
  modelDir = await writeHandModel(join(root, 'model'), TINY_OPS, edgeCount(TINY_PARAMS.nodes));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  dir: string;
  logs: string[];
}

async function search(name: string, params: Record<string, unknown>, opts: { scratch?: string; abortAfterEpoch?: number; model?: boolean } = {}): Promise<Run> {
  const dir = join(root, name);
  const logs: string[] = [];
  const abort = new AbortController();
  const onEvent = (m: StageMessage) => {
    if (m.type !== 'log') return;
    logs.push(m.message);
    if (opts.abortAfterEpoch !== undefined && m.message.startsWith(`epoch ${opts.abortAfterEpoch}/`)) abort.abort();
  };
  await runStageInProcess(stage, {
    params: { ...TINY_PARAMS, ...params },
    inputs: opts.model === false ? {} : { model: modelDir },
    stagingDir: dir,
    scratchDir: opts.scratch ?? join(root, `${name}.scratch`),
    onEvent,
    signal: abort.signal,
  });
  return { dir, logs };
}

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));
const alphasOf = async (run: Run) => (await readSafetensorsFile(join(run.dir, 'alphas', 'alphas.safetensors'))).tensors;
const historyOf = async (run: Run) => tableToRows(await readArrowFile(join(run.dir, 'history', 'history.arrow')));

describe('darts-search stage', () => {
  it('resumes a killed search from its last finished epoch and ends as an uninterrupted one', async () => {
    const params = { epochs: 2, lambda: 1, seed: 5 };
    const before = tf.memory().numTensors;
    const whole = await search('whole', params);
    // The search releases its network, optimisers, batches and latency model (a per-step leak would
    // leave hundreds); the few left are constants the backend or @lenna/nn cache once per process.
    expect(tf.memory().numTensors - before).toBeLessThan(10);
    const scratch = join(root, 'killed.scratch');
    await expect(search('killed', params, { scratch, abortAfterEpoch: 1 })).rejects.toThrow(/interrupted at epoch 2, step 1/);
    const resumed = await search('resumed', params, { scratch });
    expect(resumed.logs).toContain('resuming darts-search after epoch 1 of 2');
    expect(resumed.logs.filter((l) => l.startsWith('epoch '))).toHaveLength(1);
    expect(await readJson(join(resumed.dir, 'genotype', 'genotype.json'))).toEqual(await readJson(join(whole.dir, 'genotype', 'genotype.json')));
    const [a, b] = [await alphasOf(whole), await alphasOf(resumed)];
    for (const name of ['alphas_normal', 'alphas_reduce']) {
      const [x, y] = [a[name].data as Float32Array, b[name].data as Float32Array];
      expect(x.length).toBe(y.length);
      expect(Math.max(...x.map((v, i) => Math.abs(v - y[i])))).toBeLessThanOrEqual(1e-6);
    }
    const [h1, h2] = [await historyOf(whole), await historyOf(resumed)];
    expect(h2.map((r) => r.val_loss)).toEqual(h1.map((r) => r.val_loss));
  });

  it('with a large λ lowers E[lat] every epoch and ends on a faster genotype than λ = 0; outputs follow the interface', async () => {
    const common = { epochs: 3, archLr: 0.05, seed: 2 };
    const plain = await search('lambda0', { ...common, lambda: 0 });
    const fast = await search('lambda-big', { ...common, lambda: 5 });
    const latencies = (await historyOf(fast)).map((r) => r.expected_latency_ms as number);
    expect(latencies).toHaveLength(3);
    for (let i = 1; i < latencies.length; i++) expect(latencies[i]).toBeLessThan(latencies[i - 1]);
    const [s0, s1] = [await readJson(join(plain.dir, 'summary', 'summary.json')), await readJson(join(fast.dir, 'summary', 'summary.json'))];
    expect(s1.genotype_latency_ms).toBeLessThan(s0.genotype_latency_ms);
    expect(s1.expected_latency_ms.final).toBeLessThan(s1.expected_latency_ms.initial);
    expect(s1.expected_latency_ms.initial).toBeCloseTo(s0.expected_latency_ms.initial, 10);
    expect(s1).toMatchObject({ lambda: 5, seed: 2, epochs: 3, ops: TINY_OPS, latency_batch: 8, target_ms: null, latency_network: { network: 'search', C: 2, layers: 3, input_size: 8 } });

    // Interface: genotype JSON, α with its op order, one history row per epoch with the documented columns.
    parseGenotype(await readJson(join(fast.dir, 'genotype', 'genotype.json')));
    const st = await readSafetensorsFile(join(fast.dir, 'alphas', 'alphas.safetensors'));
    expect(Object.keys(st.tensors).sort()).toEqual(['alphas_normal', 'alphas_reduce']);
    expect(st.tensors.alphas_normal).toMatchObject({ dtype: 'F32', shape: [edgeCount(2), TINY_OPS.length] });
    expect(JSON.parse(st.metadata.ops)).toEqual(TINY_OPS);
    const rows = await historyOf(plain);
    expect(Object.keys(rows[0])).toEqual(['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'expected_latency_ms', 'genotype_latency_ms', 'alpha_entropy', 'genotype', 'n_skip', 'seconds', 'lr']);
    expect(rows.map((r) => r.epoch)).toEqual([0, 1, 2]);
    expect(rows[2].lr as number).toBeLessThan(rows[0].lr as number);
    // The summary holds the written genotype (skip limit applied); the history's text is DARTS's derivation without it.
    expect(s0.genotype_text).toBe(genotypeToText(await readJson(join(plain.dir, 'genotype', 'genotype.json'))));
    expect(rows[2].genotype_latency_ms).toBeCloseTo(s0.genotype_latency_ms, 6);
  });

  it('runs second order through the stage, with a different α than first order', async () => {
    const params = { epochs: 1, lambda: 1, seed: 4, archLr: 0.01 };
    const [first, second] = [await search('first', params), await search('second', { ...params, order: 'second' })];
    const [a, b] = [await alphasOf(first), await alphasOf(second)];
    const x = a.alphas_normal.data as Float32Array;
    const y = b.alphas_normal.data as Float32Array;
    expect(y.every(Number.isFinite)).toBe(true);
    expect(Math.max(...x.map((v, i) => Math.abs(v - y[i])))).toBeGreaterThan(1e-6);
  });

  it('refuses λ > 0 without a latency model, naming the input', async () => {
    await expect(search('nomodel', { epochs: 1, lambda: 0.5 }, { model: false })).rejects.toThrow(/lambda 0.5 but no latency model input/);
  });
});
