import { hasReplicates, type GroupRow, type GroupStat } from './groups.js';
import type { ReportRow } from './row.js';

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
};

/** Characters outside ASCII that a report label may hold, in forms pdflatex takes without extra packages. */
const NON_ASCII: Record<string, string> = { 'λ': '$\\lambda$', '±': '$\\pm$', '–': '--', '—': '---', '×': '$\\times$', 'µ': '$\\mu$', 'μ': '$\\mu$', '−': '-' };

/** Text as LaTeX typesets it literally (op names' underscores, %, &, #, ...); other non-ASCII becomes `?`. */
export function latexEscape(text: string): string {
  return [...text].map((c) => SPECIAL[c] ?? NON_ASCII[c] ?? (c.charCodeAt(0) > 126 || c.charCodeAt(0) < 32 ? '?' : c)).join('');
}

const MISSING = '--';

function fixed(value: number | null, digits: number, scale = 1): string {
  return value === null ? MISSING : (value * scale).toFixed(digits);
}

function meanStd(stat: GroupStat, digits: number, scale = 1): string {
  if (stat.mean === null) return MISSING;
  const mean = (stat.mean * scale).toFixed(digits);
  return stat.std === null ? mean : `${mean} $\\pm$ ${(stat.std * scale).toFixed(digits)}`;
}

function number(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** `$\lambda = 1$`, `$\lambda = 1$, $T = 5$ ms`, `random`: how a configuration reads in a paper. */
function configuration(g: Pick<GroupRow, 'kind' | 'lambda' | 'target_ms'>): string {
  if (g.kind === 'random') return 'random cell';
  const parts = [];
  if (g.lambda !== null) parts.push(`$\\lambda = ${number(g.lambda)}$`);
  if (g.target_ms !== null) parts.push(`$T = ${number(g.target_ms)}$\\,ms`);
  return parts.length ? `search, ${parts.join(', ')}` : 'search';
}

function tabular(head: string[], align: string, body: string[][], notes: string[]): string {
  const line = (cells: string[]) => `${cells.join(' & ')} \\\\`;
  return [
    '% LENNA report: the main results, written by the report stage (table.tex).',
    '% Needs \\usepackage{booktabs} in the preamble; \\input{table.tex} inside a table environment.',
    ...notes.map((n) => `% ${n}`),
    `\\begin{tabular}{${align}}`,
    '\\toprule',
    line(head),
    '\\midrule',
    ...body.map(line),
    '\\bottomrule',
    '\\end{tabular}',
    '',
  ].join('\n');
}

/** Mean ± standard deviation over seeds, one line per configuration. */
function groupsTabular(groups: GroupRow[]): string {
  const labels = groups.map(configuration);
  // Two configurations that read the same (two retrain stages of different settings) are told apart by their group name.
  const label = (g: GroupRow, i: number) => (labels.indexOf(labels[i]) !== labels.lastIndexOf(labels[i]) ? `${labels[i]} (${latexEscape(g.group)})` : labels[i]);
  const withTarget = groups.some((g) => g.target_ms !== null);
  const head = ['Cell', '$n$', 'Test acc.\\ (\\%)', 'Latency (ms)', 'Cells, measured (ms)', 'Cells, predicted (ms)', 'Skips (normal)', 'Params (k)'];
  const body = groups.map((g, i) => [
    label(g, i),
    String(g.runs),
    meanStd(g.stats.test_acc, 2, 100),
    meanStd(g.stats.latency_ms, 2),
    meanStd(g.stats.cells_measured_ms, 2),
    meanStd(g.stats.cells_predicted_ms, 2),
    meanStd(g.stats.n_skip_normal, 1),
    meanStd(g.stats.params, 1, 1e-3),
  ]);
  const notes = [
    'Mean $\\pm$ sample standard deviation over the $n$ runs of each configuration (seeds; for random cells, the draws).',
    'Latency: the whole network, measured; cells: the sum over the network\'s cells, each timed alone, and the latency model\'s prediction of it.',
  ];
  if (withTarget) notes.push('$T$: the latency target of a target search.');
  return tabular(head, 'lrrrrrrr', body, notes);
}

/** One line per run, where no configuration ran with several seeds. */
function runsTabular(rows: ReportRow[]): string {
  const withTarget = rows.some((r) => r.target_ms !== null);
  const head = ['Run', 'Cell', 'Test acc.\\ (\\%)', 'Latency (ms)', 'Cells, measured (ms)', 'Cells, predicted (ms)', ...(withTarget ? ['Target (ms)'] : []), 'Skips (normal)', 'Params (k)'];
  const body = rows.map((r) => [
    latexEscape(r.instance),
    configuration(r),
    fixed(r.test_acc, 2, 100),
    fixed(r.latency_ms, 2),
    fixed(r.cells_measured_ms, 2),
    fixed(r.cells_predicted_ms, 2),
    ...(withTarget ? [fixed(r.target_ms, 2)] : []),
    r.n_skip_normal === null ? MISSING : String(r.n_skip_normal),
    fixed(r.params, 1, 1e-3),
  ]);
  const notes = ["Latency: the whole network, measured; cells: the sum over the network's cells, each timed alone, and the latency model's prediction of it."];
  return tabular(head, `ll${'r'.repeat(head.length - 2)}`, body, notes);
}

/** table.tex: a booktabs tabular of the main results, mean ± std over seeds where the pipeline has seeds. */
export function toLatex(rows: ReportRow[], groups: GroupRow[]): string {
  return hasReplicates(groups) ? groupsTabular(groups) : runsTabular(rows);
}
