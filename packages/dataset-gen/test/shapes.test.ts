import { describe, expect, test } from 'vitest';
import { DatasetGenParamsSchema } from '../src/params.js';
import { dedupeShapes, edgeSites, networkCellShapes, plannedShapes, preprocessSites } from '../src/shapes.js';

describe('cell shapes', () => {
  test('a 5-cell network (C 4, 28×28) has the shapes the DARTS code builds, worked out by hand', () => {
    const shapes = networkCellShapes({ C: 4, layers: 5, hw: 28, batch: 2 }, 4, 'search');
    expect(shapes.every((s) => s.kind === 'search')).toBe(true);
    expect(shapes.map((s) => [s.reduction, s.reductionPrev, s.cPrevPrev, s.cPrev, s.c, s.hw])).toEqual([
      [false, false, 12, 12, 4, 28],
      [true, false, 12, 16, 8, 28],
      [false, true, 16, 32, 8, 14],
      [true, false, 32, 32, 16, 14],
      [false, true, 32, 64, 16, 7],
    ]);
  });

  test('equal shapes share rows: duplicates are dropped, order kept; a geometry both networks have is measured once per kind', () => {
    const a = networkCellShapes({ C: 4, layers: 5, hw: 28, batch: 2 }, 4, 'search');
    expect(dedupeShapes([...a, ...a])).toEqual(a);
    const params = DatasetGenParamsSchema.parse({ search: { C: 4, layers: 5, hw: 28, batch: 2 }, eval: { C: 4, layers: 5, hw: 28, batch: 2 } });
    expect(plannedShapes(params)).toHaveLength(10);
    expect(plannedShapes(params).map((s) => s.kind)).toEqual([...Array(5).fill('search'), ...Array(5).fill('eval')]);
  });

  test('the default networks are darts-search’s and retrain-eval’s defaults: C 4, 3 cells, 16×16 and C 8, 5 cells, 28×28, batch 16', () => {
    const shapes = plannedShapes(DatasetGenParamsSchema.parse({}));
    expect(shapes.filter((s) => s.kind === 'search').map((s) => [s.c, s.hw])).toEqual([[4, 16], [8, 16], [16, 8]]);
    expect(shapes.filter((s) => s.kind === 'eval').map((s) => [s.c, s.hw])).toEqual([[8, 28], [16, 28], [16, 14], [32, 14], [32, 7]]);
    expect(shapes.every((s) => s.batch === 16)).toBe(true);
  });

  test('an explicit shapes list overrides the networks, each shape a search cell unless it says eval', () => {
    const shape = { reduction: false, reductionPrev: false, cPrevPrev: 2, cPrev: 2, c: 2, hw: 4, batch: 2 };
    const params = DatasetGenParamsSchema.parse({ shapes: [shape, shape, { ...shape, kind: 'eval' }] });
    expect(plannedShapes(params)).toEqual([{ ...shape, kind: 'search' }, { ...shape, kind: 'eval' }]);
  });

  test('edges: 2+i per node, 14 for 4 nodes; reduction cells stride 2 only on edges from the inputs', () => {
    const red = { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2, kind: 'search' } as const;
    const sites = edgeSites(red, 2);
    expect(sites).toEqual([
      { stride: 2, hw: 8 }, { stride: 2, hw: 8 },
      { stride: 2, hw: 8 }, { stride: 2, hw: 8 }, { stride: 1, hw: 4 },
    ]);
    expect(edgeSites({ ...red, reduction: false }, 2).every((s) => s.stride === 1 && s.hw === 8)).toBe(true);
  });

  test('preprocessing: factorized reduce of s0 at twice the size after a reduction cell', () => {
    const shape = { reduction: false, reductionPrev: true, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2, kind: 'eval' } as const;
    expect(preprocessSites(shape)).toEqual([
      { op: 'preprocess_factorized_reduce', stride: 2, cIn: 6, c: 4, hw: 16, batch: 2, kind: 'eval' },
      { op: 'preprocess_relu_conv_bn', stride: 1, cIn: 8, c: 4, hw: 8, batch: 2, kind: 'eval' },
    ]);
    expect(preprocessSites({ ...shape, reductionPrev: false })[0]).toEqual(
      { op: 'preprocess_relu_conv_bn', stride: 1, cIn: 6, c: 4, hw: 8, batch: 2, kind: 'eval' },
    );
  });
});
