import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { REPORT_COLUMNS, sortRows, type ReportRow } from '../src/row.js';
import { toArrowTable, toCsv, toMarkdown } from '../src/table.js';

function row(overrides: Partial<ReportRow>): ReportRow {
  const base = Object.fromEntries(REPORT_COLUMNS.map((c) => [c.name, null])) as unknown as ReportRow;
  return { ...base, instance: 'retrain-eval', ...overrides };
}

describe('report table', () => {
  it('sorts by lambda, then seed, then instance, missing values last', () => {
    const rows = [
      row({ instance: 'c', lambda: 0.1, seed: 2 }),
      row({ instance: 'd', lambda: null, seed: 0 }),
      row({ instance: 'b', lambda: 0.1, seed: 1 }),
      row({ instance: 'a', lambda: 0, seed: 3 }),
      row({ instance: 'e', lambda: 0.1, seed: null }),
    ];
    expect(sortRows(rows).map((r) => r.instance)).toEqual(['a', 'b', 'c', 'e', 'd']);
  });

  it('quotes CSV fields with commas and quotes, and leaves missing values empty', () => {
    const csv = toCsv([row({ instance: 'x', lambda: 0.05, genotype: 'normal=a(0)+b(1),c(0) "q"' })]);
    const [head, line] = csv.trimEnd().split('\n');
    expect(head.split(',')).toEqual(REPORT_COLUMNS.map((c) => c.name));
    expect(line).toBe(`x,0.05,,,,,,,,,,"normal=a(0)+b(1),c(0) ""q""",,,,,,,,,`);
  });

  it('rounds for reading in Markdown and escapes pipes', () => {
    const md = toMarkdown([row({ instance: 'x', lambda: 0.1, test_acc: 0.912345, latency_ms: 1.23456, genotype: 'a|b' })]);
    const cells = md.trimEnd().split('\n')[2].split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    expect(cells[1]).toBe('0.1');
    expect(cells[3]).toBe('0.9123');
    expect(cells[5]).toBe('1.235');
    expect(cells[11]).toBe('a\\|b');
    expect(cells[2]).toBe('–');
  });

  it('writes Arrow with the documented columns, types and nulls, exact values', () => {
    const rows = [row({ instance: 'x', lambda: 0.1, seed: 3, params: 123456, macs: 5e9, n_sep: 4 }), row({ instance: 'y' })];
    const table = tableFromIPC(tableToIPC(toArrowTable(rows), 'file'));
    expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual(
      REPORT_COLUMNS.map((c) => [c.name, c.type === 'utf8' ? 'Utf8' : c.type === 'int' ? 'Int32' : 'Float64']),
    );
    expect(table.getChild('macs')?.get(0)).toBe(5e9);
    expect(table.getChild('seed')?.get(0)).toBe(3);
    expect(table.getChild('lambda')?.get(1)).toBeNull();
    expect(table.getChild('instance')?.get(1)).toBe('y');
  });
});
