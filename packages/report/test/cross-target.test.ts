import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArrowFile, runStageInProcess, tableToRows } from '@lenna/core';
import { crossTarget } from '../src/cross-target.js';
import { sortRows } from '../src/row.js';
import { stage } from '../src/stage.js';
import { BROWSER_LABEL, makeFakeSweep } from './fixtures.js';
import { row } from './rows.js';

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function runReport(options: Parameters<typeof makeFakeSweep>[0]): Promise<string> {
  const sweep = await makeFakeSweep(options);
  const stagingDir = await mkdtemp(join(tmpdir(), 'lenna-report-out-'));
  cleanup.push(sweep.root, stagingDir);
  await runStageInProcess(stage, { params: {}, inputs: sweep.inputs, stagingDir, instance: 'report' });
  return stagingDir;
}

const WASM = { target: 'browser' as const, backend: 'wasm', browser: 'Chrome/156.0.8078.114' };
const cellRow = (name: string, latency: number, extra: Parameters<typeof row>[0] = {}) =>
  row({ instance: `retrain-eval@cell=${name}`, genotype: `cell-${name}`, lambda: 1, seed: 1, latency_ms: latency, cells_measured_ms: latency / 2, ...extra });

describe('cross-target table', () => {
  it('pairs runs by genotype and configuration, ranks each target, and computes ρ, τ and the median ratio by hand', () => {
    // Node: A < B < C < D (and E, Node only); browser: A < C < B < D (and F, browser only): B and C swap.
    const rows = [
      cellRow('A', 1), cellRow('B', 2), cellRow('C', 3), cellRow('D', 4), cellRow('E', 5),
      cellRow('A', 10, { ...WASM, instance: 'retrain-browser@cell=A' }),
      cellRow('B', 30, { ...WASM, instance: 'retrain-browser@cell=B' }),
      cellRow('C', 20, { ...WASM, instance: 'retrain-browser@cell=C' }),
      cellRow('D', 40, { ...WASM, instance: 'retrain-browser@cell=D' }),
      cellRow('F', 5, { ...WASM, instance: 'retrain-browser@cell=F' }),
      // Same genotype, another λ: another cell, never paired with λ = 1's.
      cellRow('A', 50, { ...WASM, instance: 'retrain-browser@cell=A,lambda=2', lambda: 2 }),
    ];
    const cross = crossTarget(sortRows(rows));
    expect(cross).not.toBeNull();
    expect(cross!.targets).toEqual(['node', BROWSER_LABEL]);
    const byCell = cross!.cells.map((c) => [c.genotype, c.lambda, ...c.runs.map((r) => (r === null ? null : [r.latency_ms, r.rank]))]);
    // Browser ranks among the six cells it timed: F 5, A 10, C 20, B 30, D 40, A (λ = 2) 50. Cells come in
    // the order of their first row (sorted: λ, seed, instance; retrain-browser before retrain-eval).
    expect(byCell).toEqual([
      ['cell-A', 1, [1, 1], [10, 2]],
      ['cell-B', 1, [2, 2], [30, 4]],
      ['cell-C', 1, [3, 3], [20, 3]],
      ['cell-D', 1, [4, 4], [40, 5]],
      ['cell-F', 1, null, [5, 1]],
      ['cell-E', 1, [5, 5], null],
      ['cell-A', 2, null, [50, 6]],
    ]);
    const latency = cross!.pairs.find((p) => p.metric === 'latency_ms')!;
    expect(latency).toMatchObject({ a: 'node', b: BROWSER_LABEL, n: 4 });
    // Ranks over the 4 shared cells: (1, 2, 3, 4) against (1, 3, 2, 4): Σd² = 2 → ρ = 1 − 6·2 / (4·15) = 0.8;
    // one discordant pair (B, C) of six → τ = (5 − 1) / 6.
    expect(latency.spearman).toBeCloseTo(0.8, 12);
    expect(latency.kendall).toBeCloseTo(4 / 6, 12);
    // Ratios 10, 15, 6.67, 10 → median 10.
    expect(latency.median_ratio).toBeCloseTo(10, 12);
    const cells = cross!.pairs.find((p) => p.metric === 'cells_measured_ms')!;
    expect([cells.n, cells.spearman, cells.median_ratio]).toEqual([4, expect.closeTo(0.8, 12), expect.closeTo(10, 12)]);
  });

  it('is null when every run was timed on one target, and undefined correlations are null, not NaN', () => {
    expect(crossTarget([cellRow('A', 1), cellRow('B', 2)])).toBeNull();
    const cross = crossTarget(sortRows([cellRow('A', 1), cellRow('B', 2), cellRow('A', 3, WASM), cellRow('B', 3, WASM)]));
    // Browser latencies tie (3, 3): no ranking to compare; ratios 3/1 and 3/2 → median 2.25.
    expect(cross!.pairs[0]).toMatchObject({ n: 2, spearman: null, kendall: null, median_ratio: 2.25 });
    const lone = crossTarget(sortRows([cellRow('A', 1), cellRow('B', 3, WASM)]));
    expect(lone!.pairs[0]).toMatchObject({ n: 0, spearman: null, kendall: null, median_ratio: null });
  });

  it('writes cross-target files and a report section for a pipeline timed in Node and in the browser', async () => {
    const out = await runReport({ withBrowser: {} });
    const files = (await readdir(join(out, 'table'))).sort();
    expect(files).toEqual(expect.arrayContaining(['cross-target.md', 'cross-target.csv', 'cross-target.arrow', 'cross-target-pairs.csv', 'cross-target-pairs.arrow']));
    const cells = tableToRows(await readArrowFile(join(out, 'table', 'cross-target.arrow')));
    // Node: λ=0.5 1.8 ms, λ=0 6.5, λ=0.1 7.0; browser: λ=0 4, λ=0.5 9, λ=0.1 12 (BROWSER_LATENCY).
    expect(cells.map((c) => [c.lambda, c['latency_ms@node'], c['latency_rank@node'], c[`latency_ms@${BROWSER_LABEL}`], c[`latency_rank@${BROWSER_LABEL}`]])).toEqual([
      [0, 6.5, 2, 4, 1],
      [0.1, 7.0, 3, 12, 3],
      [0.5, 1.8, 1, 9, 2],
    ]);
    expect(cells[0]['instance@node']).toBe('retrain-eval@lambda=0');
    expect(cells[0][`instance@${BROWSER_LABEL}`]).toBe('retrain-browser@lambda=0');
    expect(cells[0][`cells_measured_ms@${BROWSER_LABEL}`]).toBe(3);
    const pairs = tableToRows(await readArrowFile(join(out, 'table', 'cross-target-pairs.arrow')));
    const latency = pairs.find((p) => p.metric === 'latency_ms')!;
    // Ranks (2, 3, 1) against (1, 3, 2): Σd² = 2 → ρ = 1 − 6·2 / (3·8) = 0.5; pairs (λ0, λ0.5) discordant,
    // the other two concordant → τ = 1/3; ratios 4/6.5, 12/7, 9/1.8 = 5 → median 12/7.
    expect(latency.spearman).toBeCloseTo(0.5, 12);
    expect(latency.kendall).toBeCloseTo(1 / 3, 12);
    expect(latency.median_ratio).toBeCloseTo(12 / 7, 12);
    expect(latency.n).toBe(3);
    const pairsCsv = await readFile(join(out, 'table', 'cross-target-pairs.csv'), 'utf8');
    expect(pairsCsv.split('\n')[0]).toBe('a,b,metric,n,spearman,kendall,median_ratio');
    expect(pairsCsv).toContain(`node,"${BROWSER_LABEL}",latency_ms,3,0.5`);
    const md = await readFile(join(out, 'table', 'cross-target.md'), 'utf8');
    expect(md).toContain(`| run | kind | λ | seed | T (ms) | node: latency (ms) | node: cells (ms) | node: rank | ${BROWSER_LABEL}: latency (ms) |`);
    expect(md).toContain('| retrain-eval@lambda=0 | search | 0 | 1 | – | 6.5 | 5.9 | 2 | 4 | 3 | 1 |');
    const html = await readFile(join(out, 'html', 'report.html'), 'utf8');
    expect(html).toContain('<h2>Latency across targets</h2>');
    expect(html).toContain('<table id="cross-target-pairs">');
    // The run table says where each row was timed.
    const table = tableToRows(await readArrowFile(join(out, 'table', 'table.arrow')));
    expect(table.map((r) => [r.instance, r.target, r.backend, r.browser])).toEqual([
      ['retrain-browser@lambda=0', 'browser', 'wasm', 'Chrome/156.0.8078.114'],
      ['retrain-eval@lambda=0', 'node', null, null],
      ['retrain-browser@lambda=0.1', 'browser', 'wasm', 'Chrome/156.0.8078.114'],
      ['retrain-eval@lambda=0.1', 'node', null, null],
      ['retrain-browser@lambda=0.5', 'browser', 'wasm', 'Chrome/156.0.8078.114'],
      ['retrain-eval@lambda=0.5', 'node', null, null],
    ]);
    const latex = await readFile(join(out, 'table', 'table.tex'), 'utf8');
    expect(latex).toContain('Run & Cell & Target & Test acc.');
    expect(latex).toContain('retrain-browser@lambda=0.5 & search, $\\lambda = 0.5$ & browser (wasm, Chrome/156.0.8078.114) & 91.00 & 9.00 & 8.00 &');
    expect(latex).toContain('retrain-eval@lambda=0.5 & search, $\\lambda = 0.5$ & node & 91.00 & 1.80 & 1.50 &');
  });

  it('lists a cell timed on one target only with blanks for the other', async () => {
    const out = await runReport({ withBrowser: { omit: [2] } });
    const cells = tableToRows(await readArrowFile(join(out, 'table', 'cross-target.arrow')));
    const only = cells.find((c) => c.lambda === 0.1)!;
    expect([only['latency_ms@node'], only['latency_rank@node'], only[`latency_ms@${BROWSER_LABEL}`], only[`latency_rank@${BROWSER_LABEL}`], only[`instance@${BROWSER_LABEL}`]]).toEqual([7.0, 3, null, null, null]);
    const csv = await readFile(join(out, 'table', 'cross-target.csv'), 'utf8');
    expect(csv.split('\n').find((l) => l.startsWith('search,0.1,'))).toMatch(/,retrain-eval@lambda=0\.1,7,6\.1,3,,,,$/);
    const md = await readFile(join(out, 'table', 'cross-target.md'), 'utf8');
    expect(md).toContain('| retrain-eval@lambda=0.1 | search | 0.1 | 1 | – | 7 | 6.1 | 3 | – | – | – |');
    // Over the two shared cells (λ=0: 6.5 → 4, λ=0.5: 1.8 → 9) the order flips: ρ = τ = −1.
    const pairs = tableToRows(await readArrowFile(join(out, 'table', 'cross-target-pairs.arrow')));
    const latency = pairs.find((p) => p.metric === 'latency_ms')!;
    expect([latency.n, latency.spearman, latency.kendall]).toEqual([2, -1, -1]);
    expect(latency.median_ratio).toBeCloseTo((4 / 6.5 + 9 / 1.8) / 2, 12);
  });

  it('writes no cross-target file and no section when one target timed every run; seeds on two targets are separate groups', async () => {
    const single = await runReport({ withSeeds: true });
    expect((await readdir(join(single, 'table'))).filter((f) => f.startsWith('cross-target'))).toEqual([]);
    expect(await readFile(join(single, 'html', 'report.html'), 'utf8')).not.toMatch(/across targets|cross-target/i);

    const both = await runReport({ withSeeds: true, withBrowser: {} });
    const groups = tableToRows(await readArrowFile(join(both, 'table', 'groups.arrow')));
    expect(groups.map((g) => [g.group, g.target, g.runs])).toEqual([
      ['retrain-browser@lambda=0', BROWSER_LABEL, 2],
      ['retrain-eval@lambda=0', 'node', 2],
      ['retrain-browser@lambda=0.1', BROWSER_LABEL, 2],
      ['retrain-eval@lambda=0.1', 'node', 2],
      ['retrain-browser@lambda=0.5', BROWSER_LABEL, 2],
      ['retrain-eval@lambda=0.5', 'node', 2],
    ]);
    // Seed 2 of each cell pairs with seed 2 elsewhere: six cells, each on both targets.
    const cells = tableToRows(await readArrowFile(join(both, 'table', 'cross-target.arrow')));
    expect(cells.map((c) => [c.lambda, c.seed, c['instance@node'], c[`instance@${BROWSER_LABEL}`]])).toEqual(
      [0, 0.1, 0.5].flatMap((l) => [1, 2].map((seed) => [l, seed, `retrain-eval@lambda=${l},seed=${seed}`, `retrain-browser@lambda=${l},seed=${seed}`])),
    );
  });
});
