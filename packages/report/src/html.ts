import type { CellKind } from '@lenna/cell-diagram';
import { CELL_KINDS, type RunCells } from './cells.js';
import { DOMINANCE_DEFINITION, type Dominance } from './dominance.js';
import { GROUP_METRICS, type GroupRow } from './groups.js';
import { HTML_COLUMNS } from './html-format.js';
import { describeMachine, type Provenance } from './provenance.js';
import type { ReportRow } from './row.js';
import { prefixSvgIds, svgElement } from './svg.js';
import { displayValue, formatMeanStd, GROUP_DISPLAY } from './table.js';

export type PredictorMetricsRow = Record<string, string | number | null>;

export interface HtmlInput {
  title: string;
  rows: ReportRow[];
  /** Plot file name to SVG text, in the order they appear on the page. */
  plots: Record<string, string>;
  predictorMetrics?: PredictorMetricsRow[];
  /** Diagrams by run instance. */
  cells?: RunCells[];
  /** Mean ± std per configuration; shown when some configuration has several runs. */
  groups?: GroupRow[];
  dominance?: Dominance;
  provenance?: Provenance;
}

const CAPTIONS: Record<string, string> = {
  'accuracy-latency.svg':
    'Test accuracy against the measured latency of the whole network: searched cells as dots, random cells as crosses; the red line is the Pareto front of the searched cells (higher accuracy, lower latency).',
  'predicted-measured.svg': "The latency model's prediction of each network's cells (summed) against the same cells timed alone; dashed: y = x.",
  'search-latency.svg': 'Expected latency E[lat] of the architecture distribution over the search epochs, one line per search.',
  'predictor-parity.svg': "The predictor stage's parity plot on its test set.",
};

