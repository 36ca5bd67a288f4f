import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArrowFile, runStageInProcess, tableToRows, type RunFacts } from '@lenna/core';
import { machineOf } from '../src/provenance.js';
import { REPORT_COLUMNS } from '../src/row.js';
import { stage } from '../src/stage.js';
import { MACHINE_A, MACHINE_B, makeFakeSweep, RANDOM, SWEEP } from './fixtures.js';

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

const RUN: RunFacts = {
  lenna: '0.1.0',
  node: 'v20.19.0',
  date: '2026-01-02T03:04:05.000Z',
  git: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: false },
  pipeline: { file: 'pipelines/quickstart.yaml', sha256: 'a'.repeat(64), lockFile: 'pipelines/quickstart.lock.json', lockSha256: 'b'.repeat(64) },
};

async function runReport(options: Parameters<typeof makeFakeSweep>[0] = {}, run?: RunFacts): Promise<string> {
  const sweep = await makeFakeSweep(options);
  const stagingDir = await mkdtemp(join(tmpdir(), 'lenna-report-out-'));
  cleanup.push(sweep.root, stagingDir);
  await runStageInProcess(stage, { params: {}, inputs: sweep.inputs, stagingDir, instance: 'report', run });
  return stagingDir;
}

async function readAll(dir: string, outputs = ['table', 'plots', 'cells', 'html']): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const output of outputs) {
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
    // Four plots and the two cells of each of the three runs.
    expect(html.match(/<svg[\s>]/g)).toHaveLength(4 + 2 * SWEEP.length);
    expect((await readdir(join(out, 'cells'))).sort()).toEqual([
      'index.json',
      ...['0', '0.1', '0.5'].flatMap((l) => [`retrain-eval-lambda-${l}-normal.svg`, `retrain-eval-lambda-${l}-reduce.svg`]),
    ]);
    const latex = await readFile(join(out, 'table', 'table.tex'), 'utf8');
    expect(latex).toContain('retrain-eval@lambda=0.5 & search, $\\lambda = 0.5$ & 91.00 & 1.80 & 1.50 & 2.00 & 4 & 21.0 \\\\');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('<table id="predictor-table">');
    expect(html).toContain('<td class="text">mlp</td>');
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

  it('gives the same bytes for every file when run twice; run facts change the html output only', async () => {
    const first = await readAll(await runReport({ withPredictor: true }, RUN));
    const second = await readAll(await runReport({ withPredictor: true }, RUN));
    // table: 8 files; plots: 4; cells: 2 per run and index.json; html: report.html and provenance.json.
    expect(Object.keys(first).length).toBe(8 + 4 + (2 * SWEEP.length + 1) + 2);
    expect(second).toEqual(first);
    const later = await readAll(await runReport({ withPredictor: true }, { ...RUN, date: '2026-02-03T00:00:00.000Z', git: { commit: 'f'.repeat(40), dirty: true } }));
    const derived = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).filter(([k]) => !k.startsWith('html/')));
    expect(derived(later)).toEqual(derived(first));
    expect(later['html/report.html']).not.toEqual(first['html/report.html']);
  });

  it('reads random cells, seeds and the machines: kind, mean ± std, the dominance sentence, provenance', async () => {
    const out = await runReport({ withRandom: true, withSeeds: true, latencyData: MACHINE_B }, RUN);
    const rows = tableToRows(await readArrowFile(join(out, 'table', 'table.arrow')));
    expect(rows).toHaveLength(2 * SWEEP.length + RANDOM.length);
    const random = rows.filter((r) => r.kind === 'random');
    expect(random.map((r) => r.instance)).toEqual(RANDOM.map((_, i) => `retrain-random@index=${i}`));
    expect(random.every((r) => r.lambda === null && r.search_seconds === null)).toBe(true);
    const first = rows.find((r) => r.instance === 'retrain-eval@lambda=0.5,seed=1')!;
    expect([first.kind, first.cells_predicted_ms, first.cells_measured_ms, first.latency_ms, first.n_skip_normal, first.target_ms]).toEqual(['search', 2.0, 1.5, 1.8, 4, null]);

    const groups = tableToRows(await readArrowFile(join(out, 'table', 'groups.arrow')));
    expect(groups.map((g) => [g.group, g.runs])).toEqual([
      ['retrain-eval@lambda=0', 2],
      ['retrain-eval@lambda=0.1', 2],
      ['retrain-eval@lambda=0.5', 2],
      ['retrain-random', RANDOM.length],
    ]);
    // λ=0: 0.975 and 0.965 → mean 0.97, std 0.01/√2.
    expect(groups[0].test_acc_mean).toBeCloseTo(0.97, 12);
    expect(groups[0].test_acc_std).toBeCloseTo(0.01 / Math.SQRT2, 12);

    const dominance = JSON.parse(await readFile(join(out, 'table', 'dominance.json'), 'utf8'));
    const expected = RANDOM.map((r, i) => [`retrain-random@index=${i}`, r.dominated] as const);
    expect(dominance.dominated).toEqual(expected.filter(([, d]) => d).map(([i]) => i));
    expect(dominance.sentence).toBe('The searched Pareto front dominates 2 of 4 random cells (50%).');

    const html = await readFile(join(out, 'html', 'report.html'), 'utf8');
    expect(html).toContain('The searched Pareto front dominates 2 of 4 random cells (50%).');
    expect(html).toContain('<table id="groups-table">');
    expect(html).toContain('commit <code class="hash" title="0123456789abcdef0123456789abcdef01234567">0123456789ab</code> (clean)');

    const provenance = JSON.parse(await readFile(join(out, 'html', 'provenance.json'), 'utf8'));
    expect(provenance.run).toEqual(RUN);
    const [a, b] = [machineOf(MACHINE_A).fingerprint, machineOf(MACHINE_B).fingerprint];
    expect(provenance.machines.map((m: { fingerprint: string }) => m.fingerprint).sort()).toEqual([a, b].sort());
    const column = (name: string) => provenance.columns.find((c: { column: string }) => c.column === name);
    expect(column('latency_ms')).toMatchObject({ stage: 'retrain-eval', machines: [a] });
    expect(column('cells_predicted_ms')).toMatchObject({ machines: [b], learntFrom: 'dataset-gen' });
    expect(provenance.notes.join(' ')).toContain(`timed on machine ${b}, but the networks were timed on ${a}`);
    expect(html).toContain('Test CPU B × 16 cores, GPU: NVIDIA H200');
  });

  it('says which machine timed the networks, so two reports from different machines differ there', async () => {
    const onA = JSON.parse(await readFile(join(await runReport({}), 'html', 'provenance.json'), 'utf8'));
    const onB = JSON.parse(await readFile(join(await runReport({ machine: MACHINE_B }), 'html', 'provenance.json'), 'utf8'));
    expect(onA.run).toBeNull();
    expect(onA.columns[0].machines).toEqual([machineOf(MACHINE_A).fingerprint]);
    expect(onB.columns[0].machines).toEqual([machineOf(MACHINE_B).fingerprint]);
    expect(onA.machines[0].environment).toEqual(MACHINE_A);
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
