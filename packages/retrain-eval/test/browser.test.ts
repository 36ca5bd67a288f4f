import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM_HOW_TO, findChromium, readArrowFile, runStageInProcess, systemRequirement, tableToRows } from '@lenna/core';
import { loadDataset } from '@lenna/data';
import { launchBrowserTarget, type BrowserTarget } from '@lenna/measure-target';
import type { Genotype } from '@lenna/nn';
import { stage } from '../src/stage.js';

const browser = systemRequirement(findChromium(), { thing: 'BROWSER', what: 'Chromium', tests: 'retrain-eval in the browser (timing, and the web model classifying)', howTo: CHROMIUM_HOW_TO });

const genotype: Genotype = {
  normal: [['sep_conv_3x3', 0], ['skip_connect', 1], ['max_pool_3x3', 0], ['avg_pool_3x3', 2]],
  normal_concat: [2, 3],
  reduce: [['avg_pool_3x3', 0], ['dil_conv_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1]],
  reduce_concat: [2, 3],
};
const dataset = { name: 'mnist', limit: 120, resize: 12, seed: 0 } as const;

const root = await mkdtemp(join(tmpdir(), 'retrain-eval-browser-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/** The web model's logits in Node (tf.loadGraphModel over the files) and in a page on `backend`. */
async function classifyInBrowser(backend: 'wasm' | 'webgl', modelDir: string, images: tf.Tensor4D): Promise<{ logits: number[][]; classes: number[] } | Error> {
  const target = await launchBrowserTarget({ backend, executable: browser.get(), serve: { '/model/': modelDir } }).catch((err: Error) => err);
  if (target instanceof Error) return target;
  try {
    return await (target as BrowserTarget).classify({ modelUrl: `${target.url}model/model.json`, images: Array.from(images.dataSync()), shape: images.shape });
  } finally {
    await target.close();
  }
}

it.skipIf(browser.skip)('times in the browser, says so in its metrics, and its web model classifies test images in Chromium as in Node', async () => {
  const genotypeDir = join(root, 'genotype');
  await mkdir(genotypeDir);
  await writeFile(join(genotypeDir, 'genotype.json'), JSON.stringify(genotype));
  const staging = join(root, 'out');
  const params = { C: 4, layers: 3, epochs: 1, batchSize: 30, dataset, measure: { warmup: 0, runs: 2, batch: 2 }, target: 'browser', browser: { backend: 'wasm', executable: browser.get() } };
  await runStageInProcess(stage, { params, inputs: { genotype: genotypeDir }, stagingDir: staging });

  const metrics = JSON.parse(await readFile(join(staging, 'metrics', 'metrics.json'), 'utf8'));
  expect(metrics).toMatchObject({ target: 'browser', backend: 'wasm', renderer: null, measure: { clock: 'wall' } });
  expect(metrics.browser).toMatch(/^(Headless)?Chrom(e|ium)\/\d+\./);
  expect(metrics.latency_ms).toBeGreaterThan(0);
  expect(metrics.cells.every((c: { measured_ms: number }) => c.measured_ms > 0)).toBe(true);
  const [row] = tableToRows(await readArrowFile(join(staging, 'metrics', 'metrics.arrow')));
  expect(row).toMatchObject({ target: 'browser', backend: 'wasm', browser: metrics.browser });

  // A few test images, preprocessed as the model's metadata says (the data set's own normalisation and resize).
  const modelDir = join(staging, 'web-model');
  const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
  expect(json.userDefinedMetadata).toMatchObject({ input: { size: 12, channels: 1 }, resize: 12, dataset: 'mnist', normalisation: { mean: [0.1307], std: [0.3081] } });
  expect(json.userDefinedMetadata.classNames).toHaveLength(10);
  const { test } = await loadDataset({ ...dataset });
  const images = tf.tensor4d(test.images.slice(0, 6 * 12 * 12), [6, 12, 12, 1]);
  const shard = await readFile(join(modelDir, json.weightsManifest[0].paths[0]));
  const weightData = shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength);
  const graph = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData, signature: json.signature }));
  const inNode = (await (graph.predict(images) as tf.Tensor).array()) as number[][];
  graph.dispose();

  for (const backend of ['wasm', 'webgl'] as const) {
    const page = await classifyInBrowser(backend, modelDir, images);
    if (page instanceof Error) {
      // webgl only where this Chromium has it; wasm always.
      expect(backend, page.message).toBe('webgl');
      expect(page.message).toMatch(/^The webgl backend is not available/);
      continue;
    }
    expect(page.classes, backend).toEqual(inNode.map((r) => r.indexOf(Math.max(...r))));
    const diff = Math.max(...page.logits.flatMap((r, i) => r.map((v, j) => Math.abs(v - inNode[i][j]))));
    expect(diff, backend).toBeLessThan(1e-3 * Math.max(1, ...inNode.flat().map(Math.abs)));
  }
  images.dispose();
});