const CELL_TITLES: Record<CellKind, string> = { normal: 'normal cell', reduce: 'reduction cell' };

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5rem 2rem; color: #222; max-width: 1400px; }
h1 { margin-bottom: 0.5rem; }
h2 { margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.8rem; margin-bottom: 0.75rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.4rem; }
th { background: #f3f3f3; font-weight: 600; cursor: help; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.text, th.text { text-align: left; }
td.run { min-width: 11rem; }
tr.run.random td { background: #fafafa; }
tr.cells td { padding: 0.3rem 0.4rem 0.8rem; border-top: none; }
.diagrams { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.75rem; align-items: start; }
.diagrams figure { margin: 0; min-width: 0; }
/* A percentage width adds nothing to the table's minimum width: the diagrams shrink to the page, never widen it. */
.diagrams svg { display: block; width: 100%; height: auto; }
.diagrams figcaption { font-size: 0.75rem; color: #555; }
details.genotype { font-size: 0.75rem; color: #555; margin-top: 0.2rem; }
details.genotype code { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
dl.legend { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.75rem; font-size: 0.78rem; color: #444; margin: 0 0 1.5rem; }
dl.legend dt { font-weight: 600; }
dl.legend dd { margin: 0; }
#provenance { background: #f7f9fb; border: 1px solid #d5dde5; border-radius: 4px; padding: 0.6rem 0.9rem; font-size: 0.82rem; }
#provenance p { margin: 0.2rem 0; }
#provenance ul { margin: 0.2rem 0; padding-left: 1.2rem; }
#provenance .note { color: #9a4a00; }
code.hash { font-family: ui-monospace, monospace; font-size: 0.78rem; }
p.verdict { font-size: 1rem; font-weight: 600; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.plots figure { margin: 0; }
.plots figcaption { max-width: 460px; font-size: 0.85rem; color: #555; }
`;

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const short = (hash: string | null | undefined, n = 12) => (hash ? `<code class="hash" title="${escapeHtml(hash)}">${escapeHtml(hash.slice(0, n))}</code>` : 'none');

function provenanceBlock(p: Provenance | undefined): string {
  if (!p) return '';
  const lines: string[] = [];
  const run = p.run;
  if (run) {
    const commit = run.git ? `commit ${short(run.git.commit)} (${run.git.dirty ? 'with uncommitted changes to tracked files' : 'clean'})` : 'outside a git work tree';
    lines.push(`<p><b>Rendered</b> ${escapeHtml(run.date)} by LENNA ${escapeHtml(run.lenna)} on Node ${escapeHtml(run.node)}, ${commit}.</p>`);
    if (run.pipeline) {
      const lock = run.pipeline.lockSha256 ? `sha256 ${short(run.pipeline.lockSha256)} as the report started` : 'none yet';
      lines.push(
        `<p><b>Pipeline</b> ${escapeHtml(run.pipeline.file)} (sha256 ${short(run.pipeline.sha256)}); lock ${escapeHtml(run.pipeline.lockFile)} (${lock}).</p>`,
      );
    }
  } else {
    lines.push('<p><b>Rendered</b> outside a pipeline run: no commit, pipeline or date recorded.</p>');
  }
  const byMachine = (fingerprint: string) => p.columns.filter((c) => c.machines.includes(fingerprint));
  const items = p.machines.map((m) => {
    const measured = byMachine(m.fingerprint).filter((c) => !c.learntFrom).map((c) => c.column);
    const learnt = byMachine(m.fingerprint).filter((c) => c.learntFrom);
    const roles = [
      measured.length ? `timed ${measured.join(' and ')} (${escapeHtml(p.columns.find((c) => c.column === measured[0])?.stage ?? '')}, ${p.runs.filter((r) => r.machine === m.fingerprint).length} runs)` : '',
      learnt.length ? `timed the cells the latency model learnt from (${escapeHtml(learnt[0].learntFrom ?? '')}), behind ${learnt.map((c) => c.column).join(' and ')}` : '',
    ].filter(Boolean);
    return `<li>machine ${short(m.fingerprint)}: ${escapeHtml(describeMachine(m))}; ${roles.join('; ')}</li>`;
  });
  if (items.length) lines.push(`<p><b>Measured on</b></p><ul>${items.join('')}</ul>`);
  for (const note of p.notes) lines.push(`<p class="note">${escapeHtml(note)}</p>`);
  lines.push('<p>The same facts, with every environment in full, are in provenance.json beside this page. A report replayed from the cache shows the run that rendered it.</p>');
  return `<section id="provenance">\n${lines.join('\n')}\n</section>`;
}

/** Lets a long instance id break after `@` and `,` (never inside a name). */
function breakable(text: string): string {
  return escapeHtml(text).replace(/([@,])/g, '$1<wbr>');
}

/**
 * One scale for every cell: 0.8 px per Graphviz point (its 12 pt labels read at about 10 px), less
 * only where a wide cell would overflow its half of the row.
 */
function naturalWidthPx(svg: string): number | undefined {
  const pt = /<svg[^>]*\swidth="([\d.]+)pt"/.exec(svg)?.[1];
  return pt === undefined ? undefined : Math.round(Number(pt) * 0.8);
}

function cellFigure(run: RunCells, cell: CellKind, index: number): string {
  const svg = prefixSvgIds(svgElement(run.svgs[cell], run.files[cell]), `cell${index}-${cell}`);
  const width = naturalWidthPx(svg);
  const style = width === undefined ? '' : ` style="max-width: ${width}px"`;
  return `<figure class="cell ${cell}" data-edges="${run.edges[cell]}"${style}>\n${svg}\n<figcaption>${CELL_TITLES[cell]} · cells/${escapeHtml(run.files[cell])}</figcaption>\n</figure>`;
}

function cellsRow(row: ReportRow, cells: RunCells | undefined, index: number): string {
  const span = HTML_COLUMNS.length;
  const genotype = row.genotype ? `<details class="genotype"><summary>genotype</summary><code>${escapeHtml(row.genotype)}</code></details>` : '';
  if (!cells) return genotype ? `<tr class="cells"><td colspan="${span}">${genotype}</td></tr>` : '';
  const figures = CELL_KINDS.map((cell) => cellFigure(cells, cell, index)).join('\n');
  return `<tr class="cells"><td colspan="${span}">\n<div class="diagrams">\n${figures}\n</div>\n${genotype}\n</td></tr>`;
}

function runTable(rows: ReportRow[], cells: RunCells[]): string {
  const byInstance = new Map(cells.map((c) => [c.instance, c]));
  const head = HTML_COLUMNS.map((c) => `<th class="${c.numeric ? 'num' : c.key === 'instance' ? 'text run' : 'text'}" title="${escapeHtml(c.help)}">${escapeHtml(c.heading).replaceAll('/', '/<wbr>')}</th>`).join('');
  const body = rows.map((row, i) => {
    const tds = HTML_COLUMNS.map((c) => {
      const value = c.value(row);
      const text = value === null ? '–' : c.key === 'instance' ? breakable(value) : escapeHtml(value);
      return `<td class="${c.numeric ? 'num' : c.key === 'instance' ? 'text run' : 'text'}">${text}</td>`;
    });
    return `<tr class="run ${row.kind ?? ''}">${tds.join('')}</tr>\n${cellsRow(row, byInstance.get(row.instance), i)}`;
  });
  const legend = HTML_COLUMNS.map((c) => `<dt>${escapeHtml(c.heading)}</dt><dd>${escapeHtml(c.help)}</dd>`).join('');
  return `<table id="report-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>\n<dl class="legend">${legend}</dl>`;
}

function groupsTable(groups: GroupRow[]): string {
  const head = [
    '<th class="text" title="The runs\' instance name without their seed (random cells: without seed and draw index).">configuration</th>',
    '<th class="text" title="search or random">kind</th>',
    '<th class="num" title="λ of the search">λ</th>',
    '<th class="num" title="Latency target of a target search">T (ms)</th>',
    '<th class="num" title="Runs averaged">n</th>',
    ...GROUP_METRICS.map((m) => `<th class="num" title="mean ± sample standard deviation over the runs">${escapeHtml(GROUP_DISPLAY[m].heading)}</th>`),
  ].join('');
  const body = groups.map((g) => {
    const tds = [
      `<td class="text run">${breakable(g.group)}</td>`,
      `<td class="text">${escapeHtml(g.kind ?? '–')}</td>`,
      `<td class="num">${escapeHtml(displayValue('lambda', g.lambda))}</td>`,
      `<td class="num">${g.target_ms === null ? '–' : g.target_ms.toFixed(2)}</td>`,
      `<td class="num">${g.runs}</td>`,
      ...GROUP_METRICS.map((m) => `<td class="num">${escapeHtml(formatMeanStd(g.stats[m], GROUP_DISPLAY[m].digits, GROUP_DISPLAY[m].scale))}</td>`),
    ];
    return `<tr>${tds.join('')}</tr>`;
  });
  return `<table id="groups-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

function formatMetric(value: string | number | null): string {
  if (value === null) return '–';
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : value;
}

function predictorTable(rows: PredictorMetricsRow[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const numeric = (c: string) => rows.some((r) => typeof r[c] === 'number');
  const head = columns.map((c) => `<th class="${numeric(c) ? 'num' : 'text'}">${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td class="${numeric(c) ? 'num' : 'text'}">${escapeHtml(formatMetric(r[c] ?? null))}</td>`).join('')}</tr>`);
  return `<table id="predictor-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

function figure(file: string, svg: string): string {
  const prefix = file.replace(/\.svg$/, '');
  const caption = CAPTIONS[file] ?? file;
  return `<figure id="plot-${prefix}">\n${prefixSvgIds(svgElement(svg, file), prefix)}\n<figcaption>${escapeHtml(caption)}</figcaption>\n</figure>`;
}

/** One self-contained page: inline CSS and inline SVG, nothing fetched, no script. */
export function renderHtml(input: HtmlInput): string {
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(input.title)}</title>\n<style>${STYLE}</style>\n</head>`,
    '<body>',
    `<h1>${escapeHtml(input.title)}</h1>`,
    provenanceBlock(input.provenance),
    '<h2>Found architectures</h2>',
    '<p>One row per retrained cell; below it, its normal and reduction cell (inputs c<sub>k−2</sub>, c<sub>k−1</sub>, intermediate nodes, output c<sub>k</sub>, each edge labelled with its op; skip connections dashed). Hover a heading for what it means.</p>',
    runTable(input.rows, input.cells ?? []),
  ];
  if (input.groups && input.groups.some((g) => g.runs > 1)) {
    parts.push('<h2>Mean ± standard deviation over seeds</h2>', groupsTable(input.groups));
  }
  if (input.dominance && input.dominance.random > 0) {
    parts.push(
      '<h2>Search against random cells</h2>',
      `<p class="verdict" id="dominance">${escapeHtml(input.dominance.sentence)}</p>`,
      `<p>Here ${escapeHtml(DOMINANCE_DEFINITION)}; ${input.dominance.searched} searched and ${input.dominance.random} random cells have both numbers. The accuracy–latency plot below shows them.</p>`,
    );
  }
  if (input.predictorMetrics && input.predictorMetrics.length > 0) {
    parts.push('<h2>Latency predictor</h2>', predictorTable(input.predictorMetrics));
  }
  parts.push('<h2>Plots</h2>', '<div class="plots">');
  for (const [file, svg] of Object.entries(input.plots)) parts.push(figure(file, svg));
  parts.push('</div>', '</body>', '</html>');
  return `${parts.filter((p) => p !== '').join('\n')}\n`;
}
