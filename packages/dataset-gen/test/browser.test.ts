import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM_HOW_TO, findChromium, readArrowFile, runStageInProcess, systemRequirement } from '@lenna/core';
import { DATASET_FILE, OP_LUT_FILE, stage } from '../src/stage.js';

const browser = systemRequirement(findChromium(), { thing: 'BROWSER', what: 'Chromium', tests: 'dataset-gen with target browser', howTo: CHROMIUM_HOW_TO });
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

it.skipIf(browser.skip)('target browser: rows and op table measured in headless Chromium, which the tables name', async () => {
  const stagingDir = await mkdtemp(join(tmpdir(), 'dataset-gen-browser-'));
  dirs.push(stagingDir);
  const shape = { reduction: false, reductionPrev: true, cPrevPrev: 4, cPrev: 8, c: 4, hw: 4, batch: 2, kind: 'eval' };
  const protocol = { runs: 2, minResets: 2, maxResets: 3, warmup: 0, lutRuns: 2, referenceVisits: 2 };
  const params = { shapes: [shape], rowsPerShape: 2, ...protocol, target: 'browser', browser: { backend: 'wasm', executable: browser.get() } };
  const logs: string[] = [];
  await runStageInProcess(stage, { params, inputs: {}, stagingDir, onEvent: (m) => m.type === 'log' && logs.push(m.message) });
  const dataset = await readArrowFile(join(stagingDir, 'dataset', DATASET_FILE));
  const opLut = await readArrowFile(join(stagingDir, 'op-lut', OP_LUT_FILE));
  for (const table of [dataset, opLut]) {
    expect(table.schema.metadata.get('lenna.target')).toBe('browser');
    expect(table.schema.metadata.get('lenna.backend')).toBe('wasm');
    expect(table.schema.metadata.get('lenna.clock')).toBe('wall');
    expect(table.schema.metadata.get('lenna.browser')).toMatch(/^(Headless)?Chrom(e|ium)\/\d+\./);
  }
  expect(logs).toContain(`dataset-gen: measuring on browser ${dataset.schema.metadata.get('lenna.browser')} (wasm), wall clock`);
  const rows = dataset.toArray().map((r) => r.toJSON());
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row).toMatchObject({ cell_kind: 'eval', latency_ms: expect.any(Number), reference_ms: expect.any(Number) });
  for (const row of rows) expect(row.latency_ms * row.reference_ms).toBeGreaterThan(0);
  // The page's clock ticks in 0.1 ms (no cross-origin isolation), so the tiniest ops may read 0.
  const lut = opLut.toArray().map((r) => r.toJSON());
  expect(lut.length).toBeGreaterThan(8);
  expect(lut.every((r) => r.runs === 2 && r.min_ms >= 0 && r.q90_ms >= r.min_ms)).toBe(true);
});
