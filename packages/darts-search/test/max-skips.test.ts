import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { readArrowFile, readSafetensorsFile, runStageInProcess, tableToRows } from '@lenna/core';
import { cellShapes, edgeCount, genotypeFromAlphas, genotypeToText, type Genotype } from '@lenna/nn';
import { genotypeProbs } from '../src/genotype-probs.js';
import { dartsSearchParams } from '../src/params.js';
import { stage } from '../src/stage.js';
import { latencyMs, TINY_OPS, TINY_PARAMS, writeHandModel } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  root = await mkdtemp(join(tmpdir(), 'darts-search-skips-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const skips = (g: Genotype) => g.normal.filter(([op]) => op === 'skip_connect').length;

describe('maxSkips', () => {
  it('defaults to P-DARTS’s 2, takes null, and refuses an op set with nothing to replace a skip', () => {
    expect(dartsSearchParams.parse({}).maxSkips).toBe(2);
    expect(dartsSearchParams.parse({ maxSkips: null }).maxSkips).toBeNull();
    expect(dartsSearchParams.safeParse({ maxSkips: -1 }).success).toBe(false);
    const bare = dartsSearchParams.safeParse({ ops: ['none', 'skip_connect'] });
    expect(bare.success).toBe(false);
    expect(bare.error?.issues[0].path).toEqual(['maxSkips']);
    expect(dartsSearchParams.safeParse({ ops: ['none', 'skip_connect'], maxSkips: null }).success).toBe(true);
  });

  it('writes the limited genotype of the final α, while the history shows the derivation without a limit', async () => {
    // Skips are the cheapest op of the hand latency model, so a large λ drives α towards them.
    const modelDir = await writeHandModel(join(root, 'model'), TINY_OPS, edgeCount(TINY_PARAMS.nodes));
    const dir = join(root, 'out');
    const params = { ...TINY_PARAMS, epochs: 2, lambda: 50, archLr: 0.2, seed: 3, maxSkips: 0 };
    await runStageInProcess(stage, { params, inputs: { model: modelDir }, stagingDir: dir, scratchDir: join(root, 'scratch') });
    const { tensors } = await readSafetensorsFile(join(dir, 'alphas', 'alphas.safetensors'));
    const rows = (name: string) => {
      const t = tensors[name];
      const data = Array.from(t.data as Float32Array);
      return Array.from({ length: t.shape[0] }, (_, e) => data.slice(e * t.shape[1], (e + 1) * t.shape[1]));
    };
    const [normal, reduce] = [rows('alphas_normal'), rows('alphas_reduce')];
    const official = genotypeFromAlphas(normal, reduce, TINY_OPS);
    expect(skips(official)).toBeGreaterThan(0);
    const written = JSON.parse(await readFile(join(dir, 'genotype', 'genotype.json'), 'utf8')) as Genotype;
    expect(written).toEqual(genotypeFromAlphas(normal, reduce, TINY_OPS, { maxSkips: 0 }));
    expect(skips(written)).toBe(0);
    const history = tableToRows(await readArrowFile(join(dir, 'history', 'history.arrow')));
    expect(history.at(-1)!.genotype).toBe(genotypeToText(official));
    expect(history.at(-1)!.n_skip).toBe(skips(official));
    // genotype_latency_ms is the written (limited) genotype's, not the history's unlimited one, over the search network's cells.
    const cellsMs = (g: Genotype) => {
      const p = genotypeProbs(g, TINY_OPS, TINY_PARAMS.nodes);
      return cellShapes({ C: TINY_PARAMS.C, layers: TINY_PARAMS.layers, nodes: TINY_PARAMS.nodes, inputSize: 8 }).reduce((sum, s) => sum + latencyMs(TINY_OPS, s.c, s.reduction ? p.reduce : p.normal), 0);
    };
    expect(cellsMs(written)).not.toBeCloseTo(cellsMs(official), 3);
    expect(history.at(-1)!.genotype_latency_ms).toBeCloseTo(cellsMs(written), 4);
    expect(JSON.parse(await readFile(join(dir, 'summary', 'summary.json'), 'utf8')).genotype_text).toBe(genotypeToText(written));
  });
});
