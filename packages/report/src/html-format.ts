import type { ReportRow } from './row.js';

/** Thousands grouped with thin spaces (the SI way, and the same on every machine, unlike toLocaleString). */
export function groupDigits(value: number): string {
  const grouped = Math.abs(Math.round(value)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
  return `${value < 0 ? '−' : ''}${grouped}`;
}

const fixed = (digits: number, scale = 1) => (v: number) => (v * scale).toFixed(digits);

/** One column of the HTML run table: heading, what it means (tooltip and legend), how a value reads. */
export interface HtmlColumn {
  key: string;
  heading: string;
  help: string;
  numeric: boolean;
  value(row: ReportRow): string | null;
}

const num = (name: keyof ReportRow, format: (v: number) => string) => (row: ReportRow) => {
  const v = row[name];
  return typeof v === 'number' ? format(v) : null;
};

/**
 * The run table as a page shows it: fits 1400 px, numbers right-aligned at a fixed precision
 * (accuracy in %, latency in ms with 2 decimals). table.csv/arrow keep every column at full precision;
 * the genotype is drawn below each row instead of printed in it.
 */
export const HTML_COLUMNS: readonly HtmlColumn[] = [
  { key: 'instance', heading: 'run', help: 'The retrain-eval instance: its pipeline stage and matrix values.', numeric: false, value: (r) => r.instance },
  { key: 'kind', heading: 'kind', help: 'search: a cell darts-search found; random: a cell drawn uniformly from the search space (the random-search baseline).', numeric: false, value: (r) => r.kind },
  { key: 'lambda', heading: 'λ', help: 'λ of the search: weight of the latency term in the DARTS loss.', numeric: true, value: num('lambda', (v) => String(Number(v.toFixed(4)))) },
  { key: 'seed', heading: 'seed', help: 'Seed of the search.', numeric: true, value: num('seed', String) },
  { key: 'test_acc', heading: 'test acc (%)', help: 'Test accuracy of the retrained network.', numeric: true, value: num('test_acc', fixed(2, 100)) },
  { key: 'val_acc', heading: 'val acc (%)', help: 'Validation accuracy after the last retraining epoch.', numeric: true, value: num('val_acc', fixed(2, 100)) },
  { key: 'latency_ms', heading: 'latency (ms)', help: 'Measured latency of the whole network (stem, cells, classifier): latency_ms.', numeric: true, value: num('latency_ms', fixed(2)) },
  { key: 'target_ms', heading: 'T (ms)', help: 'Latency target of a target search (latencyLoss: target); beside the cells measured it aims at.', numeric: true, value: num('target_ms', fixed(2)) },
  { key: 'cells_measured_ms', heading: 'cells meas. (ms)', help: "Sum over the network's cells of each cell timed alone: cells_measured_ms.", numeric: true, value: num('cells_measured_ms', fixed(2)) },
  { key: 'cells_predicted_ms', heading: 'cells pred. (ms)', help: "The latency model's prediction of the same sum: cells_predicted_ms.", numeric: true, value: num('cells_predicted_ms', fixed(2)) },
  { key: 'latency_error', heading: 'pred. error', help: 'latency_error: (cells predicted − cells measured) / cells measured.', numeric: true, value: num('latency_error', (v) => `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(100 * v).toFixed(1)}%`) },
  { key: 'params', heading: 'params', help: 'Trainable parameters of the retrained network.', numeric: true, value: num('params', groupDigits) },
  { key: 'macs', heading: 'MACs (M)', help: 'Multiply-accumulates of one forward pass, in millions.', numeric: true, value: num('macs', fixed(2, 1e-6)) },
  { key: 'n_skip_normal', heading: 'skips N', help: 'skip_connect edges in the normal cell (skip collapse shows here).', numeric: true, value: num('n_skip_normal', String) },
  {
    key: 'ops',
    heading: 'sep/dil/pool/skip',
    help: 'Ops kept over both cells: separable convolutions, dilated convolutions, pools, skip connections.',
    numeric: true,
    value: (r) => (r.n_sep === null ? null : `${r.n_sep}/${r.n_dil}/${r.n_pool}/${r.n_skip}`),
  },
  { key: 'search_seconds', heading: 'search (s)', help: 'Wall time of the search.', numeric: true, value: num('search_seconds', fixed(0)) },
];
