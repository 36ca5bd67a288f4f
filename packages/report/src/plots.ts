import type { TopLevelSpec } from 'vega-lite';
import { paretoFront } from './pareto.js';
import type { ReportRow } from './row.js';
import { renderVegaLite } from './svg.js';

/** E[lat] of one search, epoch by epoch (darts-search's history.arrow). */
export interface SearchCurve {
  /** Legend label, e.g. `λ=0.1` or `λ=0.1 seed=2`. */
  label: string;
  lambda: number | null;
  seed: number | null;
  points: { epoch: number; expected_latency_ms: number }[];
}

export interface PlotsData {
  curves: SearchCurve[];
  /** The predictor stage's parity.svg, copied as is. */
  paritySvg?: string;
}

const SIZE = { width: 420, height: 300 };
const FRONT_COLOUR = '#c0392b';

export function lambdaLabel(row: Pick<ReportRow, 'lambda' | 'seed'>, withSeed: boolean): string {
  const lambda = row.lambda === null ? 'λ=?' : `λ=${row.lambda}`;
  return withSeed && row.seed !== null ? `${lambda} seed=${row.seed}` : lambda;
}

/** Several rows share a λ (a sweep over seeds too): labels then need the seed to tell points apart. */
export function lambdasRepeat(rows: Pick<ReportRow, 'lambda'>[]): boolean {
  return new Set(rows.map((r) => r.lambda)).size < rows.length;
}

/** The point's class in the legend: searched on the front, searched, random. */
const MARKS = ['searched, on the front', 'searched', 'random'] as const;
const MARK_COLOURS = [FRONT_COLOUR, '#2874a6', '#7f8c8d'];
const MARK_SHAPES = ['circle', 'circle', 'cross'];

function pointLabel(r: ReportRow, withSeed: boolean): string {
  if (r.kind === 'random') return '';
  const lambda = lambdaLabel(r, withSeed);
  return r.target_ms === null ? lambda : `${lambda} T=${r.target_ms}ms`;
}

const markEncoding = {
  color: { field: 'mark', type: 'nominal', title: null, scale: { domain: [...MARKS], range: MARK_COLOURS }, legend: { labelLimit: 240 } },
  shape: { field: 'mark', type: 'nominal', title: null, scale: { domain: [...MARKS], range: MARK_SHAPES } },
} as const;

/**
 * Test accuracy against the measured latency of the whole network: searched cells as dots, random
 * cells as crosses, the searched cells' Pareto front as a step line (random cells are not on it).
 */
function accuracyLatencySpec(rows: ReportRow[]): TopLevelSpec {
  const searchRows = rows.filter((r) => r.kind !== 'random');
  const withSeed = lambdasRepeat(searchRows);
  const timed = rows.filter((r) => r.latency_ms !== null && r.test_acc !== null);
  const searched = timed.filter((r) => r.kind !== 'random');
  const front = new Set(paretoFront(searched.map((r) => ({ latency: r.latency_ms as number, accuracy: r.test_acc as number }))).map((i) => searched[i]));
  const values = timed.map((r) => ({
    latency_ms: r.latency_ms,
    test_acc: r.test_acc,
    label: pointLabel(r, withSeed),
    mark: r.kind === 'random' ? 'random' : front.has(r) ? MARKS[0] : 'searched',
  }));
  const x = { field: 'latency_ms', type: 'quantitative', title: 'measured network latency (ms)', scale: { zero: false, padding: 24 } } as const;
  const y = { field: 'test_acc', type: 'quantitative', title: 'test accuracy', axis: { format: '.1%' }, scale: { zero: false, padding: 24 } } as const;
  return {
    ...SIZE,
    title: 'Accuracy against measured latency',
    data: { values },
    layer: [
      {
        transform: [{ filter: `datum.mark === '${MARKS[0]}'` }],
        mark: { type: 'line', interpolate: 'step-after', color: FRONT_COLOUR },
        encoding: { x, y, order: { field: 'latency_ms', type: 'quantitative' } },
      },
      { mark: { type: 'point', filled: true, size: 70, opacity: 0.9 }, encoding: { x, y, ...markEncoding } },
      { mark: { type: 'text', dx: 7, dy: -7, align: 'left', fontSize: 11 }, encoding: { x, y, text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}

/**
 * The latency model against the same cells timed: Σ predicted cell latency over Σ measured, with
 * y = x. Points are labelled by λ unless seeds repeat a λ (the labels would pile up).
 */
function predictedMeasuredSpec(rows: ReportRow[]): TopLevelSpec {
  const withSeed = lambdasRepeat(rows.filter((r) => r.kind !== 'random'));
  const values = rows
    .filter((r) => r.cells_measured_ms !== null && r.cells_predicted_ms !== null)
    .map((r) => ({ measured: r.cells_measured_ms, predicted: r.cells_predicted_ms, label: withSeed ? '' : pointLabel(r, false), mark: r.kind === 'random' ? 'random' : 'searched' }));
  const all = values.flatMap((v) => [v.measured as number, v.predicted as number]);
  const diagonal = [Math.min(...all), Math.max(...all)].map((v) => ({ measured: v, predicted: v }));
  const x = { field: 'measured', type: 'quantitative', title: 'cells, measured (ms)', scale: { zero: false, padding: 24 } } as const;
  const y = { field: 'predicted', type: 'quantitative', title: 'cells, predicted (ms)', scale: { zero: false, padding: 24 } } as const;
  return {
    ...SIZE,
    title: 'Predicted against measured cell latency',
    layer: [
      { data: { values: diagonal }, mark: { type: 'line', color: '#95a5a6', strokeDash: [4, 4] }, encoding: { x, y } },
      { data: { values }, mark: { type: 'point', filled: true, size: 70, opacity: 0.9 }, encoding: { x, y, ...markEncoding } },
      { data: { values }, mark: { type: 'text', dx: 7, dy: -7, align: 'left', fontSize: 11 }, encoding: { x, y, text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}

function searchLatencySpec(curves: SearchCurve[]): TopLevelSpec {
  const values = curves.flatMap((c) => c.points.map((p) => ({ ...p, search: c.label })));
  return {
    ...SIZE,
    title: 'E[latency] over the search epochs',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'expected_latency_ms', type: 'quantitative', title: 'E[latency] (ms)', scale: { zero: false } },
      // Legend in the curves' order (by λ), not alphabetical ("λ=0.05" would sort after "λ=0.1" as text).
      color: { field: 'search', type: 'nominal', title: 'search', scale: { domain: curves.map((c) => c.label) } },
    },
  } as TopLevelSpec;
}

/** Plot file name to SVG text; a plot whose data is absent (no history, no prediction, no parity plot) is left out. */
export async function renderPlots(rows: ReportRow[], data: PlotsData): Promise<Record<string, string>> {
  const plots: Record<string, string> = {};
  // Always drawn (empty axes at worst), so the plots output is never empty.
  plots['accuracy-latency.svg'] = await renderVegaLite(accuracyLatencySpec(rows));
  if (rows.some((r) => r.cells_measured_ms !== null && r.cells_predicted_ms !== null)) {
    plots['predicted-measured.svg'] = await renderVegaLite(predictedMeasuredSpec(rows));
  }
  if (data.curves.some((c) => c.points.length > 0)) {
    plots['search-latency.svg'] = await renderVegaLite(searchLatencySpec(data.curves));
  }
  if (data.paritySvg !== undefined) plots['predictor-parity.svg'] = data.paritySvg;
  return plots;
}
