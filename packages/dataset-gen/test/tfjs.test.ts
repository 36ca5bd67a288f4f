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
import { createTfjsTimer, opSubject } from '@lenna/measure-target';
import { DatasetGenParamsSchema } from '../src/params.js';
import { measureRow } from '../src/protocol.js';
import { DATASET_FILE, OP_LUT_FILE, stage } from '../src/stage.js';

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

const tinyNormal = { reduction: false, reductionPrev: false, cPrevPrev: 4, cPrev: 4, c: 4, hw: 8, batch: 2, kind: 'search' } as const;
const tinyReduction = { reduction: true, reductionPrev: false, cPrevPrev: 4, cPrev: 8, c: 4, hw: 8, batch: 2, kind: 'eval' } as const;
const quickProtocol = { runs: 2, maxResets: 4, warmup: 1, lutRuns: 3, referenceVisits: 2 };

describe('dataset-gen on tfjs', () => {
  test('a cell measured through the protocol costs what its probabilities say: all sep_conv_5x5 far above all none', async () => {
    // Not a timing test: the two cells differ by an order of magnitude in work, which no load hides.
    const ops = DatasetGenParamsSchema.parse({}).ops;
    const timer = await createTfjsTimer();
    const settings = DatasetGenParamsSchema.parse({ ...quickProtocol, minResets: 2, maxResets: 2 });
    const coefficients = { costs: new Array(14 * ops.length).fill(0), constantMs: 0 };
    const onEveryEdge = (op: string) => Array.from({ length: 14 }, () => ops.map((o) => (o === op ? 1 : 0)));
    const tensorsBefore = tf.memory().numTensors;
    const heavy = await measureRow(timer, { shape: tinyNormal, probs: onEveryEdge('sep_conv_5x5'), gateSeed: 1 }, ops, coefficients, undefined, settings, 3);
    const empty = await measureRow(timer, { shape: tinyNormal, probs: onEveryEdge('none'), gateSeed: 1 }, ops, coefficients, undefined, settings, 3);
    await timer.close?.();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(heavy.meanMs).toBeGreaterThan(2 * empty.meanMs);
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
      expect(['wall', 'cpu']).toContain(table.schema.metadata.get('lenna.clock'));
    }
    const rows = dataset.toArray().map((r) => r.toJSON());
    for (const row of rows) {
      expect(row.latency_ms).toBeGreaterThan(0);
      expect(row.lut_latency_ms).toBeGreaterThan(0);
      expect(row.reference_ms).toBeGreaterThan(0);
      expect(row.se_ms).toBeGreaterThanOrEqual(0);
      expect(row.resets).toBeGreaterThanOrEqual(3);
    }
    expect(rows.map((r) => r.cell_kind)).toEqual(['search', 'search', 'search', 'eval', 'eval', 'eval']);
    const lut = opLut.toArray().map((r) => r.toJSON());
    expect(lut.filter((r) => r.op === 'none').every((r) => r.median_ms === 0)).toBe(true);
    expect(lut.filter((r) => r.op === 'sep_conv_5x5').every((r) => r.min_ms > 0 && r.q10_ms <= r.q90_ms)).toBe(true);
    expect(lut.some((r) => r.op === 'preprocess_relu_conv_bn' && r.c_in === 8 && r.c === 4 && r.cell_kind === 'eval')).toBe(true);
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
    const measured = ['latency_ms', 'se_ms', 'lut_latency_ms', 'reference_ms', 'resets', 'converged', 'cv'];
    const plain = (t: Table) => t.toArray().map((r) => Object.fromEntries(Object.entries(r.toJSON()).filter(([k]) => !measured.includes(k))));
    const timer = await createTfjsTimer();
    const whole = await generateDataset({ params, scratchDir: await tempDir('whole'), timer });

    const scratchDir = await tempDir('cut');
    const abort = new AbortController();
    const kept: number[] = [];
    const cut2 = new Map<number, number>();
    const cut = generateDataset({
      params, scratchDir, timer, signal: abort.signal,
      onRow: (row, done) => (kept.push(row.index), cut2.set(row.index, row.latencyMs), done === 2 && abort.abort()),
    });
    await expect(cut).rejects.toThrow(/interrupted/);
    const resumed = await generateDataset({ params, scratchDir, timer });
    await timer.close?.();
    expect(resumed.resumedRows).toBe(2);
    expect(plain(resumed.dataset)).toEqual(plain(whole.dataset));
    expect(kept.map((index) => resumed.rows[index].measured.latencyMs)).toEqual(kept.map((index) => cut2.get(index)));
  });

  test('every op-table site runs alone and gives the output an edge of the cell would', () => {
    const afterReduction = { ...tinyNormal, reductionPrev: true, cPrevPrev: 6 };
    const sites = lutSites([tinyReduction, afterReduction, { ...tinyReduction, kind: 'search' }], 4, DatasetGenParamsSchema.parse({}).ops);
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
