import { describe, expect, it } from 'vitest';
import { Schema, Table, tableFromArrays } from 'apache-arrow';
import { UserError } from '@lenna/core';
import { readCellRows, syntheticDatasetTable, takeRows } from '../src/index.js';

describe('takeRows', () => {
  it('keeps column types (dictionary strings included), order of indices and schema metadata', () => {
    const plain = tableFromArrays({ block_type: ['normal', 'reduction', 'normal'], x: new Float32Array([1, 2, 3]) });
    const table = new Table(new Schema(plain.schema.fields, new Map([['lenna.ops', '["none"]']])), plain.batches);
    const taken = takeRows(table, [2, 1]);
    expect(taken.schema.fields.map((f) => String(f.type))).toEqual(table.schema.fields.map((f) => String(f.type)));
    expect(taken.toArray().map((r) => r.toJSON())).toEqual([{ block_type: 'normal', x: 3 }, { block_type: 'reduction', x: 2 }]);
    expect(taken.schema.metadata.get('lenna.ops')).toBe('["none"]');
  });
});

describe('readCellRows', () => {
  it('reads shapes, edge-major probabilities and latency from dataset columns', () => {
    const table = syntheticDatasetTable({ rowsPerShape: 3, seed: 4 });
    const { rows, ops, edges } = readCellRows(table, 'synthetic');
    expect(edges).toBe(14);
    expect(ops[0]).toBe('none');
    expect(rows).toHaveLength(12);
    const row = table.get(7)!.toJSON();
    expect(rows[7]).toMatchObject({ blockType: row.block_type, reductionPrev: row.reduction_prev, c: row.c, hw: row.hw, latencyMs: row.latency_ms });
    expect(rows[7].probs[2 * 8 + 4]).toBe(row.p_e2_sep_conv_3x3);
    // Each edge's probabilities form a distribution.
    for (let e = 0; e < 14; e++) expect(Array.from(rows[7].probs).slice(e * 8, e * 8 + 8).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('names a missing column and a bad block type', () => {
    const table = syntheticDatasetTable({ rowsPerShape: 3 });
    expect(() => readCellRows(table.select(table.schema.fields.map((f) => f.name).filter((n) => n !== 'hw')), 'd.arrow')).toThrow(/hw/);
    const bad = tableFromArrays({ block_type: ['sideways'], reduction_prev: [false], c_prev_prev: new Int32Array([8]), c_in: new Int32Array([8]), c: new Int32Array([8]), hw: new Int32Array([8]), batch: new Int32Array([1]), p_e0_none: new Float32Array([1]), latency_ms: new Float64Array([1]) });
    expect(() => readCellRows(bad, 'd.arrow')).toThrow(UserError);
    expect(() => readCellRows(bad, 'd.arrow')).toThrow(/sideways/);
  });
});
