import { describe, expect, it } from 'vitest';
import { tableFromArrays } from 'apache-arrow';
import { UserError } from '@lenna/core';
import { cellShapes } from '@lenna/nn';
import { cellShapeSchema, type BatchedCellShape } from '../src/cell.js';
import { datasetTable, measurementColumn, MEASUREMENT_COLUMNS, readAdditiveTable, readCellRows, shapeColumnValues, shapeKey, SHAPE_KEY_LEGEND, type DatasetTableRow } from '../src/columns.js';
import { syntheticDatasetTable } from '../src/synthetic.js';

// Every channel count differs, so a column written from the wrong field shows.
const shape: BatchedCellShape = { reduction: true, reductionPrev: true, cPrevPrev: 12, cPrev: 20, c: 8, hw: 6, batch: 3, kind: 'eval' };
const measured = (latency: number): DatasetTableRow['measured'] => ({
  latency_ms: latency,
  se_ms: latency / 50,
  lut_latency_ms: latency / 2,
  reference_ms: 7,
  resets: 4,
  converged: true,
  cv: 0.01,
  one_hot: false,
  radius: 0.5,
});

describe('datasetTable and readCellRows', () => {
  const ops = ['none', 'skip_connect'];
  const rows: DatasetTableRow[] = [
    { shape, probs: [[0.25, 0.75], [1, 0]], measured: measured(2) },
    { shape: { ...shape, reduction: false, reductionPrev: false, kind: 'search' }, probs: [[0.5, 0.5], [0, 1]], measured: measured(3) },
  ];
  const additive = { [shapeKey(shape)]: { costs: [0, 1, 0, 2], constantMs: 0.5 } };
  const table = datasetTable(rows, ops, 2, additive);

  it('writes the shape, probability and measurement columns in order, c_in from cPrev', () => {
    expect(table.schema.fields.map((f) => f.name)).toEqual([
      'block_type', 'reduction_prev', 'c_prev_prev', 'c_in', 'c', 'hw', 'batch', 'cell_kind',
      'p_e0_none', 'p_e0_skip_connect', 'p_e1_none', 'p_e1_skip_connect',
      ...Object.keys(MEASUREMENT_COLUMNS),
    ]);
    expect(table.get(0)!.toJSON()).toMatchObject({ block_type: 'reduction', reduction_prev: true, c_prev_prev: 12, c_in: 20, c: 8, hw: 6, batch: 3, cell_kind: 'eval', p_e0_skip_connect: 0.75, latency_ms: 2, se_ms: 0.04, lut_latency_ms: 1, reference_ms: 7, one_hot: false });
    expect(table.get(1)!.toJSON()).toMatchObject({ block_type: 'normal', reduction_prev: false, cell_kind: 'search' });
    expect(table.schema.metadata.get('lenna.ops')).toBe('["none","skip_connect"]');
    expect(readAdditiveTable(table, 't.arrow')).toEqual(additive);
  });

  it('reads a data set from before cell_kind as search cells, and refuses an unknown kind or bad coefficients', () => {
    const old = table.select(table.schema.fields.map((f) => f.name).filter((n) => n !== 'cell_kind'));
    expect(readCellRows(old, 'old.arrow').rows.map((r) => r.kind)).toEqual(['search', 'search']);
    expect(readAdditiveTable(datasetTable(rows, ops, 2), 'plain.arrow')).toBeUndefined();
    const names = table.schema.fields.map((f) => f.name);
    const odd = tableFromArrays({ ...Object.fromEntries(names.map((n) => [n, table.getChild(n)!.toArray()])), cell_kind: ['train', 'eval'] });
    expect(() => readCellRows(odd, 'odd.arrow')).toThrow(/cell_kind row 0 is 'train'/);
    const short = datasetTable(rows, ops, 2, { [shapeKey(shape)]: { costs: [1], constantMs: 0 } });
    expect(() => readAdditiveTable(short, 's.arrow')).toThrow(/1 costs; edges x ops is 4/);
  });

  it('reads back the very shapes, edge-major probabilities and latencies it wrote', () => {
    const read = readCellRows(table, 't.arrow');
    expect(read.ops).toEqual(ops);
    expect(read.edges).toBe(2);
    expect(read.rows[0]).toMatchObject({ ...shape, latencyMs: 2, additiveMs: 1 });
    expect(Array.from(read.rows[0].probs)).toEqual([0.25, 0.75, 1, 0]);
    expect(read.rows[1]).toMatchObject({ reduction: false, reductionPrev: false, cPrev: 20 });
    expect(Array.from(measurementColumn(table, 'lut_latency_ms', 't.arrow'))).toEqual([1, 1.5]);
  });

  it('reads the synthetic data set, every edge a distribution', () => {
    const synthetic = syntheticDatasetTable({ rowsPerShape: 3, seed: 4 });
    const { rows: read, ops: readOps, edges } = readCellRows(synthetic, 'synthetic');
    expect([edges, readOps[0], read.length]).toEqual([14, 'none', 12]);
    const row = synthetic.get(7)!.toJSON();
    expect(read[7]).toMatchObject({ reduction: row.block_type === 'reduction', reductionPrev: row.reduction_prev, cPrev: row.c_in, c: row.c, hw: row.hw, latencyMs: row.latency_ms });
    expect(read[7].probs[2 * 8 + 4]).toBe(row.p_e2_sep_conv_3x3);
    for (let e = 0; e < 14; e++) expect(Array.from(read[7].probs).slice(e * 8, e * 8 + 8).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('names a missing column, a bad block type and a measurement column of the wrong kind', () => {
    const synthetic = syntheticDatasetTable({ rowsPerShape: 3 });
    expect(() => readCellRows(synthetic.select(synthetic.schema.fields.map((f) => f.name).filter((n) => n !== 'hw')), 'd.arrow')).toThrow(/hw/);
    const bad = tableFromArrays({ block_type: ['sideways'], reduction_prev: [false], c_prev_prev: new Int32Array([8]), c_in: new Int32Array([8]), c: new Int32Array([8]), hw: new Int32Array([8]), batch: new Int32Array([1]), p_e0_none: new Float32Array([1]), latency_ms: new Float64Array([1]), lut_latency_ms: new Float64Array([1]) });
    expect(() => readCellRows(bad, 'd.arrow')).toThrow(UserError);
    expect(() => readCellRows(bad, 'd.arrow')).toThrow(/sideways/);
    expect(() => measurementColumn(bad, 'se_ms', 'd.arrow')).toThrow(/se_ms/);
    const wrongKind = tableFromArrays({ lut_latency_ms: ['1'] });
    expect(() => measurementColumn(wrongKind, 'lut_latency_ms', 'd.arrow')).toThrow(/float/);
  });
});

describe('shapeKey', () => {
  it('is the shape columns joined by |, batch and kind blank when a shape has none', () => {
    expect(SHAPE_KEY_LEGEND).toBe('block_type|reduction_prev|c_prev_prev|c_in|c|hw|batch|cell_kind');
    expect(shapeKey(shape)).toBe('reduction|true|12|20|8|6|3|eval');
    const [first] = cellShapes({ C: 4, layers: 3, inputSize: 16 });
    expect(shapeKey(first)).toBe('normal|false|12|12|4|16||');
    expect(shapeColumnValues(first).batch).toBeUndefined();
  });

  it('tells every field apart', () => {
    const variants: BatchedCellShape[] = [
      { ...shape, reduction: false }, { ...shape, reductionPrev: false }, { ...shape, cPrevPrev: 13 }, { ...shape, cPrev: 21 },
      { ...shape, c: 9 }, { ...shape, hw: 7 }, { ...shape, batch: 4 }, { ...shape, kind: 'search' },
    ];
    const keys = new Set([shape, ...variants].map(shapeKey));
    expect(keys.size).toBe(variants.length + 1);
    expect(shapeKey({ ...shape })).toBe(shapeKey(shape));
  });
});

describe('cellShapeSchema', () => {
  it('takes nn field names with a batch (kind search unless said), and refuses a dataset column name or a missing batch', () => {
    expect(cellShapeSchema.parse(shape)).toEqual(shape);
    const { kind: _kind, ...noKind } = shape;
    expect(cellShapeSchema.parse(noKind)).toEqual({ ...shape, kind: 'search' });
    expect(cellShapeSchema.safeParse({ ...shape, kind: 'train' }).success).toBe(false);
    expect(cellShapeSchema.safeParse({ ...shape, cIn: 20 }).success).toBe(false);
    const { batch: _batch, ...noBatch } = shape;
    expect(cellShapeSchema.safeParse(noBatch).success).toBe(false);
  });
});
