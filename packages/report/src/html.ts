import { REPORT_COLUMNS, type ReportRow } from './row.js';
import { prefixSvgIds, svgElement } from './svg.js';
import { displayValue } from './table.js';

export type PredictorMetricsRow = Record<string, string | number | null>;

export interface HtmlInput {
  title: string;
  rows: ReportRow[];
  /** Plot file name to SVG text, in the order they appear on the page. */
  plots: Record<string, string>;
  predictorMetrics?: PredictorMetricsRow[];
}

const CAPTIONS: Record<string, string> = {
  'accuracy-latency.svg': 'Test accuracy against measured latency; the line is the Pareto front (higher accuracy, lower latency).',
  'predicted-measured.svg': "The latency predictor's estimate for each found network against its measured latency; dashed: y = x.",
  'search-latency.svg': 'Expected latency E[lat] of the architecture distribution over the search epochs, one line per search.',
  'predictor-parity.svg': "The predictor stage's parity plot on its test set.",
};

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; margin-bottom: 2rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; }
th.left { text-align: left; }
td.text { text-align: left; white-space: nowrap; }
td.genotype { text-align: left; font-family: ui-monospace, monospace; font-size: 0.7rem; white-space: normal; min-width: 22rem; }
.scroll { overflow-x: auto; margin-bottom: 2rem; }
.scroll table { margin-bottom: 0; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; }
figcaption { max-width: 460px; font-size: 0.85rem; color: #555; }
`;

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function reportTable(rows: ReportRow[]): string {
  const head = REPORT_COLUMNS.map((c) => (c.type === 'utf8' ? `<th class="left">${c.name}</th>` : `<th>${c.name}</th>`)).join('');
  const body = rows.map((row) => {
    const cells = REPORT_COLUMNS.map((c) => {
      const text = escapeHtml(displayValue(c.name, row[c.name]));
      return c.type === 'utf8' ? `<td class="${c.name === 'genotype' ? 'genotype' : 'text'}">${text}</td>` : `<td>${text}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<div class="scroll">\n<table id="report-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>\n</div>`;
}

function formatMetric(value: string | number | null): string {
  if (value === null) return '–';
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : value;
}

function predictorTable(rows: PredictorMetricsRow[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td>${escapeHtml(formatMetric(r[c] ?? null))}</td>`).join('')}</tr>`);
  return `<table id="predictor-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

function figure(file: string, svg: string): string {
  const prefix = file.replace(/\.svg$/, '');
  const caption = CAPTIONS[file] ?? file;
  return `<figure id="plot-${prefix}">\n${prefixSvgIds(svgElement(svg, file), prefix)}\n<figcaption>${escapeHtml(caption)}</figcaption>\n</figure>`;
}

/** One self-contained page: inline CSS and inline SVG, nothing fetched, no script, no timestamp. */
export function renderHtml(input: HtmlInput): string {
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(input.title)}</title>\n<style>${STYLE}</style>\n</head>`,
    '<body>',
    `<h1>${escapeHtml(input.title)}</h1>`,
    '<h2>Found architectures</h2>',
    reportTable(input.rows),
  ];
  if (input.predictorMetrics && input.predictorMetrics.length > 0) {
    parts.push('<h2>Latency predictor</h2>', predictorTable(input.predictorMetrics));
  }
  parts.push('<h2>Plots</h2>', '<div class="plots">');
  for (const [file, svg] of Object.entries(input.plots)) parts.push(figure(file, svg));
  parts.push('</div>', '</body>', '</html>');
  return `${parts.join('\n')}\n`;
}
