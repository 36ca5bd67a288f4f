import { REPORT_COLUMNS, type ReportRow } from '../src/row.js';

/** A report row with every column empty but the ones given. */
export function row(overrides: Partial<ReportRow>): ReportRow {
  const base = Object.fromEntries(REPORT_COLUMNS.map((c) => [c.name, null])) as unknown as ReportRow;
  return { ...base, instance: 'retrain-eval', kind: 'search', ...overrides };
}
