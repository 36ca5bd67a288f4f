import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile, runStageInProcess, UserError, writeArrowFile } from '@lenna/core';
import { parseTransforms, readCellRows, shapeKey, syntheticDatasetTable, SYNTHETIC_SHAPES } from '@lenna/latency-model';
import { stage } from '../src/stage.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lenna-preprocess-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function datasetDir(name: string, rowsPerShape: number): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeArrowFile(join(dir, 'dataset.arrow'), syntheticDatasetTable({ rowsPerShape, seed: 5 }));
  return dir;
}

describe('preprocess stage', () => {
  it('writes stratified splits with every dataset column and train-fitted transforms', async () => {
    const dataset = await datasetDir('ok', 20);
    const stagingDir = join(root, 'out');
    await runStageInProcess(stage, { params: { seed: 1, probs: 'standardise' }, inputs: { dataset }, stagingDir });

    const original = await readArrowFile(join(dataset, 'dataset.arrow'));
    const splits = await Promise.all(['train', 'val', 'test'].map((name) => readArrowFile(join(stagingDir, name, `${name}.arrow`))));
    expect(splits.map((s) => s.numRows)).toEqual([56, 12, 12]);
    for (const split of splits) {
      expect(split.schema.fields.map((f) => f.name)).toEqual(original.schema.fields.map((f) => f.name));
      expect(split.schema.metadata.get('lenna.ops')).toBe(original.schema.metadata.get('lenna.ops'));
      // The additive coefficients travel with every split: the predictor puts them in its model.
      expect(split.schema.metadata.get('lenna.additive')).toBe(original.schema.metadata.get('lenna.additive'));
      const shapes = new Set(readCellRows(split, 'split').rows.map(shapeKey));
      expect(shapes.size).toBe(SYNTHETIC_SHAPES.length);
    }
    // Every original latency lands in exactly one split.
    const latencies = (t: typeof original) => Array.from(t.getChild('latency_ms')!.toArray() as Float64Array);
    expect(splits.flatMap(latencies).sort()).toEqual(latencies(original).sort());

    expect(await readdir(join(stagingDir, 'transforms'))).toEqual(['transforms.json']);
    const transforms = parseTransforms(JSON.parse(await readFile(join(stagingDir, 'transforms', 'transforms.json'), 'utf8')), 'transforms.json');
    const trainLogMs = latencies(splits[0]).map(Math.log);
    const mean = trainLogMs.reduce((a, b) => a + b, 0) / trainLogMs.length;
    expect(transforms.target.mean).toBeCloseTo(mean, 10);
    expect(transforms.probs.mode).toBe('standardise');
    expect(transforms.featureOrder).toHaveLength(10 + 14 * 8);
    const trainLogRatio = Array.from(splits[0].getChild('latency_ms')!.toArray() as Float64Array, (ms, i) => Math.log(ms / (splits[0].getChild('lut_latency_ms')!.get(i) as number)));
    expect(transforms.residual.mean).toBeCloseTo(trainLogRatio.reduce((a, b) => a + b, 0) / trainLogRatio.length, 10);
  });

  it('refuses a dataset with a shape of fewer than 3 rows', async () => {
    const dataset = await datasetDir('tiny', 2);
    await expect(runStageInProcess(stage, { params: {}, inputs: { dataset }, stagingDir: join(root, 'out-tiny') })).rejects.toThrow(UserError);
  });

  it('refuses fractions that leave no train rows', async () => {
    const dataset = await datasetDir('fractions', 5);
    await expect(
      runStageInProcess(stage, { params: { valFraction: 0.5, testFraction: 0.5 }, inputs: { dataset }, stagingDir: join(root, 'out-fractions') }),
    ).rejects.toThrow(/valFraction \+ testFraction/);
  });
});
