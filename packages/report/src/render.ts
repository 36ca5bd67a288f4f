import type { Table } from 'apache-arrow';
import { renderHtml, type PredictorMetricsRow } from './html.js';
import { renderPlots, type PlotsData } from './plots.js';
import { sortRows, type ReportRow } from './row.js';
import { toArrowTable, toCsv, toMarkdown } from './table.js';

export interface ReportFiles {
  /** The rows as written, sorted by lambda then seed. */
  rows: ReportRow[];
  markdown: string;
  csv: string;
  arrow: Table;
  /** Plot file name to SVG text. */
  plots: Record<string, string>;
  html: string;
}

export interface RenderOptions {
  title?: string;
  predictorMetrics?: PredictorMetricsRow[];
}

/**
 * Every file of the report from its rows and plot data. Pure apart from vega's rendering: the same
 * input gives the same bytes (no timestamps, no random ids), which CI relies on.
 */
export async function renderReport(rows: ReportRow[], plotsData: PlotsData, options: RenderOptions = {}): Promise<ReportFiles> {
  const sorted = sortRows(rows);
  const plots = await renderPlots(sorted, plotsData);
  const title = options.title ?? 'LENNA report';
  return {
    rows: sorted,
    markdown: toMarkdown(sorted),
    csv: toCsv(sorted),
    arrow: toArrowTable(sorted),
    plots,
    html: renderHtml({ title, rows: sorted, plots, predictorMetrics: options.predictorMetrics }),
  };
}
