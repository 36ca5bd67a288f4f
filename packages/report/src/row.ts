/** One line of the paper table: a retrain-eval run beside the search that found its cell. */
export interface ReportRow {
  instance: string;
  lambda: number | null;
  seed: number | null;
  test_acc: number | null;
  val_acc: number | null;
  /** Measured latency of the whole network (stem, cells, classifier). */
  latency_ms: number | null;
  predicted_latency_ms: number | null;
  /** Relative: (cells_predicted_ms − cells_measured_ms) / cells_measured_ms, as retrain-eval reports it. */
  latency_error: number | null;
  params: number | null;
  macs: number | null;
  search_seconds: number | null;
  genotype: string | null;
  n_sep: number | null;
  n_dil: number | null;
  n_pool: number | null;
  n_skip: number | null;
  /** `search` (a darts-search cell) or `random` (a random-cell baseline), as retrain-eval's metrics say. */
  kind: RunKind;
  /** skip_connect edges in the normal cell. */
  n_skip_normal: number | null;
  /** Σ over the network's cells of the latency model's prediction (the same value as predicted_latency_ms). */
  cells_predicted_ms: number | null;
  /** Σ over the network's cells of each cell timed alone: what cells_predicted_ms predicts. */
  cells_measured_ms: number | null;
  /** The latency target T of a target search (`latencyLoss: target`); null for a penalty search or a random cell. */
  target_ms: number | null;
}

export type RunKind = 'search' | 'random';

export type ColumnType = 'float' | 'int' | 'utf8';

/** The table's columns in their documented order, with their Arrow type. */
export const REPORT_COLUMNS: readonly { name: keyof ReportRow; type: ColumnType }[] = [
  { name: 'instance', type: 'utf8' },
  { name: 'lambda', type: 'float' },
  { name: 'seed', type: 'int' },
  { name: 'test_acc', type: 'float' },
  { name: 'val_acc', type: 'float' },
  { name: 'latency_ms', type: 'float' },
  { name: 'predicted_latency_ms', type: 'float' },
  { name: 'latency_error', type: 'float' },
  // Counts, but a full-size network's MACs exceed Int32: Float64 holds them exactly up to 2^53.
  { name: 'params', type: 'float' },
  { name: 'macs', type: 'float' },
  { name: 'search_seconds', type: 'float' },
  { name: 'genotype', type: 'utf8' },
  { name: 'n_sep', type: 'int' },
  { name: 'n_dil', type: 'int' },
  { name: 'n_pool', type: 'int' },
  { name: 'n_skip', type: 'int' },
  // Added after the columns above, which keep their order for readers that index them.
  { name: 'kind', type: 'utf8' },
  { name: 'n_skip_normal', type: 'int' },
  { name: 'cells_predicted_ms', type: 'float' },
  { name: 'cells_measured_ms', type: 'float' },
  { name: 'target_ms', type: 'float' },
];

function compareNullable(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}

/** By lambda, then seed, then instance name (so equal keys still give one order); missing values last. */
export function sortRows(rows: ReportRow[]): ReportRow[] {
  return [...rows].sort(
    (a, b) =>
      compareNullable(a.lambda, b.lambda) ||
      compareNullable(a.seed, b.seed) ||
      (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0),
  );
}
