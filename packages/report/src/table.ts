import { Float64, Int32, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { markdownTable } from '@lenna/core';
import { REPORT_COLUMNS, type ColumnType, type ReportRow } from './row.js';

type Cell = ReportRow[keyof ReportRow];

function csvField(value: Cell): string {
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

function columnVector(type: ColumnType, values: Cell[]): Vector {
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
