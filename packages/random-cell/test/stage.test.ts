import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, runStageInProcess } from '@lenna/core';
import { DARTS_OPS, genotypeToText, parseGenotype, randomGenotype, type Genotype } from '@lenna/nn';
import { randomCellParams } from '../src/params.js';
import { sampleCell, stage } from '../src/stage.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'random-cell-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

describe('random-cell stage', () => {
  it('writes draw `index` of the seed’s stream as a DARTS genotype.json, and its skip counts', async () => {
    const dir = join(root, 'seed2-index3');
    const logs: string[] = [];
    await runStageInProcess(stage, {
      params: { seed: 2, index: 3 },
      inputs: {},
      stagingDir: dir,
      onEvent: (m) => (m.type === 'log' ? logs.push(m.message) : undefined),
    });
    const rng = createRng(2);
    const stream = Array.from({ length: 4 }, () => randomGenotype(rng, { nodes: 4, ops: DARTS_OPS }));
    const written = (await readJson(join(dir, 'genotype', 'genotype.json'))) as Genotype;
    expect(written).toEqual(stream[3]);
    expect(parseGenotype(written)).toEqual(written);
    const normalSkips = written.normal.filter(([op]) => op === 'skip_connect').length;
    const reduceSkips = written.reduce.filter(([op]) => op === 'skip_connect').length;
    expect(await readJson(join(dir, 'summary', 'summary.json'))).toEqual({
      seed: 2,
      index: 3,
      nodes: 4,
      ops: [...DARTS_OPS],
      genotype_text: genotypeToText(written),
      n_skip_normal: normalSkips,
      n_skip_reduce: reduceSkips,
    });
    expect(logs.some((l) => l.includes(`${normalSkips} skips in the normal cell`))).toBe(true);
  });

  it('gives twelve different cells for index 0…11 and the same cell for the same params', () => {
    const cells = Array.from({ length: 12 }, (_, index) => genotypeToText(sampleCell({ seed: 0, index, nodes: 4, ops: DARTS_OPS })));
    expect(new Set(cells).size).toBe(12);
    expect(genotypeToText(sampleCell({ seed: 0, index: 5, nodes: 4, ops: DARTS_OPS }))).toBe(cells[5]);
    expect(genotypeToText(sampleCell({ seed: 1, index: 5, nodes: 4, ops: DARTS_OPS }))).not.toBe(cells[5]);
  });

  it('takes nodes and an op set, and refuses one with nothing but none', () => {
    const p = randomCellParams.parse({ nodes: 2, ops: ['none', 'max_pool_3x3', 'sep_conv_3x3'] });
    const g = sampleCell(p);
    expect(g.normal).toHaveLength(4);
    expect([...g.normal, ...g.reduce].every(([op]) => op === 'max_pool_3x3' || op === 'sep_conv_3x3')).toBe(true);
    expect(randomCellParams.parse({})).toEqual({ seed: 0, index: 0, nodes: 4, ops: [...DARTS_OPS] });
    expect(randomCellParams.safeParse({ ops: ['none'] }).success).toBe(false);
    expect(randomCellParams.safeParse({ ops: ['conv_7x7'] }).success).toBe(false);
    expect(randomCellParams.safeParse({ index: -1 }).success).toBe(false);
    expect(randomCellParams.safeParse({ lambda: 1 }).success).toBe(false);
  });
});
