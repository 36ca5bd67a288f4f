import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArrowFile, runStageInProcess, tableToRows } from '@lenna/core';
import { REPORT_COLUMNS } from '../src/row.js';
import { stage } from '../src/stage.js';
import { makeFakeSweep, SWEEP } from './fixtures.js';

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function runReport(options: Parameters<typeof makeFakeSweep>[0] = {}): Promise<string> {
  const sweep = await makeFakeSweep(options);
  const stagingDir = await mkdtemp(join(tmpdir(), 'lenna-report-out-'));
  cleanup.push(sweep.root, stagingDir);
  await runStageInProcess(stage, { params: {}, inputs: sweep.inputs, stagingDir, instance: 'report' });
  return stagingDir;
}

async function readAll(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const output of ['table', 'plots', 'html']) {
    for (const file of (await readdir(join(dir, output))).sort()) out[`${output}/${file}`] = (await readFile(join(dir, output, file))).toString('base64');
  }
  return out;
}

function opFamilies(ops: string[]): [number, number, number, number] {
  return [
    ops.filter((op) => op === 'sep_conv_3x3' || op === 'sep_conv_5x5').length,
    ops.filter((op) => op === 'dil_conv_3x3' || op === 'dil_conv_5x5').length,
    ops.filter((op) => op === 'max_pool_3x3' || op === 'avg_pool_3x3').length,
    ops.filter((op) => op === 'skip_connect').length,
  ];
}

describe('report stage end to end (runStageInProcess on fake upstream artifacts)', () => {
  it('writes the table sorted by lambda with every column, matched to the right search', async () => {
    const out = await runReport({ withPredictor: true });
    const rows = tableToRows(await readArrowFile(join(out, 'table', 'table.arrow')));
    const table = await readArrowFile(join(out, 'table', 'table.arrow'));
    expect(table.schema.fields.map((f) => f.name)).toEqual(REPORT_COLUMNS.map((c) => c.name));
    expect(rows.map((r) => r.lambda)).toEqual([0, 0.1, 0.5]);
    for (const row of rows) {
      const source = SWEEP.find((s) => s.lambda === row.lambda)!;
      expect(row.instance).toBe(`retrain-eval@lambda=${source.lambda}`);
      expect(row.seed).toBe(source.seed);
      expect(row.test_acc).toBe(source.metrics.test_acc);
      expect(row.latency_ms).toBe(source.metrics.latency_ms);
      expect(row.predicted_latency_ms).toBe(source.metrics.predicted_latency_ms);
      expect(row.macs).toBe(source.metrics.macs);
      expect(row.search_seconds).toBe(100 + source.lambda * 10);
      const ops = [...source.genotype.normal, ...source.genotype.reduce].map(([op]) => op);
      expect([row.n_sep, row.n_dil, row.n_pool, row.n_skip]).toEqual(opFamilies(ops));
      expect(String(row.genotype)).toContain(source.genotype.normal[0][0]);
    }
    // λ=0.5 counted by hand: normal 1 sep, 1 dil, 2 pool, 4 skip; reduce 5 pool, 3 skip.
    const fast = rows.find((r) => r.lambda === 0.5)!;
    expect([fast.n_sep, fast.n_dil, fast.n_pool, fast.n_skip]).toEqual([1, 1, 7, 7]);

    const csv = await readFile(join(out, 'table', 'table.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe(REPORT_COLUMNS.map((c) => c.name).join(','));
    expect(csv.trimEnd().split('\n')).toHaveLength(4);
    const md = await readFile(join(out, 'table', 'table.md'), 'utf8');
    expect(md.trimEnd().split('\n')).toHaveLength(5);
    expect(md).toContain('| retrain-eval@lambda=0.5 | 0.5 | 1 | 0.91 |');

    const plots = (await readdir(join(out, 'plots'))).sort();
    expect(plots).toEqual(['accuracy-latency.svg', 'predicted-measured.svg', 'predictor-parity.svg', 'search-latency.svg']);
    const html = await readFile(join(out, 'html', 'report.html'), 'utf8');
    expect(html.match(/<svg[\s>]/g)).toHaveLength(4);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('<table id="predictor-table">');
    expect(html).toContain('<td>mlp</td>');
    expect(html).not.toContain('<th>split</th>');
  });

  it('matches runs to searches by instance name when manifests carry no input ids', async () => {
    const out = await runReport({ noInputIds: true });
    const rows = tableToRows(await readArrowFile(join(out, 'table', 'table.arrow')));
    for (const row of rows) {
      const source = SWEEP.find((s) => s.lambda === row.lambda)!;
      expect(row.search_seconds).toBe(100 + source.lambda * 10);
      const ops = [...source.genotype.normal, ...source.genotype.reduce].map(([op]) => op);
      expect([row.n_sep, row.n_dil, row.n_pool, row.n_skip]).toEqual(opFamilies(ops));
    }
  });

  it('gives the same bytes for every file when run twice', async () => {
    const first = await readAll(await runReport({ withPredictor: true }));
    const second = await readAll(await runReport({ withPredictor: true }));
    expect(Object.keys(first).length).toBe(8);
    expect(second).toEqual(first);
  });

  it('refuses a run whose metrics.json has a non-number metric, naming the file and key', async () => {
    const sweep = await makeFakeSweep();
    cleanup.push(sweep.root);
    const runDir = (sweep.inputs.runs as string[])[0];
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(runDir, 'metrics.json'), JSON.stringify({ test_acc: 'high', latency_ms: 1 }));
    const stagingDir = await mkdtemp(join(tmpdir(), 'lenna-report-out-'));
    cleanup.push(stagingDir);
    await expect(runStageInProcess(stage, { params: {}, inputs: sweep.inputs, stagingDir })).rejects.toThrow(/metrics\.json: 'test_acc' is "high"/);
  });
});
