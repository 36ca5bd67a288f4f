import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lenna/compute';
import { readArrowFile, runStageInProcess, type ProgressEvent, type StageMessage } from '@lenna/core';
import type { Table } from 'apache-arrow';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { generateDataset } from '../src/generate.js';
import { lutSites } from '../src/lut.js';
import { opSubject } from '@lenna/measure-target';
import { createTfjsMeasurer } from '../src/measure.js';
import { DatasetGenParamsSchema } from '../src/params.js';
import { DATASET_FILE, OP_LUT_FILE, stage } from '../src/stage.js';
import { spearman } from '../src/stats.js';

const dirs: string[] = [];
async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `dataset-gen-${label}-`));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const tinyNormal = { reduction: false, reductionPrev: false, cPrevPrev: 4, cPrev: 4, c: 4, hw: 8, batch: 2 };
const tinyReduction = { reduction: true, reductionPrev: false, cPrevPrev: 4, cPrev: 8, c: 4, hw: 8, batch: 2 };
const quickProtocol = { runs: 2, hits: 2, threshold: 0.05, maxResets: 8, warmup: 1, lutRuns: 3 };

describe('dataset-gen on tfjs', () => {
  test('latency follows the recorded probabilities: more mass on the heavy ops, slower cell', async () => {
    // Heavy ops against free ones (none, identity), with r = 10 so each edge is nearly one-hot and the
    // heavy mass of a row spreads widely (about a binomial over 14 edges).
    const params = DatasetGenParamsSchema.parse({
      ops: ['none', 'skip_connect', 'sep_conv_5x5', 'dil_conv_5x5'],
      shapes: [tinyNormal],
      rowsPerShape: 12,
      oneHotFraction: 0,
      radii: [10],
      ...quickProtocol,
      // The minimum of a few runs shrugs off a busy machine's preemptions better than a median of two.
      runs: 5,
      quantile: 0,
      seed: 5,
    });
    const tensorsBefore = tf.memory().numTensors;
    const { rows } = await generateDataset({ params, scratchDir: await tempDir('corr'), measurer: createTfjsMeasurer() });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const heavyMass = rows.map((r) => r.plan.probs.reduce((s, p) => s + p[2] + p[3], 0));
    const latency = rows.map((r) => r.measured.latencyMs);
    expect(Math.max(...heavyMass) - Math.min(...heavyMass)).toBeGreaterThan(3);
    expect(spearman(heavyMass, latency)).toBeGreaterThan(0.5);
  });

  test('the stage writes both tables, reports progress and resumes from its scratch folder', async () => {
    const params = { shapes: [tinyNormal, tinyReduction], rowsPerShape: 3, ...quickProtocol, seed: 2 };
    const scratchDir = await tempDir('scratch');
    const events: StageMessage[] = [];
    const stagingDir = await tempDir('staging');
    await runStageInProcess(stage, { params, inputs: {}, stagingDir, scratchDir, onEvent: (m) => events.push(m) });

    const dataset = await readArrowFile(join(stagingDir, 'dataset', DATASET_FILE));
    const opLut = await readArrowFile(join(stagingDir, 'op-lut', OP_LUT_FILE));
    expect(dataset.numRows).toBe(6);
    expect(JSON.parse(dataset.schema.metadata.get('lenna.ops')!)).toHaveLength(8);
    for (const table of [dataset, opLut]) {
      expect(table.schema.metadata.get('lenna.target')).toBe('node');
      expect(table.schema.metadata.get('lenna.backend')).toBe(tf.getBackend());
      expect(table.schema.metadata.has('lenna.browser')).toBe(false);
    }
    const rows = dataset.toArray().map((r) => r.toJSON());
    for (const row of rows) {
      expect(row.latency_ms).toBeGreaterThan(0);
      expect(row.lut_latency_ms).toBeGreaterThan(0);
      expect(row.resets).toBeGreaterThanOrEqual(1);
    }
    const lut = opLut.toArray().map((r) => r.toJSON());
    expect(lut.filter((r) => r.op === 'none').every((r) => r.median_ms === 0)).toBe(true);
    expect(lut.filter((r) => r.op === 'sep_conv_5x5').every((r) => r.min_ms > 0 && r.q10_ms <= r.q90_ms)).toBe(true);
    expect(lut.some((r) => r.op === 'preprocess_relu_conv_bn' && r.c_in === 8 && r.c === 4)).toBe(true);
    const progress = events.flatMap((m) => (m.type === 'progress' ? [m.event as ProgressEvent] : []));
    expect(progress.filter((e) => e.label?.startsWith('rows')).at(-1)).toMatchObject({ done: 6, total: 6 });

    // A second run on the same scratch folder measures nothing again: every row comes from the log.
    const again = await tempDir('staging2');
    await runStageInProcess(stage, { params, inputs: {}, stagingDir: again, scratchDir, onEvent: (m) => events.push(m) });
    const reread = await readArrowFile(join(again, 'dataset', DATASET_FILE));
    expect(reread.toArray().map((r) => r.toJSON())).toEqual(rows);
  });

  test('a run interrupted after 2 rows resumes with those measurements and ends with the same rows', async () => {
    const params = DatasetGenParamsSchema.parse({ shapes: [tinyNormal, tinyReduction], rowsPerShape: 2, ...quickProtocol, seed: 9 });
    const measured = ['latency_ms', 'lut_latency_ms', 'resets', 'converged', 'cv'];
    const plain = (t: Table) => t.toArray().map((r) => Object.fromEntries(Object.entries(r.toJSON()).filter(([k]) => !measured.includes(k))));
    const whole = await generateDataset({ params, scratchDir: await tempDir('whole'), measurer: createTfjsMeasurer() });

    const scratchDir = await tempDir('cut');
    const abort = new AbortController();
    const kept: number[] = [];
    const cut = generateDataset({
      params, scratchDir, measurer: createTfjsMeasurer(), signal: abort.signal,
      onRow: (row, done) => (kept.push(row.latencyMs), done === 2 && abort.abort()),
    });
    await expect(cut).rejects.toThrow(/interrupted/);
    const resumed = await generateDataset({ params, scratchDir, measurer: createTfjsMeasurer() });
    expect(resumed.resumedRows).toBe(2);
    expect(plain(resumed.dataset)).toEqual(plain(whole.dataset));
    expect(resumed.rows.slice(0, 2).map((r) => r.measured.latencyMs)).toEqual(kept);
  });

  test('every op-table site runs alone and gives the output an edge of the cell would', () => {
    const afterReduction = { ...tinyNormal, reductionPrev: true, cPrevPrev: 6 };
    const sites = lutSites([tinyReduction, afterReduction], 4, DatasetGenParamsSchema.parse({}).ops);
    expect(sites.length).toBeGreaterThan(20);
    for (const site of sites.filter((s) => s.op !== 'none')) {
      const op = opSubject(site, 1);
      const y = tf.tidy(() => op.run());
      const out = Math.ceil(site.hw / site.stride);
      expect(y.shape, `${site.op} stride ${site.stride}`).toEqual([site.batch, out, out, site.c]);
      expect(Number.isFinite(y.sum().arraySync() as number)).toBe(true);
      y.dispose();
      op.dispose();
    }
  });
});
