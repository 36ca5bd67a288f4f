import { z } from 'zod';
import { defineStage, UserError, type InputArtifact } from '@lenna/core';
import { CELL_KINDS } from './cells.js';
import type { Genotype } from './genotype.js';
import { loadParitySvg, loadPredictorMetrics, loadRun, loadSearches, measurement } from './load.js';
import { instanceKeys } from '@lenna/core';
import { buildRow, matchSearch, runGenotype, type SearchInfo } from './match.js';
import { buildProvenance } from './provenance.js';
import { lambdaLabel, lambdasRepeat, type SearchCurve } from './plots.js';
import { renderReport } from './render.js';

const params = z
  .object({
    title: z.string().min(1).default('LENNA report'),
  })
  .strict();

function numberOrNull(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function searchSweep(search: SearchInfo): { lambda: number | null; seed: number | null } {
  const keys = instanceKeys(search.instance);
  const pick = (name: 'lambda' | 'seed') => numberOrNull(search.summary?.[name]) ?? numberOrNull(search.params[name]) ?? numberOrNull(keys.get(name));
  return { lambda: pick('lambda'), seed: pick('seed') };
}

/** One E[lat] curve per search that sent a history, ordered by λ then seed. */
function searchCurves(searches: SearchInfo[]): SearchCurve[] {
  const withHistory = searches.filter((s) => s.curve && s.curve.length > 0).map((s) => ({ s, ...searchSweep(s) }));
  const withSeed = lambdasRepeat(withHistory);
  const byNumber = (a: number | null, b: number | null) => (a ?? Infinity) - (b ?? Infinity) || 0;
  return withHistory
    .sort((a, b) => byNumber(a.lambda, b.lambda) || byNumber(a.seed, b.seed) || (a.s.key < b.s.key ? -1 : a.s.key > b.s.key ? 1 : 0))
    .map(({ s, lambda, seed }) => ({ label: lambdaLabel({ lambda, seed }, withSeed), lambda, seed, points: s.curve ?? [] }));
}

const gathered = (ctx: { gathered: Record<string, InputArtifact[]> }, name: string): InputArtifact[] => ctx.gathered[name] ?? [];

export const stage = defineStage({
  name: 'report',
  version: 2,
  description:
    'The paper table (Markdown, CSV, Arrow, LaTeX) with mean ± std over seeds, cell diagrams (SVG), the accuracy/latency plots (SVG), provenance and one self-contained HTML page, over every retrained cell of a sweep.',
  params,
  // 'files' accepts whatever kind the upstream output declares; the files themselves are checked on reading.
  inputs: {
    runs: { kind: 'files', many: true, description: "retrain-eval's metrics[*]: metrics.json of every run" },
    searches: { kind: 'files', many: true, optional: true, description: "darts-search's summary[*]: summary.json (lambda, seed, search_seconds, genotype_text, target_ms)" },
    histories: { kind: 'files', many: true, optional: true, description: "darts-search's history[*]: history.arrow (epoch, expected_latency_ms)" },
    genotypes: { kind: 'files', many: true, optional: true, description: "darts-search's genotype[*]: genotype.json (DARTS Genotype JSON)" },
    predictorMetrics: { kind: 'files', optional: true, description: "predictor's metrics: metrics.json (one row per model)" },
    parity: { kind: 'svg', optional: true, description: "predictor's parity: parity.svg, copied into the report" },
    latencyData: { kind: 'files', optional: true, description: "dataset-gen's dataset: only its manifest is read, for the machine that timed the latency model's cells" },
  },
  outputs: {
    table: {
      kind: 'files',
      description: 'table.md/.csv/.arrow (one row per run), groups.md/.csv/.arrow (mean ± std per configuration), table.tex (booktabs), dominance.json',
    },
    plots: { kind: 'svg', description: 'accuracy-latency.svg, predicted-measured.svg, search-latency.svg, predictor-parity.svg (those with data)' },
    cells: { kind: 'files', description: '<run>-normal.svg and <run>-reduce.svg per run, index.json (run to file names)' },
    html: { kind: 'files', description: 'report.html (table, diagrams, plots, provenance in one self-contained page) and provenance.json' },
  },
  measures: false,
  async run(ctx) {
    const runInputs = gathered(ctx, 'runs');
    if (runInputs.length === 0) {
      throw new UserError("The report received no runs; give it every retrain-eval with needs: { runs: retrain-eval.metrics[*] }.");
    }
    const runs = await Promise.all(runInputs.map(loadRun));
    const searches = await loadSearches({
      searches: gathered(ctx, 'searches'),
      genotypes: gathered(ctx, 'genotypes'),
      histories: gathered(ctx, 'histories'),
    });
    const genotypes = new Map<string, Genotype>();
    const rows = runs.map((run) => {
      const search = matchSearch(run, searches);
      if (!search && searches.length > 0 && run.metrics.kind !== 'random') ctx.log(`no darts-search matches ${run.instance ?? run.id}: its search columns are empty`);
      const row = buildRow(run, search);
      const genotype = runGenotype(run, search);
      if (genotype) genotypes.set(row.instance, genotype);
      return row;
    });
    const provenance = buildProvenance({
      run: ctx.run,
      runs: runs.map((run, i) => ({ instance: rows[i].instance, measuredBy: run.measuredBy })),
      latencyData: ctx.inputs.latencyData ? measurement(ctx.inputs.latencyData) : undefined,
    });
    const files = await renderReport(
      rows,
      { curves: searchCurves(searches), paritySvg: ctx.inputs.parity ? await loadParitySvg(ctx.inputs.parity) : undefined },
      { title: ctx.params.title, predictorMetrics: ctx.inputs.predictorMetrics ? await loadPredictorMetrics(ctx.inputs.predictorMetrics) : undefined, genotypes, provenance },
    );
    await ctx.writeText('table', 'table.md', files.markdown);
    await ctx.writeText('table', 'table.csv', files.csv);
    await ctx.writeTable('table', 'table.arrow', files.arrow);
    await ctx.writeText('table', 'groups.md', files.groupsMarkdown);
    await ctx.writeText('table', 'groups.csv', files.groupsCsv);
    await ctx.writeTable('table', 'groups.arrow', files.groupsArrow);
    await ctx.writeText('table', 'table.tex', files.latex);
    await ctx.writeJson('table', 'dominance.json', files.dominanceJson);
    for (const [file, svg] of Object.entries(files.plots)) await ctx.writeText('plots', file, svg);
    for (const run of files.cells) for (const cell of CELL_KINDS) await ctx.writeText('cells', run.files[cell], run.svgs[cell]);
    await ctx.writeJson('cells', 'index.json', files.cellsIndex);
    await ctx.writeText('html', 'report.html', files.html);
    await ctx.writeJson('html', 'provenance.json', provenance);
    const verdict = files.dominance.random > 0 ? `\n${files.dominance.sentence}` : '';
    ctx.log(`${files.rows.length} runs, ${files.cells.length} drawn, ${Object.keys(files.plots).length} plots\n${files.markdown}${verdict}`);
  },
});
