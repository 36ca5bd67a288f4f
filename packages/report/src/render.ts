import type { Table } from 'apache-arrow';
import type { Genotype } from './genotype.js';
import { drawRunCells, type RunCells } from './cells.js';
import { DOMINANCE_DEFINITION, searchDominance, type Dominance } from './dominance.js';
import { groupRows, type GroupRow } from './groups.js';
import { renderHtml, type PredictorMetricsRow } from './html.js';
import { toLatex } from './latex.js';
import { renderPlots, type PlotsData } from './plots.js';
import type { Provenance } from './provenance.js';
import { sortRows, type ReportRow } from './row.js';
import { groupsToArrowTable, groupsToCsv, groupsToMarkdown, toArrowTable, toCsv, toMarkdown } from './table.js';

export interface ReportFiles {
  /** The rows as written, sorted by lambda then seed. */
  rows: ReportRow[];
  markdown: string;
  csv: string;
  arrow: Table;
  /** Mean ± std per configuration (runs that differ only in seed). */
  groups: GroupRow[];
  groupsMarkdown: string;
  groupsCsv: string;
  groupsArrow: Table;
  /** table.tex: booktabs, ready for \input{}. */
  latex: string;
  dominance: Dominance;
  /** dominance.json: the counts, the instances and the definition behind the sentence. */
  dominanceJson: unknown;
  /** Plot file name to SVG text. */
  plots: Record<string, string>;
  /** Both cells of every run whose genotype is known. */
  cells: RunCells[];
  /** cells/index.json: each run's diagram files and edge counts. */
  cellsIndex: unknown;
  html: string;
}

export interface RenderOptions {
  title?: string;
  predictorMetrics?: PredictorMetricsRow[];
  /** The genotype each run retrained, by instance (the row's `instance`): drawn as cell diagrams. */
  genotypes?: Map<string, Genotype>;
  /** Shown in the page's header; the stage writes it as provenance.json too. */
  provenance?: Provenance;
}

/**
 * Every file of the report from its rows, plot data, genotypes and provenance. Pure apart from vega's
 * and Graphviz's rendering, which are deterministic: the same input gives the same bytes (no
 * timestamps, no random ids). Only the provenance's run facts vary between runs, and they reach
 * report.html alone.
 */
export async function renderReport(rows: ReportRow[], plotsData: PlotsData, options: RenderOptions = {}): Promise<ReportFiles> {
  const sorted = sortRows(rows);
  const plots = await renderPlots(sorted, plotsData);
  const groups = groupRows(sorted);
  const dominance = searchDominance(sorted);
  const cells = await drawRunCells(sorted.map((r) => ({ instance: r.instance, genotype: options.genotypes?.get(r.instance) })));
  const drawn = new Map(cells.map((c) => [c.instance, c]));
  const title = options.title ?? 'LENNA report';
  return {
    rows: sorted,
    markdown: toMarkdown(sorted),
    csv: toCsv(sorted),
    arrow: toArrowTable(sorted),
    groups,
    groupsMarkdown: groupsToMarkdown(groups),
    groupsCsv: groupsToCsv(groups),
    groupsArrow: groupsToArrowTable(groups),
    latex: toLatex(sorted, groups),
    dominance,
    dominanceJson: { definition: DOMINANCE_DEFINITION, ...dominance },
    plots,
    cells,
    cellsIndex: sorted.map((r) => {
      const c = drawn.get(r.instance);
      return { instance: r.instance, kind: r.kind, genotype: r.genotype, normal: c?.files.normal ?? null, reduce: c?.files.reduce ?? null, edges: c?.edges ?? null };
    }),
    html: renderHtml({ title, rows: sorted, plots, predictorMetrics: options.predictorMetrics, cells, groups, dominance, provenance: options.provenance }),
  };
}
