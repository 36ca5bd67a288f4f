import { Table, type Vector } from 'apache-arrow';
import { markdownTable } from '@lenna/core';
import type { CrossTarget, CrossTargetCell, TargetPair } from './cross-target.js';
import type { ColumnType } from './row.js';
import { columnVector, csvField, displayValue } from './table.js';

type Value = string | number | null;
interface Column {
  name: string;
  type: ColumnType;
  value(cell: CrossTargetCell): Value;
}

/** cross-target.csv/.arrow: the cell, then per target its run, latencies and rank (`<column>@<target>`). */
export function crossTargetColumns(cross: CrossTarget): Column[] {
  const perTarget = cross.targets.flatMap((label, t): Column[] => [
    { name: `instance@${label}`, type: 'utf8', value: (c) => c.runs[t]?.instance ?? null },
    { name: `latency_ms@${label}`, type: 'float', value: (c) => c.runs[t]?.latency_ms ?? null },
    { name: `cells_measured_ms@${label}`, type: 'float', value: (c) => c.runs[t]?.cells_measured_ms ?? null },
    { name: `latency_rank@${label}`, type: 'float', value: (c) => c.runs[t]?.rank ?? null },
  ]);
  return [
    { name: 'kind', type: 'utf8', value: (c) => c.kind },
    { name: 'lambda', type: 'float', value: (c) => c.lambda },
    { name: 'seed', type: 'int', value: (c) => c.seed },
    { name: 'target_ms', type: 'float', value: (c) => c.target_ms },
    { name: 'genotype', type: 'utf8', value: (c) => c.genotype },
    ...perTarget,
  ];
}

export const PAIR_COLUMNS: readonly { name: keyof TargetPair; type: ColumnType }[] = [
  { name: 'a', type: 'utf8' },
  { name: 'b', type: 'utf8' },
  { name: 'metric', type: 'utf8' },
  { name: 'n', type: 'int' },
  { name: 'spearman', type: 'float' },
  { name: 'kendall', type: 'float' },
  { name: 'median_ratio', type: 'float' },
];

function csv(header: string[], records: Value[][]): string {
  return `${[header.map(csvField).join(','), ...records.map((r) => r.map(csvField).join(','))].join('\n')}\n`;
}

export function crossTargetCsv(cross: CrossTarget): string {
  const columns = crossTargetColumns(cross);
  return csv(
    columns.map((c) => c.name),
    cross.cells.map((cell) => columns.map((c) => c.value(cell))),
  );
}

export function crossTargetArrow(cross: CrossTarget): Table {
  const vectors: Record<string, Vector> = {};
  for (const c of crossTargetColumns(cross)) vectors[c.name] = columnVector(c.type, cross.cells.map((cell) => c.value(cell)));
  return new Table(vectors);
}

export function targetPairsCsv(cross: CrossTarget): string {
  return csv(
    PAIR_COLUMNS.map((c) => c.name),
    cross.pairs.map((p) => PAIR_COLUMNS.map((c) => p[c.name])),
  );
}

export function targetPairsArrow(cross: CrossTarget): Table {
  const vectors: Record<string, Vector> = {};
  for (const c of PAIR_COLUMNS) vectors[c.name] = columnVector(c.type, cross.pairs.map((p) => p[c.name]));
  return new Table(vectors);
}

/** The run that names a cell in the readable tables: its first target's instance. */
export function cellName(cell: CrossTargetCell): string {
  return cell.runs.find((r) => r !== null)?.instance ?? '–';
}

const rounded = (digits: number) => (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(Number(v.toFixed(digits))));

/** The readable form of both tables (Markdown and HTML share it): headings and formatted cells. */
export function crossTargetDisplay(cross: CrossTarget, latencyDigits: number): {
  cells: { headings: { name: string; numeric: boolean }[]; rows: string[][] };
  pairs: { headings: { name: string; numeric: boolean }[]; rows: string[][] };
} {
  const ms = rounded(latencyDigits);
  const cellHeadings = [
    { name: 'run', numeric: false },
    { name: 'kind', numeric: false },
    { name: 'λ', numeric: true },
    { name: 'seed', numeric: true },
    { name: 'T (ms)', numeric: true },
    ...cross.targets.flatMap((label) => [
      { name: `${label}: latency (ms)`, numeric: true },
      { name: `${label}: cells (ms)`, numeric: true },
      { name: `${label}: rank`, numeric: true },
    ]),
  ];
  const cellRows = cross.cells.map((c) => [
    cellName(c),
    c.kind,
    displayValue('lambda', c.lambda),
    displayValue('seed', c.seed),
    ms(c.target_ms),
    ...c.runs.flatMap((r) => [ms(r?.latency_ms), ms(r?.cells_measured_ms), r?.rank == null ? '–' : String(r.rank)]),
  ]);
  const pairHeadings = [
    { name: 'target A', numeric: false },
    { name: 'target B', numeric: false },
    { name: 'latency', numeric: false },
    { name: 'cells on both', numeric: true },
    { name: 'Spearman ρ', numeric: true },
    { name: 'Kendall τ', numeric: true },
    { name: 'median B / A', numeric: true },
  ];
  const pairRows = cross.pairs.map((p) => [p.a, p.b, p.metric, String(p.n), rounded(3)(p.spearman), rounded(3)(p.kendall), rounded(3)(p.median_ratio)]);
  return { cells: { headings: cellHeadings, rows: cellRows }, pairs: { headings: pairHeadings, rows: pairRows } };
}

export const CROSS_TARGET_INTRO =
  'The same cells timed on each target: latency of the whole network and the sum of its cells timed alone, and each target\'s rank of the cell by network latency (1 = fastest, among the cells that target timed; – where a target did not time the cell). Runs are paired by genotype and the configuration that found it (kind, λ, seed, T).';

export const TARGET_PAIRS_INTRO =
  'Per pair of targets and latency: over the cells both timed, Spearman ρ and Kendall τ-b of the two targets\' latencies (1: B keeps A\'s ranking) and the median of B\'s latency over A\'s.';

/** cross-target.md: the cell table, then the rank agreement per pair of targets. */
export function crossTargetMarkdown(cross: CrossTarget): string {
  const shown = crossTargetDisplay(cross, 3);
  return [
    '# Latency across targets',
    '',
    CROSS_TARGET_INTRO,
    '',
    markdownTable(shown.cells.headings, shown.cells.rows),
    '## Does the ranking transfer?',
    '',
    TARGET_PAIRS_INTRO,
    '',
    markdownTable(shown.pairs.headings, shown.pairs.rows),
  ].join('\n');
}
