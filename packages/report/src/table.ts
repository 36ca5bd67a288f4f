import { Float64, Int32, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { markdownTable } from '@lenna/core';
import { GROUP_METRICS, type GroupRow } from './groups.js';
import { REPORT_COLUMNS, type ColumnType, type ReportRow } from './row.js';

type Cell = ReportRow[keyof ReportRow];

function csvField(value: Cell | string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV, full precision (JavaScript's shortest round-trip number form), empty for missing values. */
export function toCsv(rows: ReportRow[]): string {
  const lines = [REPORT_COLUMNS.map((c) => c.name).join(',')];
  for (const row of rows) lines.push(REPORT_COLUMNS.map((c) => csvField(row[c.name])).join(','));
  return `${lines.join('\n')}\n`;
}

/** Human precision per column; the CSV and Arrow files keep the exact values. */
const DISPLAY_DIGITS: Partial<Record<keyof ReportRow, number>> = {
  lambda: 4,
  test_acc: 4,
  val_acc: 4,
  latency_ms: 3,
  predicted_latency_ms: 3,
  latency_error: 3,
  search_seconds: 1,
  cells_predicted_ms: 3,
  cells_measured_ms: 3,
  target_ms: 3,
};

/** A value as people read it (Markdown and HTML tables). */
export function displayValue(name: keyof ReportRow, value: Cell): string {
  if (value === null) return '–';
  if (typeof value !== 'number') return value;
  const digits = DISPLAY_DIGITS[name];
  // toFixed then Number drops trailing zeros so lambda 0.1 prints as 0.1, not 0.1000.
  return digits === undefined ? String(value) : String(Number(value.toFixed(digits)));
}

export function toMarkdown(rows: ReportRow[]): string {
  const columns = REPORT_COLUMNS.map((c) => ({ name: c.name, numeric: c.type !== 'utf8' }));
  return markdownTable(columns, rows.map((row) => REPORT_COLUMNS.map((c) => displayValue(c.name, row[c.name]))));
}

function columnVector(type: ColumnType, values: (Cell | string | number | null)[]): Vector {
  if (type === 'utf8') return vectorFromArray(values as (string | null)[], new Utf8());
  if (type === 'int') return vectorFromArray(values as (number | null)[], new Int32());
  return vectorFromArray(values as (number | null)[], new Float64());
}

/** The table as Arrow, columns in the documented order (missing values are nulls). */
export function toArrowTable(rows: ReportRow[]): Table {
  const columns: Record<string, Vector> = {};
  for (const column of REPORT_COLUMNS) columns[column.name] = columnVector(column.type, rows.map((r) => r[column.name]));
  return new Table(columns);
}

/** The group table's columns: the configuration, then each metric's mean and standard deviation. */
export const GROUP_COLUMNS: readonly { name: string; type: ColumnType }[] = [
  { name: 'group', type: 'utf8' },
  { name: 'kind', type: 'utf8' },
  { name: 'lambda', type: 'float' },
  { name: 'target_ms', type: 'float' },
  { name: 'runs', type: 'int' },
  ...GROUP_METRICS.flatMap((m) => [
    { name: `${m}_mean`, type: 'float' as const },
    { name: `${m}_std`, type: 'float' as const },
  ]),
];

function groupRecord(g: GroupRow): Record<string, string | number | null> {
  const record: Record<string, string | number | null> = { group: g.group, kind: g.kind, lambda: g.lambda, target_ms: g.target_ms, runs: g.runs };
  for (const m of GROUP_METRICS) {
    record[`${m}_mean`] = g.stats[m].mean;
    record[`${m}_std`] = g.stats[m].std;
  }
  return record;
}

export function groupsToCsv(groups: GroupRow[]): string {
  const lines = [GROUP_COLUMNS.map((c) => c.name).join(',')];
  for (const g of groups) {
    const record = groupRecord(g);
    lines.push(GROUP_COLUMNS.map((c) => csvField(record[c.name])).join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function groupsToArrowTable(groups: GroupRow[]): Table {
  const records = groups.map(groupRecord);
  const columns: Record<string, Vector> = {};
  for (const c of GROUP_COLUMNS) columns[c.name] = columnVector(c.type, records.map((r) => r[c.name]));
  return new Table(columns);
}

/** `mean ± std` as people read it: `digits` decimals after multiplying by `scale` (100 for a percentage). */
export function formatMeanStd(stat: { mean: number | null; std: number | null }, digits: number, scale = 1): string {
  if (stat.mean === null) return '–';
  const mean = (stat.mean * scale).toFixed(digits);
  return stat.std === null ? mean : `${mean} ± ${(stat.std * scale).toFixed(digits)}`;
}

/** How each group metric reads: its heading, decimals and scale (accuracy in %). */
export const GROUP_DISPLAY: Record<(typeof GROUP_METRICS)[number], { heading: string; digits: number; scale: number }> = {
  test_acc: { heading: 'test acc (%)', digits: 2, scale: 100 },
  latency_ms: { heading: 'latency (ms)', digits: 2, scale: 1 },
  cells_measured_ms: { heading: 'cells measured (ms)', digits: 2, scale: 1 },
  cells_predicted_ms: { heading: 'cells predicted (ms)', digits: 2, scale: 1 },
  n_skip_normal: { heading: 'skips (normal)', digits: 1, scale: 1 },
  params: { heading: 'params', digits: 0, scale: 1 },
};

/** groups.md: mean ± std per configuration. */
export function groupsToMarkdown(groups: GroupRow[]): string {
  const columns = [
    { name: 'group', numeric: false },
    { name: 'kind', numeric: false },
    { name: 'lambda', numeric: true },
    { name: 'target_ms', numeric: true },
    { name: 'runs', numeric: true },
    ...GROUP_METRICS.map((m) => ({ name: GROUP_DISPLAY[m].heading, numeric: true })),
  ];
  const cells = groups.map((g) => [
    g.group,
    g.kind ?? '–',
    displayValue('lambda', g.lambda),
    displayValue('target_ms', g.target_ms),
    String(g.runs),
    ...GROUP_METRICS.map((m) => formatMeanStd(g.stats[m], GROUP_DISPLAY[m].digits, GROUP_DISPLAY[m].scale)),
  ]);
  return markdownTable(columns, cells);
}
